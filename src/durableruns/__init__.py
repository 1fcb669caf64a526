"""durableruns: Trigger.dev-style background runs on Temporal's durable execution.

Define tasks with :func:`task`; trigger and read runs with ``tasks`` and ``runs``.

Example::

    from durableruns import task, runs

    @task(id="hello-world")
    async def hello_world(payload: dict) -> dict:
        return {"message": f"Hello, {payload['name']}!"}

    handle = await hello_world.trigger({"name": "Ada"})
    run = await runs.poll(handle)

Names are loaded on first use: task modules import ``durableruns`` in every task
process and in the replay tests' sandbox, and need not pull the SDK's HTTP stack, or
the facade, in with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from durableruns import locals, streams, tags, wait
    from durableruns.concurrency import Concurrency, ConcurrencyLimit, concurrency_limit
    from durableruns.context import TaskContext
    from durableruns.errors import AbortTaskRunError, DurableRunsError
    from durableruns.in_task import BatchItem
    from durableruns.logs import logger
    from durableruns.models import RetryOptions
    from durableruns.results import TaskRunResult
    from durableruns.scheduling import ScheduledPayload
    from durableruns.sdk import RunHandle, configure, runs, schedules, tasks
    from durableruns.status import RunStatus
    from durableruns.steps import step
    from durableruns.task_definitions import Queue, Task, TaskRegistry, task
    from durableruns.wire import Run

_EXPORTS = {
    "AbortTaskRunError": "durableruns.errors",
    "BatchItem": "durableruns.in_task",
    "Concurrency": "durableruns.concurrency",
    "ConcurrencyLimit": "durableruns.concurrency",
    "concurrency_limit": "durableruns.concurrency",
    "TaskRunResult": "durableruns.results",
    "DurableRunsError": "durableruns.errors",
    "Queue": "durableruns.task_definitions",
    "RetryOptions": "durableruns.models",
    "Run": "durableruns.wire",
    "RunHandle": "durableruns.sdk",
    "RunStatus": "durableruns.status",
    "ScheduledPayload": "durableruns.scheduling",
    "Task": "durableruns.task_definitions",
    "TaskContext": "durableruns.context",
    "TaskRegistry": "durableruns.task_definitions",
    "configure": "durableruns.sdk",
    "runs": "durableruns.sdk",
    "schedules": "durableruns.sdk",
    "task": "durableruns.task_definitions",
    "tasks": "durableruns.sdk",
    "batch": "durableruns.sdk",
    "step": "durableruns.steps",
    "logger": "durableruns.logs",
}
_SUBMODULES = ["locals", "streams", "tags", "wait"]
"""Public submodules, imported the usual way: ``from durableruns import wait``."""

__all__ = [
    "AbortTaskRunError",
    "BatchItem",
    "Concurrency",
    "ConcurrencyLimit",
    "DurableRunsError",
    "Queue",
    "RetryOptions",
    "Run",
    "RunHandle",
    "RunStatus",
    "ScheduledPayload",
    "Task",
    "TaskContext",
    "TaskRegistry",
    "TaskRunResult",
    "batch",
    "concurrency_limit",
    "configure",
    "locals",
    "logger",
    "runs",
    "schedules",
    "step",
    "streams",
    "tags",
    "task",
    "tasks",
    "wait",
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"durableruns.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'durableruns' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
