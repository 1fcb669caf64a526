"""The durable records of deployments and queues: what a worker announces about the
tasks of its version (the catalog), and what a limited queue's workflow keeps.

Like :mod:`durableruns.models` these cross workflow boundaries and live in Temporal
history: JSON-friendly fields only, and no change of shape without a replay test.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from durableruns.limit_models import LimitSpec, queue_limit_name
from durableruns.models import Frozen, RetryOptions


class TaskSchedule(Frozen):
    """A task's declarative schedule: a 5-field cron evaluated in an IANA time zone."""

    cron: str
    timezone: str = "UTC"


class TaskDescriptor(Frozen):
    """What a deployed version says about one of its tasks (``GET /api/v1/tasks``)."""

    id: str
    version: str
    queue: str
    concurrency_limit: int | None = None
    retry: RetryOptions = RetryOptions()
    max_duration_s: float | None = None
    ttl_s: float | None = None
    payload_schema: dict[str, Any] | None = None
    definition: str = ""
    """Where the task is defined (``module.function``): two definitions of one id in one
    version are refused."""
    scheduled: bool = False
    """A scheduled task (``schedules.task``): its runs get a schedule payload."""
    schedule: TaskSchedule | None = None
    """Its declarative schedule, synced when a worker of the newest version starts."""
    limits: tuple[LimitSpec, ...] = ()
    """Its concurrency limits (inline ``task/<id>`` and named), sorted by name."""


class Deployment(Frozen):
    """A worker announcing the version it serves and that version's tasks."""

    version: str
    tasks: tuple[TaskDescriptor, ...]
    registered_at: datetime


class Catalog(BaseModel):
    """Every version ever deployed and its tasks, oldest version first."""

    versions: dict[str, list[TaskDescriptor]] = {}
    registered_at: dict[str, datetime] = {}
    paused_queues: list[str] = []
    """Queues paused through the API: new runs of them wait at the queue's gate."""

    def latest_serving(self, task_id: str) -> TaskDescriptor | None:
        """The task in the newest version that has it."""
        for version in sorted(self.versions, key=lambda v: self.registered_at[v], reverse=True):
            for task in self.versions[version]:
                if task.id == task_id:
                    return task
        return None

    def find(self, task_id: str, version: str) -> TaskDescriptor | None:
        """The task as version ``version`` defines it."""
        return next((t for t in self.versions.get(version, []) if t.id == task_id), None)

    def queue_limit(self, queue: str) -> int | None:
        """The concurrency limit the newest version defining ``queue`` gives it."""
        for version in sorted(self.versions, key=lambda v: self.registered_at[v], reverse=True):
            for task in self.versions[version]:
                if task.queue == queue:
                    return task.concurrency_limit
        return None

    def newest_tasks(self) -> list[TaskDescriptor]:
        """Every task once, as the newest version that has it defines it."""
        seen: dict[str, TaskDescriptor] = {}
        for version in sorted(self.versions, key=lambda v: self.registered_at[v], reverse=True):
            for task in self.versions[version]:
                seen.setdefault(task.id, task)
        return list(seen.values())

    def limits(self) -> dict[str, LimitSpec]:
        """Every limit deployed tasks hold (named, inline ``task/<id>`` and legacy
        ``queue/<name>``), by name, as the newest version declaring it says."""
        found: dict[str, LimitSpec] = {}
        for task in self.newest_tasks():
            for spec in task.limits:
                found.setdefault(spec.name, spec)
            if task.concurrency_limit:
                spec = LimitSpec(
                    name=queue_limit_name(task.queue), kind="queue", per_key=task.concurrency_limit
                )
                found.setdefault(spec.name, spec)
        return found

    def knows_queue(self, queue: str) -> bool:
        """Whether any deployed task uses ``queue``."""
        return any(t.queue == queue for tasks in self.versions.values() for t in tasks)


class SlotRequest(Frozen):
    """A run asking its queue for a slot (FIFO, ``priority_s`` seconds of head start)."""

    run_id: str
    enqueued_at: datetime
    priority_s: float = 0
    limit: int


class QueueState(BaseModel):
    """A queue (and concurrency key): its limit, the runs holding slots, the waiting ones."""

    name: str
    concurrency_key: str | None = None
    limit: int
    limit_overridden: bool = False
    holders: dict[str, datetime] = {}
    waiting: list[SlotRequest] = []
