"""Connecting to Temporal with the project's data converter and interceptors."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, Interceptor

from durableruns.engine.converter import DATA_CONVERTER
from durableruns.engine.run_metrics import RunMetrics
from durableruns.engine.sdk_metrics import sdk_metrics_runtime
from durableruns.engine.tracing import tracing_interceptors
from durableruns.settings import Settings

QUERY_TIMEOUT = timedelta(seconds=2)
"""How long a read waits for a worker to answer a query before falling back."""


def interceptors() -> list[Interceptor]:
    """Tracing (when on: ``engine/tracing.py``) and ``/metrics`` counts; a worker built
    on the client gets them too."""
    return [*tracing_interceptors(), RunMetrics()]


async def connect(settings: Settings) -> Client:
    """A Temporal client for the settings' address and namespace."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.namespace,
        data_converter=DATA_CONVERTER,
        interceptors=interceptors(),
        runtime=sdk_metrics_runtime() if settings.sdk_metrics else None,
    )
