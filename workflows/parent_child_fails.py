"""``parent-child-fails``: waits for ``always-fails`` and reports, without unwrapping."""

from typing import Any

from activities.failing import always_fails
from durableruns import task


@task(id="parent-child-fails")
async def parent_child_fails(payload: Any) -> dict[str, Any]:
    """A failed child is a result, not an exception, until you unwrap it."""
    result = await always_fails.trigger_and_wait({})
    return {"child_ok": result.ok, "error": result.error.message if result.error else None}
