"""The data converter: pydantic-aware, so run records keep their types in history, and,
as configured, with large values kept outside history (``engine.payload_storage``).

``data_converter(settings)`` is the one place a converter is made for a process (the
client every facade and worker connects with). ``DATA_CONVERTER`` is the same converter
without external storage: what the recorded histories under tests/engine were written
with, and what the tests' Temporal server uses.
"""

from __future__ import annotations

import dataclasses

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from durableruns.engine.payload_storage import external_storage
from durableruns.settings import Settings

DATA_CONVERTER = pydantic_data_converter


def data_converter(settings: Settings) -> DataConverter:
    """The converter for ``settings``: pydantic, plus their payload storage (if any)."""
    storage = external_storage(settings)
    if storage is None:
        return DATA_CONVERTER
    return dataclasses.replace(DATA_CONVERTER, external_storage=storage)
