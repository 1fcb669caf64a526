"""Connecting to Temporal with the project's data converter, configured the way
Temporal's own tools are (engine/temporal_config.py)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client

from durableruns.engine.converter import data_converter
from durableruns.engine.temporal_config import temporal_target
from durableruns.settings import Settings

QUERY_TIMEOUT = timedelta(seconds=2)
"""How long a read waits for a worker to answer a query before falling back."""


async def connect(settings: Settings) -> Client:
    """A Temporal client for the settings' address, namespace, TLS and API key, with
    their payload storage (large values outside history)."""
    target = temporal_target(settings)
    return await Client.connect(
        target.address, data_converter=data_converter(settings), **target.connect_kwargs()
    )
