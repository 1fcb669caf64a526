"""Connecting to Temporal with the project's data converter."""

from __future__ import annotations

from temporalio.client import Client

from durableruns.engine.converter import DATA_CONVERTER
from durableruns.settings import Settings


async def connect(settings: Settings) -> Client:
    """A Temporal client for the settings' address and namespace."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.namespace,
        data_converter=DATA_CONVERTER,
    )
