"""Push notification of workflow changes: a server-side long-poll of a workflow's history.

A run (or batch) lives in a Temporal workflow, and every change of its record happens in
workflow code, so it ends a workflow task (``WorkflowTaskCompleted``) or closes the
workflow. ``GetWorkflowExecutionHistory`` with ``wait_new_event`` lets the history
service hold the request until such events are written, so a follower learns of a change
within a round trip of Temporal recording it, and a workflow that does nothing costs one
held request per long-poll expiry (about 20 s), not a read per tick.

:func:`workflow_changes` yields each history page that holds a relevant event; the
caller then reads the record (a query, the memo, or the result in the close event). The
first page replays the history so far, so a caller that read the record just before
starting never misses a change in between. It ends once the workflow has closed (after
following a continue-as-new to the new execution) and raises :class:`WorkflowGone` when
there is no such workflow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

CLOSE_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    }
)
"""The events that close a workflow execution."""
CHANGE_EVENTS = CLOSE_EVENTS | {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
}
"""Events after which the workflow's record may read differently."""
CONTINUED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
LONG_POLL_TIMEOUT = timedelta(seconds=70)
"""Client deadline of one held request: above the server's own long-poll expiry (20 s),
which answers an empty page and lets the follower ask again."""
ERROR_BACKOFF_S = 1.0
PAGE_SIZE = 256

log = logging.getLogger(__name__)


class WorkflowGone(Exception):
    """The workflow does not exist (never did, or removed by retention)."""


def changes_in(events: Iterable[HistoryEvent]) -> bool:
    """Whether a page of events may have changed the workflow's record."""
    return any(event.event_type in CHANGE_EVENTS for event in events)


async def workflow_changes(
    client: Client, workflow_id: str
) -> AsyncIterator[Sequence[HistoryEvent]]:
    """The new events, each time the workflow's record may have changed; see the module doc."""
    token = b""
    while True:
        request = GetWorkflowExecutionHistoryRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=workflow_id),
            maximum_page_size=PAGE_SIZE,
            next_page_token=token,
            wait_new_event=True,
            skip_archival=True,
        )
        try:
            response = await client.workflow_service.get_workflow_execution_history(
                request, retry=True, timeout=LONG_POLL_TIMEOUT
            )
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise WorkflowGone(workflow_id) from exc
            if exc.status is RPCStatusCode.DEADLINE_EXCEEDED:
                continue  # a held request outlived its deadline: ask again
            log.warning("following workflow %s failed: %s", workflow_id, exc.message)
            await asyncio.sleep(ERROR_BACKOFF_S)
            continue
        events = response.history.events
        if changes_in(events):
            yield events
        if not response.next_page_token:  # closed, and every event read
            if events and events[-1].event_type == CONTINUED:
                token = b""  # follow the new execution from its start
                continue
            return
        token = response.next_page_token
