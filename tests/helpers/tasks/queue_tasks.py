"""Tasks for the queue tests (served in-process and by worker subprocesses)."""

from __future__ import annotations

import asyncio
from typing import Any

from durableruns import Queue, task, tasks

SOLO = Queue(name="solo", concurrency_limit=1)
ONE_AT_A_TIME = Queue(name="one-at-a-time", concurrency_limit=1)


@task(id="solo-child", queue=SOLO)
async def solo_child(payload: Any) -> str:
    return "child done"


@task(id="solo-parent", queue=SOLO)
async def solo_parent(payload: Any) -> Any:
    """Holds the queue's only slot, then waits for a child on the same queue."""
    result = await tasks.trigger_and_wait("solo-child", {})
    return result.output


@task(id="one-at-a-time", queue=ONE_AT_A_TIME)
async def one_at_a_time(payload: dict[str, Any]) -> Any:
    await asyncio.sleep(payload.get("seconds", 0))
    return payload.get("label")
