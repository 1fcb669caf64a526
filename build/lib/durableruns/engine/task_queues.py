"""Names of the Temporal task queues: one for run workflows, one per task for attempts.

A task's attempts go to the task's own queue, so a run of a task that no worker serves
simply waits there (QUEUED) until a worker that serves it polls.
"""

from __future__ import annotations


def runs_queue(prefix: str) -> str:
    """The queue every worker polls for run workflows."""
    return f"{prefix}:runs"


def task_queue(prefix: str, task_id: str, version: str | None = None) -> str:
    """The queue a task's attempts are dispatched to: pinned to a version, or the
    version-less queue that every worker serving the task polls."""
    base = f"{prefix}:task/{task_id}"
    return f"{base}@{version}" if version else base
