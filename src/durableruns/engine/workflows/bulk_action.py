"""The bulk action workflow: replay or cancel many runs, durably (issue 23).

One workflow execution per bulk action (workflow id = ``bulk_…``). It walks its selection
a page at a time — a slice of the given run ids, or the next page of the visibility
query resolved when the action was created (the page activity) — and hands each page to
the act activity, which acts on at most ``concurrency`` runs at once. So a bulk action
of 10,000 runs never floods the queues, survives a worker or facade restart (the
workflow resumes where its history says; an interrupted page is retried), and acts on
each run once: the workflow records each page's counts once, and a replay's run id is
derived from (action, source run), so a retried page finds the replays it made.

``abort`` (a signal) stops it after the page in flight (best effort; the counts stay
exact). It continues as new every ``PAGES_PER_EXECUTION`` pages, carrying its cursor and
counts. Its result, and the ``get`` query meanwhile, is the action's record.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from durableruns.bulk_models import (
        PAGE_SIZE,
        PAGES_PER_EXECUTION,
        BulkActionInput,
        BulkActionRecord,
        BulkActionStatus,
        BulkActRequest,
        BulkActResult,
        BulkPage,
        BulkPageRequest,
    )
    from durableruns.engine.names import (
        BULK_ABORT_SIGNAL,
        BULK_ACT_ACTIVITY,
        BULK_ACTION_WORKFLOW,
        BULK_GET_QUERY,
        BULK_PAGE_ACTIVITY,
    )

ACT_TIMEOUT = timedelta(minutes=30)
ACT_HEARTBEAT = timedelta(seconds=20)
"""A worker silent this long lost the page; another worker acts on it again."""
PAGE_TIMEOUT = timedelta(minutes=1)
RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10))


@workflow.defn(name=BULK_ACTION_WORKFLOW)
class BulkActionWorkflow:
    """Acts on the selection page by page until done or aborted."""

    @workflow.init
    def __init__(self, input: BulkActionInput) -> None:
        self._input = input
        self._record = BulkActionRecord(
            id=input.id,
            name=input.name,
            type=input.type,
            total=input.total,
            success=input.success,
            failure=input.failure,
            created_at=input.created_at,
        )
        self._aborted = False
        self._seen = set(input.seen)

    @workflow.run
    async def run(self, input: BulkActionInput) -> BulkActionRecord:
        """Act on every page; the final record (or continue as new midway)."""
        offset, token = input.offset, input.page_token
        for _ in range(PAGES_PER_EXECUTION):
            if self._aborted:
                return self._finish("ABORTED")
            if input.query is None:
                run_ids = input.run_ids[offset : offset + PAGE_SIZE]
                offset += len(run_ids)
                more = offset < len(input.run_ids)
            else:
                page = await workflow.execute_activity(
                    BULK_PAGE_ACTIVITY,
                    BulkPageRequest(query=input.query, page_token=token),
                    result_type=BulkPage,
                    start_to_close_timeout=PAGE_TIMEOUT,
                    retry_policy=RETRY,
                )
                run_ids = tuple(r for r in page.run_ids if r not in self._seen)
                self._seen.update(run_ids)
                token = page.next_token
                more = token is not None
            if run_ids:
                await self._act(input, run_ids)
            if not more:
                return self._finish("COMPLETED")
        workflow.continue_as_new(
            input.model_copy(
                update={
                    "offset": offset,
                    "page_token": token,
                    "success": self._record.success,
                    "failure": self._record.failure,
                    "total": self._record.total,
                    "seen": tuple(sorted(self._seen)),
                }
            )
        )

    async def _act(self, input: BulkActionInput, run_ids: tuple[str, ...]) -> None:
        result = await workflow.execute_activity(
            BULK_ACT_ACTIVITY,
            BulkActRequest(
                action_id=input.id,
                type=input.type,
                run_ids=run_ids,
                task_queue_prefix=input.task_queue_prefix,
                concurrency=input.concurrency,
                created_at=input.created_at,
            ),
            result_type=BulkActResult,
            start_to_close_timeout=ACT_TIMEOUT,
            heartbeat_timeout=ACT_HEARTBEAT,
            retry_policy=RETRY,
        )
        record = self._record
        record.success += result.success
        record.failure += result.failure
        # A query selection is counted when the action is created; runs that joined it
        # since (visibility lag) raise the total rather than overflow it.
        record.total = max(record.total, record.success + record.failure)

    def _finish(self, status: BulkActionStatus) -> BulkActionRecord:
        self._record.status = status
        self._record.completed_at = workflow.now()
        return self._record

    @workflow.signal(name=BULK_ABORT_SIGNAL)
    def abort(self) -> None:
        """Stop after the page in flight."""
        self._aborted = True

    @workflow.query(name=BULK_GET_QUERY)
    def get(self) -> BulkActionRecord:
        """The action's record as it is now."""
        return self._record
