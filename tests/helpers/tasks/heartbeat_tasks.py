"""Tasks of the heartbeat tests (served by worker processes the tests start and kill)."""

from __future__ import annotations

import asyncio
from typing import Any

from durableruns import TaskContext, task


@task(id="lost-then-quick")
async def lost_then_quick(payload: dict[str, Any], ctx: TaskContext) -> int:
    """Its first attempt runs long enough for its worker to be killed; later ones end
    at once (so the test measures when the lost worker was noticed, nothing else)."""
    if ctx.attempt.number == 1:
        await asyncio.sleep(600)
    return ctx.attempt.number
