"""The one data converter: pydantic-aware, so run records keep their types in history."""

from __future__ import annotations

from temporalio.contrib.pydantic import pydantic_data_converter

DATA_CONVERTER = pydantic_data_converter
