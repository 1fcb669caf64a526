"""Queues as the facade sees them (``/api/v1/queues``, the dashboard, metrics).

A queue is the line a task's runs wait in: the task's own ``task/<id>`` or a custom one
several tasks share. A queue declared with a ``concurrency_limit`` (Trigger.dev's V1
model, deprecated) keeps that limit as the concurrency limit ``queue/<name>``; its
counts, pause and override are that limit's. A queue without one (V2) counts its runs
from Temporal's visibility, and is paused through its *gate*: the bound-less limit
``queue/<name>`` that runs triggered while it is paused must clear (the catalog names the
paused queues, so a run that was not triggered during a pause pays nothing).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from durableruns.catalog_models import Catalog
from durableruns.engine.names import RUN_WORKFLOW, runs_queue
from durableruns.engine.search_attributes import TRIGGER_QUEUE, TRIGGER_STATUS
from durableruns.engine.workflows.catalog import CatalogWorkflow
from durableruns.errors import LimitChangeError
from durableruns.errors import (
    UnknownQueueError as UnknownQueueError,  # defined in errors.py (the one tree)
)
from durableruns.limit_models import LimitSpec, LimitState, queue_limit_name
from durableruns.service.catalog import catalog_id
from durableruns.service.deployments import queue_gate
from durableruns.service.limits import LimitService
from durableruns.service.runs import RunService

QueueType = Literal["task", "custom"]


@dataclass(frozen=True)
class QueueView:
    """A queue with its live counts (and its legacy limit, on V1 queues)."""

    name: str
    type: QueueType
    running: int
    queued: int
    paused: bool
    limit: LimitState | None
    """The state of its legacy limit ``queue/<name>`` (V1); None on V2 queues."""
    base_limit: int | None

    @property
    def id(self) -> str:
        """A stable id (``queue_…``) for the official client's ``retrieve("queue_…")``."""
        return queue_id(self.name)

    @property
    def display_name(self) -> str:
        """Trigger.dev's name: the task id for a task's own queue."""
        return self.name.removeprefix("task/") if self.type == "task" else self.name

    @property
    def version(self) -> Literal["V1", "V2"]:
        """V1: the queue carries its own limit; V2: it is only a line."""
        return "V1" if self.limit is not None else "V2"

    @property
    def current_limit(self) -> int | None:
        """The limit enforced now (the override, or the declared one)."""
        if self.limit is None:
            return None
        override = self.limit.per_key_override
        return override if override is not None else self.limit.spec.per_key


def queue_id(name: str) -> str:
    """``queue_`` and a digest of the queue's name."""
    return "queue_" + hashlib.sha256(name.encode()).hexdigest()[:24]


class QueueService:
    """Reads queues; pauses them; overrides the limit of V1 queues."""

    def __init__(
        self, client: Client, runs: RunService, limits: LimitService, *, task_queue_prefix: str
    ) -> None:
        self._client = client
        self._runs = runs
        self._limits = limits
        self._prefix = task_queue_prefix

    async def names(self) -> dict[str, QueueType]:
        """Every queue a deployed task uses, with its type."""
        catalog = await self._runs.catalog.get()
        return _queues(catalog)

    async def resolve(self, value: str, type: str) -> str:
        """The queue named by the official client: an id (``queue_…``), a task id
        (``type=task``) or a custom queue's name; UnknownQueueError otherwise."""
        queues = await self.names()
        if type == "id" or (value.startswith("queue_") and type not in ("task", "custom")):
            found = next((n for n in queues if queue_id(n) == value), None)
        elif type == "task":
            found = f"task/{value}" if f"task/{value}" in queues else None
            found = found or (value if queues.get(value) == "task" else None)
        else:
            found = value if value in queues else None
        if found is None:
            raise UnknownQueueError(value)
        return found

    async def list(self) -> list[QueueView]:
        """Every queue, task queues first, each by name."""
        queues = await self.names()
        ordered = sorted(queues, key=lambda n: (queues[n] != "task", n))
        return [await self.get(name) for name in ordered]

    async def get(self, name: str) -> QueueView:
        """A queue with its counts; UnknownQueueError when no deployed task uses it."""
        catalog = await self._runs.catalog.get()
        queues = _queues(catalog)
        if name not in queues:
            raise UnknownQueueError(name)
        spec = self._spec(catalog, name)
        state = await self._limits.state(spec)
        if spec.per_key is not None:  # V1: the queue's own limit counts its runs
            return QueueView(
                name=name,
                type=queues[name],
                running=len(state.holders),
                queued=len(state.waiting),
                paused=state.paused,
                limit=state,
                base_limit=spec.per_key,
            )
        running, queued = await self._counts(name)
        return QueueView(
            name=name,
            type=queues[name],
            running=running,
            queued=queued,
            paused=name in catalog.paused_queues or state.paused,
            limit=None,
            base_limit=None,
        )

    async def pause(self, name: str, paused: bool) -> QueueView:
        """Stop starting runs of the queue (running ones finish), or start again."""
        catalog = await self._runs.catalog.get()
        if name not in _queues(catalog):
            raise UnknownQueueError(name)
        await self._limits.apply(self._spec(catalog, name), "pause" if paused else "resume")
        start = WithStartWorkflowOperation(
            CatalogWorkflow.run,
            None,
            id=catalog_id(self._prefix),
            task_queue=runs_queue(self._prefix),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await self._client.execute_update_with_start_workflow(
            CatalogWorkflow.set_queue_paused, args=[name, paused], start_workflow_operation=start
        )
        self._runs.catalog.forget()
        return await self.get(name)

    async def set_limit(self, name: str, limit: int | None) -> QueueView:
        """Override (or, with None, reset) the limit of a V1 queue."""
        catalog = await self._runs.catalog.get()
        if name not in _queues(catalog):
            raise UnknownQueueError(name)
        spec = self._spec(catalog, name)
        if spec.per_key is None:
            raise LimitChangeError(
                "concurrencyLimit",
                f"queue {name!r} has no concurrency limit of its own (a V2 queue): "
                "change its task's limits with concurrencyLimits.override",
            )
        if limit is None:
            await self._limits.apply(spec, "reset")
        else:
            await self._limits.apply(spec, "override", per_key=limit)
        return await self.get(name)

    def _spec(self, catalog: Catalog, name: str) -> LimitSpec:
        """The queue's legacy limit, or its gate."""
        declared = catalog.limits().get(queue_limit_name(name))
        return declared if declared is not None else queue_gate(name)

    async def _counts(self, name: str) -> tuple[int, int]:
        """Runs of the queue executing, and queued, from visibility."""
        base = (
            f"WorkflowType = '{RUN_WORKFLOW}' AND ExecutionStatus = 'Running' "
            f"AND TaskQueue = '{runs_queue(self._prefix)}' "
            f"AND {TRIGGER_QUEUE.name} = '{_quoted(name)}'"
        )
        running = await self._client.count_workflows(
            f"{base} AND {TRIGGER_STATUS.name} = 'EXECUTING'"
        )
        queued = await self._client.count_workflows(
            f"{base} AND {TRIGGER_STATUS.name} IN ('QUEUED', 'DEQUEUED', 'PENDING_VERSION')"
        )
        return running.count, queued.count


def _queues(catalog: Catalog) -> dict[str, QueueType]:
    return {
        t.queue: "task" if t.queue == f"task/{t.id}" else "custom" for t in catalog.newest_tasks()
    }


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
