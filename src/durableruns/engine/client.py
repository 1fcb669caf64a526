"""Connecting to Temporal with the project's data converter."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client

from durableruns.engine.converter import data_converter
from durableruns.settings import Settings

QUERY_TIMEOUT = timedelta(seconds=2)
"""How long a read waits for a worker to answer a query before falling back."""


async def connect(settings: Settings) -> Client:
    """A Temporal client for the settings' address and namespace, with their payload
    storage (large values outside history)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.namespace,
        data_converter=data_converter(settings),
    )
