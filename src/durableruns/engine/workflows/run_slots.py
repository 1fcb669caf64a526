"""A run's slot in its queue, from inside the run workflow.

A run of a queue with a concurrency limit asks the queue's workflow for a slot before
each execution of its code (QUEUED until granted, then DEQUEUED) and gives it back
when the execution ends — after the attempt, and whenever it suspends at a wait, so a
WAITING run holds no slot. Runs of queues without a limit pay nothing here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durableruns.engine.names import ENQUEUE_ACTIVITY, queue_workflow_id
    from durableruns.models import RunInput
from durableruns.catalog_models import SlotRequest


class RunSlots:
    """The slot of one run (owned by its workflow; ``granted`` is set by its signal)."""

    def __init__(self) -> None:
        self.granted = False

    async def take(self, input: RunInput, deadline: datetime | None) -> bool:
        """Wait for a slot if the queue has a limit; False when ``deadline`` passed first."""
        options = input.options
        if not options.concurrency_limit or self.granted:
            return True
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
        """Release the slot (or the place in line) so the queue can grant it again."""
        if not input.options.concurrency_limit:
            return
        self.granted = False
        queue_id = queue_workflow_id(
            input.task_queue_prefix, queue_name(input), input.options.concurrency_key
        )
        try:
            await workflow.get_external_workflow_handle(queue_id).signal("release", input.run_id)
        except Exception:
            workflow.logger.warning("Could not release a slot of %s", queue_id)


def queue_name(input: RunInput) -> str:
    """The run's queue: the one it was triggered on, or its task's own."""
    return input.options.queue or f"task/{input.task_id}"
