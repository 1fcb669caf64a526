"""Connecting to Temporal with the project's data converter and interceptors, configured
the way Temporal's own tools are (engine/temporal_config.py).

The one door of the engine for the API, the dashboard and the CLI: they connect here
(and resolve where Temporal is with the re-exported configuration helpers), and reach
everything else through ``durableruns.service``."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, Interceptor

from durableruns.engine.converter import data_converter
from durableruns.engine.run_metrics import RunMetrics
from durableruns.engine.sdk_metrics import sdk_metrics_runtime
from durableruns.engine.temporal_config import (
    TemporalConfigError,
    permanent_failure,
    resolve_settings,
    temporal_target,
)
from durableruns.engine.tracing import tracing_interceptors
from durableruns.settings import Settings

__all__ = [
    "QUERY_TIMEOUT",
    "TemporalConfigError",
    "connect",
    "interceptors",
    "permanent_failure",
    "resolve_settings",
    "temporal_target",
]

QUERY_TIMEOUT = timedelta(seconds=2)
"""How long a read waits for a worker to answer a query before falling back."""


def interceptors() -> list[Interceptor]:
    """Tracing (when on: ``engine/tracing.py``) and ``/metrics`` counts; a worker built
    on the client gets them too."""
    return [*tracing_interceptors(), RunMetrics()]


async def connect(settings: Settings) -> Client:
    """A Temporal client for the settings' address, namespace, TLS and API key, with
    their payload storage (large values outside history)."""
    target = temporal_target(settings)
    return await Client.connect(
        target.address,
        data_converter=data_converter(settings),
        interceptors=interceptors(),
        runtime=sdk_metrics_runtime() if settings.sdk_metrics else None,
        **target.connect_kwargs(),
    )
