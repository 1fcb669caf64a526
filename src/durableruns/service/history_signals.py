"""The signals of one name in a run's history, decoded, in order: how run logs
(``log_lines``) and streams (``stream_chunks``) are read back. They live in Temporal
with the run — no other store — so they are readable while it runs and after it
finished with no worker running (history needs none).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

T = TypeVar("T")


async def signals_in_history(
    client: Client, run_id: str, name: str, model: type[T], *, follow: bool, from_event: int = 0
) -> AsyncIterator[tuple[int, T]]:
    """``(event id, value)`` of each ``name`` signal from event ``from_event`` on; with
    ``follow``, new ones as they arrive (a long poll on the history, no polling
    interval) until the run's workflow closes. An unknown run has none."""
    events = client.get_workflow_handle(run_id).fetch_history_events(wait_new_event=follow)
    try:
        async for event in events:
            if event.event_id < from_event or not _is_signal(event, name):
                continue
            payloads = event.workflow_execution_signaled_event_attributes.input.payloads
            [value] = await client.data_converter.decode(payloads, [model])
            yield event.event_id, value
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return
        raise


def _is_signal(event: HistoryEvent, name: str) -> bool:
    return (
        event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and event.workflow_execution_signaled_event_attributes.signal_name == name
    )
