"""``tasks``: trigger runs by task object or by id, and (inside task code) wait for them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from durableruns import hooks
from durableruns.context import current_context
from durableruns.in_task import (
    as_batch_item,
    plain_payload,
    trigger_from_task,
    wait_for_runs,
)
from durableruns.results import TaskRunResult
from durableruns.sdk.batch import trigger as trigger_batch
from durableruns.sdk.client import request
from durableruns.sdk.handles import RunHandle
from durableruns.sdk.trigger_options import check_option_names, wire_options

if TYPE_CHECKING:
    from durableruns.task_definitions import Task


async def trigger(task: Task[Any, Any] | str, payload: Any = None, **options: Any) -> RunHandle:
    """Trigger a run of ``task`` (a Task or its id) with ``payload``.

    Example::

        handle = await tasks.trigger("hello-world", {"name": "Ada"}, tags=["demo"])
    """
    task_id = task if isinstance(task, str) else task.id
    check_option_names(options)
    typed_task = None if isinstance(task, str) else task
    if current_context() is not None:
        run_id, is_cached = await trigger_from_task(task_id, payload, options)
        return RunHandle(id=run_id, is_cached=is_cached, task=typed_task)
    body = {"payload": plain_payload(payload), "options": wire_options(options)}
    response = await request("POST", f"/api/v1/tasks/{task_id}/trigger", json=body)
    data = response.json()
    return RunHandle(
        id=data["id"],
        is_cached=bool(data.get("isCached", False)),
        public_access_token=response.headers.get("x-trigger-jwt", ""),
        task=typed_task,
    )


async def trigger_and_wait(task_id: str, payload: Any = None, **options: Any) -> TaskRunResult[Any]:
    """From task code: trigger ``task_id`` as a child run and wait for its result."""
    check_option_names(options)
    [result] = await wait_for_runs(
        [(task_id, payload, options)],
        batch=False,
        output_models={},
        what="tasks.trigger_and_wait()",
    )
    return result


async def batch_trigger_and_wait(items: Sequence[Any]) -> list[TaskRunResult[Any]]:
    """From task code: one child run per BatchItem (each naming its ``task``), in
    parallel; one result per item, in item order."""
    batch = [as_batch_item(i) for i in items]
    for index, item in enumerate(batch):
        if not item.task:
            raise TypeError(f"items[{index}]: a by-id batch item needs task='<task id>'")
    return await wait_for_runs(
        [(b.task or "", b.payload, b.options) for b in batch],
        batch=True,
        output_models={},
        what="tasks.batch_trigger_and_wait()",
    )


async def batch_trigger(task_id: str, items: Sequence[Any]) -> Any:
    """One run of ``task_id`` per item (payloads or BatchItems), up to 1,000; returns a
    BatchHandle with the run handles in item order."""
    return await trigger_batch(task_id, items)


# Global lifecycle hooks, for every task a worker serves (``durableruns.hooks``):
# ``tasks.on_failure(fn)``, ``tasks.middleware("db", fn)`` … from any module the worker
# loads, typically the tasks package's ``init`` module.
on_start_attempt = hooks.on_start_attempt
on_success = hooks.on_success
on_failure = hooks.on_failure
on_complete = hooks.on_complete
on_wait = hooks.on_wait
on_resume = hooks.on_resume
on_cancel = hooks.on_cancel
catch_error = hooks.catch_error
middleware = hooks.middleware
