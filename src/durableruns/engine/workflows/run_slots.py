"""A run's slots in its concurrency limits, from inside the run workflow.

A run that holds limits (``RunOptions.limits``: its task's inline and named limits and
its queue's legacy limit) asks each limit's workflow (``engine/workflows/limit.py``) for
a slot before each execution of its code (QUEUED until every one is granted, then
DEQUEUED) and gives them all back when the execution ends — after the attempt, and
whenever it suspends at a wait, so a WAITING run holds no slot. Runs without limits
pay nothing here: no signal, no activity, no marker.

Several limits are acquired one after another in a fixed order (by name), each held
while the next is awaited. Every run uses the same order, so no two runs can each hold
what the other waits for (no deadlock), and a run executes only once it holds all of
them (never over any bound). Per limit, admission costs three signals — ``enqueue``
to the limit, ``slot_granted`` back, ``release`` at the end — and, on a limit's first
use only, a local activity that starts its workflow.

Runs of the first queue engine (``concurrency_limit`` without ``limits``) keep asking
their queue workflow (``engine/workflows/queue.py``), as their histories recorded.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import Priority

with workflow.unsafe.imports_passed_through():
    from durableruns.engine.names import (
        ENQUEUE_ACTIVITY,
        ENQUEUE_LIMIT_ACTIVITY,
        LIMIT_RELEASE_SIGNAL,
        limit_workflow_id,
        queue_workflow_id,
    )
    from durableruns.engine.workflows.limit import LimitWorkflow
    from durableruns.limit_models import LimitRequest
    from durableruns.models import RunInput, RunOptions
from durableruns.catalog_models import SlotRequest

LIMITS_PATCH = "concurrency-limits"
"""Runs holding ``limits`` ask the limit workflows (recorded once, on such runs only)."""
LIMIT_WAKES_PATCH = "limit-wakes-expired"
"""Runs with a TTL wait for their limits without a timer: the limit wakes them."""
PRIORITY_PATCH = "task-queue-priority"
"""Runs with a ``priority`` give it to their executions' tasks (such runs only)."""
HIGHEST_PRIORITY_FROM_S = 3_600
"""A head start of an hour or more takes Temporal's highest priority key (1); any
smaller positive head start key 2; runs without one keep the default (3)."""


def execution_priority(options: RunOptions) -> Priority:
    """The Temporal task-queue priority of a run's executions: Trigger.dev's ``priority``
    (seconds of head start) on every queue, limited or not, with no workflow in the
    path — matching dispatches backlogged higher-priority tasks first. Temporal has a
    few levels, not seconds, so the order among prioritized runs is coarse there (a
    limit's own line orders by the exact head start)."""
    if options.priority_s <= 0 or not workflow.patched(PRIORITY_PATCH):
        return Priority.default
    return Priority(priority_key=1 if options.priority_s >= HIGHEST_PRIORITY_FROM_S else 2)


class RunSlots:
    """The slots of one run (owned by its workflow; ``granted`` is set by its signal)."""

    def __init__(self) -> None:
        self.granted = False
        self._asked: list[str] = []
        """Limit workflows this run asked (holding or in line): all are released."""

    async def take(self, input: RunInput, deadline: datetime | None) -> bool:
        """Wait for a slot in every limit (or the legacy queue); False when ``deadline``
        passed first (everything taken so far is given back)."""
        options = input.options
        if not options.concurrency_limit or self.granted:
            return True
        if options.limits and workflow.patched(LIMITS_PATCH):
            return await self._take_limits(input, deadline)
        request = SlotRequest(
            run_id=input.run_id,
            enqueued_at=input.created_at,
            priority_s=options.priority_s,
            limit=options.concurrency_limit,
        )
        await workflow.execute_local_activity(
            ENQUEUE_ACTIVITY,
            args=[input.task_queue_prefix, queue_name(input), options.concurrency_key, request],
            start_to_close_timeout=timedelta(seconds=10),
        )
        return await self._granted_by(input, deadline)

    async def _take_limits(self, input: RunInput, deadline: datetime | None) -> bool:
        """One limit after another, in name order (``options.limits`` is sorted). The
        run waits without a timer: a limit wakes a run whose ``deadline`` (its TTL)
        passed in line, and the run then gives back what it took."""
        options = input.options
        woken = deadline is not None and workflow.patched(LIMIT_WAKES_PATCH)
        for spec in options.limits:
            limit_id = limit_workflow_id(input.task_queue_prefix, spec.name)
            if limit_id in self._asked:
                continue
            self.granted = False
            self._asked.append(limit_id)
            request = LimitRequest(
                run_id=input.run_id,
                concurrency_key=options.concurrency_key,
                enqueued_at=input.created_at,
                priority_s=options.priority_s,
                spec=spec,
                expires_at=deadline if woken else None,
            )
            try:
                limit = workflow.get_external_workflow_handle_for(LimitWorkflow.run, limit_id)
                await limit.signal(LimitWorkflow.enqueue, request)
            except Exception:  # the limit's first use: start its workflow
                await workflow.execute_local_activity(
                    ENQUEUE_LIMIT_ACTIVITY,
                    args=[input.task_queue_prefix, request],
                    start_to_close_timeout=timedelta(seconds=10),
                )
            if deadline is not None and not woken:  # recorded before the limit woke runs
                if not await self._granted_by(input, deadline):
                    return False
                continue
            await workflow.wait_condition(lambda: self.granted)
            if deadline is not None and workflow.now() >= deadline:
                await self.give_back(input)
                return False
        self.granted = True
        return True

    async def _granted_by(self, input: RunInput, deadline: datetime | None) -> bool:
        try:
            await workflow.wait_condition(
                lambda: self.granted,
                timeout=(deadline - workflow.now()) if deadline else None,
            )
        except TimeoutError:
            await self.give_back(input)
            return False
        return True

    async def give_back(self, input: RunInput) -> None:
        """Release every slot (and place in line) so the limits can grant them again."""
        if not input.options.concurrency_limit:
            return
        self.granted = False
        if self._asked:
            asked, self._asked = self._asked, []
            await asyncio.gather(*(_release(limit_id, input.run_id) for limit_id in asked))
            return
        if input.options.limits and workflow.patched(LIMITS_PATCH):
            return  # it never asked a limit
        queue_id = queue_workflow_id(
            input.task_queue_prefix, queue_name(input), input.options.concurrency_key
        )
        await _release(queue_id, input.run_id)


async def _release(workflow_id: str, run_id: str) -> None:
    try:
        await workflow.get_external_workflow_handle(workflow_id).signal(
            LIMIT_RELEASE_SIGNAL, run_id
        )
    except Exception:
        workflow.logger.warning("Could not release a slot of %s", workflow_id)


def queue_name(input: RunInput) -> str:
    """The run's queue: the one it was triggered on, or its task's own."""
    return input.options.queue or f"task/{input.task_id}"
