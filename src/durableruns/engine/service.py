"""The run service: the one place the facade reaches Temporal through.

It turns "trigger a run" into starting a run workflow and "retrieve a run" into
reading that workflow, never visibility: a running run answers its ``get`` query (or,
with no worker up, is rebuilt from its start event and search attributes); a finished
run is read from its workflow result, so it is retrievable with no worker running.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from durableruns.engine import search_attributes as sa
from durableruns.engine.run_workflow import RunWorkflow
from durableruns.engine.task_queues import runs_queue, task_queue
from durableruns.errors import DurableRunsError
from durableruns.ids import is_run_id, new_run_id
from durableruns.models import RunError, RunInput, RunOptions, RunRecord
from durableruns.status import RunStatus

QUERY_TIMEOUT = timedelta(seconds=2)

# How a run that ended outside its own workflow code (terminated from the Temporal UI,
# workflow timeout, a bug) is reported.
_CLOSED_WITHOUT_RECORD = {
    WorkflowExecutionStatus.TERMINATED: RunStatus.CANCELED,
    WorkflowExecutionStatus.CANCELED: RunStatus.CANCELED,
    WorkflowExecutionStatus.TIMED_OUT: RunStatus.TIMED_OUT,
    WorkflowExecutionStatus.FAILED: RunStatus.SYSTEM_FAILURE,
}


class EngineUnavailableError(DurableRunsError):
    """Temporal could not be reached."""


class RunService:
    """Trigger and read runs on Temporal."""

    def __init__(self, client: Client, *, task_queue_prefix: str) -> None:
        self._client = client
        self._prefix = task_queue_prefix

    async def trigger(self, task_id: str, payload: Any, options: RunOptions) -> str:
        """Start a run of ``task_id``; returns its run id once the workflow exists."""
        run_id = new_run_id()
        run = RunInput(
            run_id=run_id,
            task_id=task_id,
            payload=payload,
            options=options,
            created_at=datetime.now(UTC),
            task_queue=task_queue(self._prefix, task_id),
        )
        attributes = TypedSearchAttributes(
            [
                SearchAttributePair(sa.TRIGGER_STATUS, RunStatus.QUEUED.value),
                SearchAttributePair(sa.TRIGGER_TASK_ID, task_id),
                SearchAttributePair(sa.TRIGGER_TAGS, list(options.tags)),
                SearchAttributePair(sa.TRIGGER_IS_TEST, options.is_test),
                SearchAttributePair(sa.TRIGGER_QUEUE, f"task/{task_id}"),
            ]
        )
        try:
            await self._client.start_workflow(
                RunWorkflow.run,
                run,
                id=run_id,
                task_queue=runs_queue(self._prefix),
                search_attributes=attributes,
                static_summary=f"{task_id} run",
            )
        except RPCError as exc:
            raise EngineUnavailableError(f"Could not start the run: {exc.message}") from exc
        return run_id

    async def retrieve(self, run_id: str) -> RunRecord | None:
        """The run's exact current record, or None when there is no such run."""
        if not is_run_id(run_id):
            return None
        handle = self._client.get_workflow_handle_for(RunWorkflow.run, run_id)
        try:
            description = await handle.describe()
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                return None
            raise EngineUnavailableError(f"Could not read the run: {exc.message}") from exc
        if description.status is WorkflowExecutionStatus.COMPLETED:
            return await handle.result()
        if description.status is WorkflowExecutionStatus.RUNNING:
            try:
                return await handle.query(RunWorkflow.get, rpc_timeout=QUERY_TIMEOUT)
            except (RPCError, WorkflowQueryFailedError):
                pass  # no worker to answer: rebuild from history below
        return await self._rebuild(handle, description)

    async def _rebuild(
        self, handle: WorkflowHandle[Any, Any], description: WorkflowExecutionDescription
    ) -> RunRecord:
        """The record from the start event and search attributes, without a worker."""
        run_input: RunInput | None = None
        async for event in handle.fetch_history_events(page_size=1):
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                payloads = event.workflow_execution_started_event_attributes.input.payloads
                [run_input] = await self._client.data_converter.decode(payloads, [RunInput])
            break
        if run_input is None:
            raise EngineUnavailableError(f"Run {handle.id} has no start event")
        record = RunRecord.from_input(run_input)
        closed = _CLOSED_WITHOUT_RECORD.get(description.status)  # type: ignore[arg-type]
        if closed is not None:
            record.status = closed
            record.finished_at = description.close_time
            record.error = RunError(
                name="RunEndedOutsideDurableruns",
                message=f"The run's workflow was {description.status.name.lower()}",  # type: ignore[union-attr]
            )
        else:
            status = description.typed_search_attributes.get(sa.TRIGGER_STATUS)
            record.status = RunStatus(status) if status else RunStatus.QUEUED
            record.version = description.typed_search_attributes.get(sa.TRIGGER_VERSION)
        record.updated_at = description.close_time or record.updated_at
        return record
