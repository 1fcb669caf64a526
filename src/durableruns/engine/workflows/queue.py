"""The queue workflow: a concurrency limit that holds across all workers.

Temporal has no global cap per task type, so each limited queue (and each concurrency
key of it) is a long-lived workflow, id ``durableruns-queue:<prefix>:<name>[#<key>]``,
that grants slots to runs in order (FIFO, with ``priority`` seconds of head start) and
takes them back when a run's attempt ends or it starts WAITING. Slots held by runs that
ended any other way (terminated from the Temporal UI, say) are reclaimed by a periodic
check of the holders.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from durableruns.catalog_models import QueueState, SlotRequest
    from durableruns.engine.names import CLOSED_RUNS_ACTIVITY, QUEUE_WORKFLOW, SLOT_GRANTED_SIGNAL

RECONCILE_EVERY = timedelta(seconds=5)
MAX_HISTORY_EVENTS = 5_000


@workflow.defn(name=QUEUE_WORKFLOW)
class QueueWorkflow:
    """Grants and reclaims the slots of one queue."""

    @workflow.init
    def __init__(self, state: QueueState) -> None:
        # Set before any handler runs: the first enqueue arrives with the start.
        self._state: QueueState | None = state
        self._changed = False

    @workflow.run
    async def run(self, state: QueueState) -> None:
        """Grant slots whenever something changed; reclaim lost ones periodically."""
        while workflow.info().get_current_history_length() < MAX_HISTORY_EVENTS:
            await self._grant()
            self._changed = False
            try:
                await workflow.wait_condition(lambda: self._changed, timeout=RECONCILE_EVERY)
            except TimeoutError:
                await self._reclaim()
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._state)

    @workflow.query
    def get(self) -> QueueState:
        """Limit, holders and waiting runs."""
        return self._queue()

    @workflow.signal
    def enqueue(self, request: SlotRequest) -> None:
        """A run wants a slot (again: a run that already holds one is not queued twice)."""
        queue = self._queue()
        if not queue.limit_overridden:
            queue.limit = request.limit
        if request.run_id not in queue.holders and all(
            w.run_id != request.run_id for w in queue.waiting
        ):
            queue.waiting.append(request)
        self._changed = True

    @workflow.signal
    def release(self, run_id: str) -> None:
        """A run gives its slot back (or stops waiting for one)."""
        queue = self._queue()
        queue.holders.pop(run_id, None)
        queue.waiting = [w for w in queue.waiting if w.run_id != run_id]
        self._changed = True

    @workflow.update
    def set_limit(self, limit: int) -> QueueState:
        """Change the limit at runtime (it then wins over the tasks' definitions)."""
        queue = self._queue()
        queue.limit, queue.limit_overridden = limit, True
        self._changed = True
        return queue

    @set_limit.validator
    def _limit_at_least_one(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("concurrencyLimit: must be at least 1")

    async def _grant(self) -> None:
        queue = self._queue()
        queue.waiting.sort(key=lambda w: w.enqueued_at - timedelta(seconds=w.priority_s))
        while queue.waiting and len(queue.holders) < queue.limit:
            request = queue.waiting.pop(0)
            queue.holders[request.run_id] = workflow.now()
            try:
                await workflow.get_external_workflow_handle(request.run_id).signal(
                    SLOT_GRANTED_SIGNAL
                )
            except Exception:  # the run is gone: its slot is free again
                queue.holders.pop(request.run_id, None)

    async def _reclaim(self) -> None:
        queue = self._queue()
        if not queue.holders:
            return
        closed = await workflow.execute_local_activity(
            CLOSED_RUNS_ACTIVITY,
            sorted(queue.holders),
            result_type=list[str],
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
        for run_id in closed:
            queue.holders.pop(run_id, None)

    def _queue(self) -> QueueState:
        assert self._state is not None, "the queue workflow has not started"
        return self._state
