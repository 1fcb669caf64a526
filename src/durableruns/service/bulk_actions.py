"""Bulk actions from the client side (``/api/v1/bulk-actions``): create one (its
selection checked, a filter turned into a visibility query with its time bounds fixed
now), read it, list them, abort one. The work itself is the bulk action workflow
(``engine/workflows/bulk_action.py``) and its activities (``worker/bulk_activities.py``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from durableruns.bulk_models import (
    MAX_RUN_IDS,
    MAX_SELECTED_RUNS,
    BulkActionInput,
    BulkActionRecord,
    BulkActionType,
)
from durableruns.engine.client import QUERY_TIMEOUT
from durableruns.engine.names import (
    BULK_ABORT_SIGNAL,
    BULK_ACTION_WORKFLOW,
    BULK_GET_QUERY,
    runs_queue,
)
from durableruns.errors import EngineUnavailableError, InvalidInputError
from durableruns.ids import is_bulk_action_id, new_bulk_action_id
from durableruns.service.run_list import RunFilter, RunLister

READS_AT_ONCE = 16
"""Bulk actions of a list page read at once."""
DEFAULT_FILTER_WINDOW = timedelta(days=7)
"""A filter with no time bounds selects the runs created in the last 7 days (Trigger.dev's
default)."""


@dataclass(frozen=True)
class BulkActionPage:
    """One page of bulk actions, newest first."""

    actions: list[BulkActionRecord]
    next_after: str | None


class BulkActionService:
    """Create, read, list and abort the bulk actions of one environment."""

    def __init__(self, client: Client, *, task_queue_prefix: str) -> None:
        self._client = client
        self._prefix = task_queue_prefix

    async def create(
        self,
        action: BulkActionType,
        *,
        run_ids: list[str] | None = None,
        run_filter: RunFilter | None = None,
        name: str | None = None,
    ) -> str:
        """Start a bulk action on ``run_ids`` or the runs matching ``run_filter``; its id."""
        now = datetime.now(UTC)
        query: str | None = None
        if run_ids is not None:
            if len(run_ids) > MAX_RUN_IDS:
                raise InvalidInputError(
                    "runIds", f"at most {MAX_RUN_IDS} run ids, got {len(run_ids)}"
                )
            total = len(dict.fromkeys(run_ids))
            run_ids = list(dict.fromkeys(run_ids))
        else:
            assert run_filter is not None
            query, total = await self._resolve(run_filter, now)
        action_id = new_bulk_action_id()
        start = BulkActionInput(
            id=action_id,
            type=action,
            name=name,
            run_ids=tuple(run_ids or ()),
            query=query,
            created_at=now,
            task_queue_prefix=self._prefix,
            total=total,
        )
        try:
            await self._client.start_workflow(
                BULK_ACTION_WORKFLOW,
                start,
                id=action_id,
                task_queue=runs_queue(self._prefix),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"bulk {action.lower()} of {total} runs",
            )
        except RPCError as exc:
            raise EngineUnavailableError(f"Could not start the bulk action: {exc.message}") from exc
        return action_id

    async def _resolve(self, run_filter: RunFilter, now: datetime) -> tuple[str, int]:
        """The filter's visibility query, bounded in time (default: the last 7 days, up to
        now), and how many runs it selects now."""
        created_from = run_filter.created_from or now - DEFAULT_FILTER_WINDOW
        created_to = min(run_filter.created_to or now, now)
        lister = RunLister(self._client, task_queue_prefix=self._prefix)
        query = lister.query(run_filter, start_from=created_from, start_to=created_to)
        if run_filter.matches_nothing:
            query += " AND WorkflowId = 'none'"
        try:
            total = (await self._client.count_workflows(query)).count
        except RPCError as exc:
            raise EngineUnavailableError(f"Could not count the runs: {exc.message}") from exc
        if total > MAX_SELECTED_RUNS:
            raise InvalidInputError(
                "filter", f"selects {total} runs; one bulk action may act on {MAX_SELECTED_RUNS}"
            )
        return query, total

    async def retrieve(self, action_id: str) -> BulkActionRecord | None:
        """The bulk action as it is now, or None when there is no such action."""
        if not is_bulk_action_id(action_id):
            return None
        handle = self._handle(action_id)
        try:
            description = await handle.describe()
            if description.status is WorkflowExecutionStatus.COMPLETED:
                return BulkActionRecord.model_validate(await handle.result())
            if description.status is WorkflowExecutionStatus.RUNNING:
                try:
                    current: BulkActionRecord = await handle.query(
                        BULK_GET_QUERY, result_type=BulkActionRecord, rpc_timeout=QUERY_TIMEOUT
                    )
                    return current
                except (RPCError, WorkflowQueryFailedError):
                    pass  # no worker to answer: the record it started from
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                return None
            raise EngineUnavailableError(f"Could not read the bulk action: {exc.message}") from exc
        return await self._from_start(handle, description.status)

    async def _from_start(
        self, handle: WorkflowHandle[Any, Any], status: WorkflowExecutionStatus | None
    ) -> BulkActionRecord:
        """The record from the start input (no worker, or the workflow ended abnormally)."""
        start: BulkActionInput | None = None
        async for event in handle.fetch_history_events(page_size=1):
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            [start] = await self._client.data_converter.decode(payloads, [BulkActionInput])
            break
        if start is None:
            raise EngineUnavailableError(f"Bulk action {handle.id} has no start event")
        record = BulkActionRecord(
            id=start.id,
            name=start.name,
            type=start.type,
            total=start.total,
            success=start.success,
            failure=start.failure,
            created_at=start.created_at,
        )
        if status not in (None, WorkflowExecutionStatus.RUNNING):
            record.status = "ABORTED"
        return record

    async def abort(self, action_id: str) -> BulkActionRecord | None:
        """Ask a running action to stop after its page in flight; a finished action is
        left as it is (aborting it again is no error). None when there is no such action."""
        record = await self.retrieve(action_id)
        if record is None or record.status != "PENDING":
            return record
        try:
            await self._handle(action_id).signal(BULK_ABORT_SIGNAL)
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:  # finished meanwhile: a no-op
                raise EngineUnavailableError(f"Could not abort: {exc.message}") from exc
        return record

    async def list(self, *, limit: int, after: str | None = None) -> BulkActionPage:
        """Bulk actions newest first: ``limit`` of them, older than ``after``."""
        query = (
            f"WorkflowType = '{BULK_ACTION_WORKFLOW}' AND TaskQueue = '{runs_queue(self._prefix)}'"
        )
        if after is not None:
            older = await self.retrieve(after)
            if older is None:
                raise InvalidInputError("page[after]", f"no bulk action {after!r}")
            utc = older.created_at.astimezone(UTC).isoformat(timespec="microseconds")
            query += f" AND StartTime < '{utc.replace('+00:00', 'Z')}'"
        ids: list[str] = []
        try:
            async for execution in self._client.list_workflows(query, limit=limit + 1):
                ids.append(execution.id)
        except RPCError as exc:
            raise EngineUnavailableError(f"Could not list bulk actions: {exc.message}") from exc
        gate = asyncio.Semaphore(READS_AT_ONCE)

        async def read(action_id: str) -> BulkActionRecord | None:
            async with gate:
                return await self.retrieve(action_id)

        found = await asyncio.gather(*(read(i) for i in ids[:limit]))
        actions = sorted((r for r in found if r), key=lambda r: r.created_at, reverse=True)
        return BulkActionPage(
            actions=actions, next_after=actions[-1].id if len(ids) > limit and actions else None
        )

    def _handle(self, action_id: str) -> WorkflowHandle[Any, Any]:
        return self._client.get_workflow_handle(action_id)
