"""Cancellation of a running attempt, learned from its run's history instead of a
heartbeat response.

Temporal tells an activity it was canceled in the answer to its next heartbeat, and
each heartbeat that reaches the server is a billable action on Temporal Cloud. Beating
twice a second made cancel prompt and cost ~120 actions per minute of execution, so an
attempt now beats only as often as losing its worker must be noticed (see
:mod:`.attempt_activity`), and cancel comes this other way: while the code runs, the
worker long-polls the run workflow's close event (``GetWorkflowExecutionHistory`` with
``wait_new_event`` and the close-event filter, as a client awaiting a result does). A
canceled run cancels its attempt and closes in one workflow task, so the server answers
the held request within a round trip of the cancel, whatever the history's length. The
worker then heartbeats at once: the execution is gone, the answer says so, and the SDK
cancels the code as a heartbeat-delivered cancel would. Reading history is not an
action in Temporal Cloud's list (docs.temporal.io/cloud/actions), so a canceled attempt
costs one heartbeat, and one that is not canceled costs none.

One :class:`CancelWatch` per worker holds one held request per running execution (from
:data:`WATCH_AFTER_S` into it), so cancel reaches code within about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, HistoryEventFilterType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from durableruns.service.history_watch import CLOSE_EVENTS

WATCH_AFTER_S = 0.5
"""An execution is watched once it has run this long: shorter ones (a run that waits
often resumes in many) cost no request at all."""
LONG_POLL_TIMEOUT = timedelta(seconds=70)
"""Client deadline of one held request: above the server's own long-poll expiry."""
ERROR_BACKOFF_S = 1.0
CLOSE_EVENT_ONLY = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
ALL_EVENTS = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT
"""Read by executions of lean workers: their run waits for a canceled execution's
outcome, so the cancel request, not the close, is what they watch for (each new event
of the run answers the held request: a few more reads, no action)."""
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
        *,
        cancel_requests: bool = False,
    ) -> AsyncIterator[None]:
        """Calls ``on_cancel`` once if the workflow execution running ``activity_id``
        closes (or is gone) while the block runs; with ``cancel_requests``, also once
        the run asks to cancel ``activity_id`` (a run that does not know the execution's
        start waits for its outcome before it closes)."""
        watcher = asyncio.create_task(
            self._watch(client, workflow_id, run_id, activity_id, on_cancel, cancel_requests)
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
        cancel_requests: bool,
    ) -> None:
        await asyncio.sleep(WATCH_AFTER_S)
        await self._until_canceled(client, workflow_id, run_id, activity_id, cancel_requests)
        on_cancel()

    async def _until_canceled(
        self,
        client: Client,
        workflow_id: str,
        run_id: str,
        activity_id: str,
        cancel_requests: bool = False,
    ) -> None:
        """Returns once the workflow execution closed (a canceled run closes in the same
        workflow task that cancels its attempt) or is gone: the heartbeat then answers
        "not found", which cancels the code. Only the close event is asked for, so a
        long history is never read."""
        token = b""
        scheduled: int | None = None  # the event id of activity_id's scheduling
        while True:
            request = GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                next_page_token=token,
                wait_new_event=True,
                history_event_filter_type=ALL_EVENTS if cancel_requests else CLOSE_EVENT_ONLY,
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
                    if event.activity_task_scheduled_event_attributes.activity_id == activity_id:
                        scheduled = event.event_id
                elif event.event_type == CANCEL_REQUESTED:
                    attributes = event.activity_task_cancel_requested_event_attributes
                    if attributes.scheduled_event_id == scheduled:
                        return
            token = response.next_page_token
