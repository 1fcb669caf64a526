"""Tasks for ``bench/waits.py``, served by one ``durableruns worker --tasks wait_tasks``
(the bench puts ``bench/`` on the worker's PYTHONPATH; task processes import it too)."""

from __future__ import annotations

import time
from typing import Any

from durableruns import task, wait


@task(id="bench-waits-sleep")
async def sleeper(payload: dict[str, Any]) -> str:
    """One durable timer of ``seconds`` (above the worker's short-wait threshold)."""
    await wait.for_(seconds=payload["seconds"])
    return "rested"


@task(id="bench-waits-family")
async def family(payload: dict[str, Any]) -> dict[str, Any]:
    """A parent waits on a child of this same task; the child (depth 0) returns."""
    depth = payload.get("depth", 1)
    if depth <= 0:
        return {"leaf": True}
    child = await family.trigger_and_wait({"depth": depth - 1})
    return {"ok": child.ok, "child": child.id}


@task(id="bench-waits-sequence")
async def sequence(payload: dict[str, Any]) -> int:
    """``count`` sequential timers of ``seconds`` each: resume ``k`` re-runs the code
    through ``k`` recorded waits before it reaches the next new one. With ``trace``,
    each execution first appends its wall-clock start to that file."""
    if trace := payload.get("trace"):
        with open(trace, "a") as out:
            out.write(f"{time.time()}\n")
    count = payload["count"]
    for _ in range(count):
        await wait.for_(seconds=payload["seconds"])
    return int(count)


@task(id="bench-waits-noop")
async def noop(payload: Any) -> dict[str, Any]:
    """Does nothing: the history-size guard rail."""
    return {}
