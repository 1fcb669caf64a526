"""Tasks of the read-without-a-worker tests (served by a worker process they kill)."""

from __future__ import annotations

import asyncio
from typing import Any

from durableruns import TaskContext, task, wait


@task(id="marks-then-waits")
async def marks_then_waits(payload: dict[str, Any], ctx: TaskContext) -> str:
    """Sets metadata, then waits long (WAITING, suspended)."""
    ctx.metadata.set("stage", "before-wait")
    await wait.for_(seconds=payload.get("seconds", 120))
    return "waited"


@task(id="marks-then-runs")
async def marks_then_runs(payload: dict[str, Any], ctx: TaskContext) -> str:
    """Sets metadata, then keeps running (EXECUTING)."""
    ctx.metadata.set("stage", "running")
    await asyncio.sleep(payload.get("seconds", 120))
    return "ran"
