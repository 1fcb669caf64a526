"""temporalio's own SDK metrics (``temporal_*``: polls, task latencies, slots …) in our
``/metrics``.

The SDK's core reports metrics only through its runtime's telemetry; its Prometheus
exporter serves them on an HTTP address of its own. This process makes one such
runtime (on a free localhost port) for its Temporal client, and a collector in the
default ``prometheus_client`` registry re-exposes that endpoint's families, so the
facade's and a worker's ``/metrics`` carry both ours and the SDK's in one scrape.
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterable

from prometheus_client.core import REGISTRY, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

_runtime: Runtime | None = None
_address: str | None = None


def sdk_metrics_runtime() -> Runtime:
    """The process's runtime with SDK metrics on (made once, its collector registered)."""
    global _runtime, _address
    if _runtime is None:
        _address = f"127.0.0.1:{_free_port()}"
        config = PrometheusConfig(
            bind_address=_address,
            counters_total_suffix=True,
            unit_suffix=True,
            durations_as_seconds=True,
        )
        _runtime = Runtime(telemetry=TelemetryConfig(metrics=config))
        REGISTRY.register(SdkMetricsCollector(f"http://{_address}/metrics"))
    return _runtime


class SdkMetricsCollector(Collector):
    """Families read from the SDK runtime's Prometheus endpoint at each scrape."""

    def __init__(self, url: str) -> None:
        self._url = url

    def collect(self) -> Iterable[Metric]:
        """Temporal's SDK metrics, read from its private endpoint."""
        try:
            with urllib.request.urlopen(self._url, timeout=2) as response:
                text = response.read().decode()
        except OSError:  # not serving yet (nothing recorded) or shut down: no SDK metrics
            return []
        return list(text_string_to_metric_families(text))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
