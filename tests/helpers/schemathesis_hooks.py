"""Schemathesis hooks for tests/api/test_api_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx: Any, value: Any) -> bytes:
    """The batch-items body is documented as a string of NDJSON lines: sent as is."""
    text = value if isinstance(value, str) else str(value)
    return text.encode("utf-8", "surrogatepass")
