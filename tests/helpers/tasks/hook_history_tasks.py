"""A task with once-per-run hooks, ``catch_error`` and a wait, for the recorded histories
of the hooks activity (``tests/engine/record_histories.py``: ``hooks-*``). Its hooks only
log: the histories record the run's commands, not what the hooks did."""

from __future__ import annotations

import asyncio
from typing import Any

from durableruns import TaskContext, task, wait


def _note(ctx: TaskContext) -> None:
    print(f"hook for {ctx.run.id}")


def _retry_soon(ctx: TaskContext) -> Any:
    return {"retry_delay_ms": 200} if ctx.attempt.number == 1 else None


@task(
    id="hooks-history",
    retry={"max_attempts": 2, "min_timeout_ms": 10},
    on_success=_note,
    on_failure=_note,
    on_complete=_note,
    on_cancel=_note,
    catch_error=_retry_soon,
)
async def hooks_history(payload: dict[str, Any], ctx: TaskContext) -> str:
    """Waits (a suspension), fails attempt 1 (catch_error retries it after 200 ms)."""
    await wait.for_(seconds=float(payload.get("wait", 0.6)))
    if ctx.attempt.number == 1:
        raise ValueError("first attempt fails")
    return "ok"


@task(id="hooks-history-runs", on_complete=_note, on_cancel=_note)
async def hooks_history_runs(payload: dict[str, Any], ctx: TaskContext) -> str:
    """Runs (no wait) for ``seconds``: canceled while it runs (``lean-canceled-mid-attempt``)."""
    await asyncio.sleep(float(payload.get("seconds", 30)))
    return "ran"
