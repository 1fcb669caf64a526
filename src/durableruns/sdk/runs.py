"""``runs``: retrieve and poll runs."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
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


def _run_id(run: RunHandle | str) -> str:
    return run if isinstance(run, str) else run.id


async def cancel(run: RunHandle | str) -> str:
    """Cancel a run (and its in-progress children); a finished run is left as it is."""
    response = await request("POST", f"/api/v2/runs/{_run_id(run)}/cancel")
    run_id: str = response.json()["id"]
    return run_id


async def replay(run: RunHandle | str, **overrides: Any) -> RunHandle:
    """A new run of the same task with the same payload, or the ``overrides`` given
    (``payload``, ``tags``, ``metadata``, ``delay``, ``ttl``, ``max_attempts`` …)."""
    body = {_camel(k): v for k, v in overrides.items() if v is not None}
    response = await request("POST", f"/api/v1/runs/{_run_id(run)}/replay", json=body or None)
    return RunHandle(
        id=response.json()["id"], public_access_token=response.headers.get("x-trigger-jwt", "")
    )


async def reschedule(run: RunHandle | str, *, delay: str | float | datetime) -> Run[Any, Any]:
    """Move a DELAYED run's start: a duration from now (``"1h"``) or a datetime."""
    value = delay.isoformat() if isinstance(delay, datetime) else delay
    response = await request(
        "POST", f"/api/v1/runs/{_run_id(run)}/reschedule", json={"delay": value}
    )
    return Run[Any, Any].model_validate(response.json())


async def update_metadata(run: RunHandle | str, metadata: dict[str, Any]) -> dict[str, Any]:
    """Replace a run's metadata; returns it."""
    response = await request(
        "PUT", f"/api/v1/runs/{_run_id(run)}/metadata", json={"metadata": metadata}
    )
    result: dict[str, Any] = response.json()["metadata"]
    return result


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
