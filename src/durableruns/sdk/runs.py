"""``runs``: retrieve and poll runs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from durableruns.errors import DurableRunsError
from durableruns.sdk.client import request
from durableruns.sdk.handles import RunHandle
from durableruns.task_definitions import Task
from durableruns.wire import Run


async def retrieve(run: RunHandle | str, *, task: Task[Any, Any] | None = None) -> Run[Any, Any]:
    """The run's current state. With a task (or a handle from ``task.trigger``) the
    payload and output are parsed into the task's models."""
    run_id = run if isinstance(run, str) else run.id
    task = task or (run.task if isinstance(run, RunHandle) else None)
    response = await request("GET", f"/api/v3/runs/{run_id}")
    model: type[Run[Any, Any]] = Run[Any, Any]
    if task is not None:
        model = Run[task.payload_model or Any, task.output_model or Any]  # type: ignore[misc,assignment]
    data = response.json()
    if task is not None and task.output_model is not None and data.get("status") != "COMPLETED":
        data.pop("output", None)
    return model.model_validate(data)


async def poll(
    run: RunHandle | str,
    *,
    task: Task[Any, Any] | None = None,
    interval: float = 0.2,
    timeout: float = 300.0,
) -> Run[Any, Any]:
    """Retrieve until the run is in a final status (``is_completed``)."""
    deadline = time.monotonic() + timeout
    while True:
        current = await retrieve(run, task=task)
        if current.is_completed:
            return current
        if time.monotonic() > deadline:
            raise DurableRunsError(f"Run {current.id} still {current.status} after {timeout}s")
        await asyncio.sleep(interval)
