"""Cancellation of a running attempt, learned from its run's history instead of a
heartbeat response.

Temporal tells an activity it was canceled in the answer to its next heartbeat, and
each heartbeat that reaches the server is a billable action on Temporal Cloud. Beating
twice a second made cancel prompt and cost ~120 actions per minute of execution, so an
attempt now beats only as often as losing its worker must be noticed (see
:mod:`.attempt_activity`), and cancel comes this other way: while the code runs, the
worker long-polls the run workflow's history (``GetWorkflowExecutionHistory`` with
``wait_new_event``, as :mod:`durableruns.service.history_watch` does for followers). The
server holds each request until new events are written (or its long-poll expiry, about
20 s, passes), so the worker learns of an ``ActivityTaskCancelRequested`` for its
execution, or of the workflow closing, within a round trip. It then heartbeats at once:
that one beat's answer carries the cancel, so the SDK delivers it exactly as before
(``activity.cancellation_details`` says ``cancel_requested``). Reading history is not an
action in Temporal Cloud's list (docs.temporal.io/cloud/actions), so a canceled attempt
costs one heartbeat, and one that is not canceled costs none.

One :class:`CancelWatch` per worker holds one held request per running execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from durableruns.service.history_watch import CLOSE_EVENTS

LONG_POLL_TIMEOUT = timedelta(seconds=70)
"""Client deadline of one held request: above the server's own long-poll expiry."""
ERROR_BACKOFF_S = 1.0
PAGE_SIZE = 256
SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
CANCEL_REQUESTED = EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED

log = logging.getLogger(__name__)


class CancelWatch:
    """Watches the runs of a worker's running executions for their cancellation."""

    def __init__(self) -> None:
        self.polls = 0
        """History requests made (held or not): what the watch costs the server."""

    @contextlib.asynccontextmanager
    async def watching(
        self,
        client: Client,
        workflow_id: str,
        run_id: str,
        activity_id: str,
        on_cancel: Callable[[], None],
    ) -> AsyncIterator[None]:
        """Calls ``on_cancel`` once if execution ``activity_id`` of the workflow
        execution is asked to cancel, or the workflow closes, while the block runs."""
        watcher = asyncio.create_task(
            self._watch(client, workflow_id, run_id, activity_id, on_cancel)
        )
        try:
            yield
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    async def _watch(
        self,
        client: Client,
        workflow_id: str,
        run_id: str,
        activity_id: str,
        on_cancel: Callable[[], None],
    ) -> None:
        await self._until_canceled(client, workflow_id, run_id, activity_id)
        on_cancel()

    async def _until_canceled(
        self, client: Client, workflow_id: str, run_id: str, activity_id: str
    ) -> None:
        """Returns once the execution is asked to cancel, or the workflow closed or is
        gone (the heartbeat then answers "not found", which cancels as well)."""
        scheduled_id: int | None = None
        token = b""
        while True:
            request = GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                maximum_page_size=PAGE_SIZE,
                next_page_token=token,
                wait_new_event=True,
                skip_archival=True,
            )
            self.polls += 1
            try:
                response = await client.workflow_service.get_workflow_execution_history(
                    request, retry=True, timeout=LONG_POLL_TIMEOUT
                )
            except RPCError as exc:
                if exc.status is RPCStatusCode.NOT_FOUND:
                    return  # removed: nothing left to run for
                if exc.status is not RPCStatusCode.DEADLINE_EXCEEDED:
                    log.warning("watching run %s for cancel: %s", workflow_id, exc.message)
                    await asyncio.sleep(ERROR_BACKOFF_S)
                continue
            for event in response.history.events:
                if event.event_type in CLOSE_EVENTS:
                    return
                if event.event_type == SCHEDULED:
                    attributes = event.activity_task_scheduled_event_attributes
                    if attributes.activity_id == activity_id:
                        scheduled_id = event.event_id
                elif event.event_type == CANCEL_REQUESTED:
                    attributes_c = event.activity_task_cancel_requested_event_attributes
                    if scheduled_id is not None and attributes_c.scheduled_event_id == scheduled_id:
                        return
            if not response.next_page_token:
                return  # closed and every event read
            token = response.next_page_token
