"""The run service: the one place the facade reaches Temporal through.

Triggering starts a run workflow. Reading a run reads that workflow, never visibility:
a running run answers its ``get`` query (or, with no worker up, is rebuilt from its
start event and search attributes); a finished run is read from its workflow result,
so it is retrievable with no worker running. Cancel, reschedule and metadata changes
are Temporal cancellation and Updates of the run workflow.

Triggers with a key — idempotency keys and debounce keys — are atomic because they rest
on workflow-id uniqueness, never on a visibility lookup.

A keyed run's id is derived from (namespace, queues, task, kind, key, generation).
Racing triggers all try to start the key's current generation; Temporal lets exactly one
win and the others find that run. Idempotency: a run that ended FAILED (or worse), or
whose key expired, moves the key to the next generation. Debounce: a later trigger asks
the key's run (the ``debounce`` Update) to move its start; a run no longer DELAYED, or
past its ``maxDelay``, refuses, and the key moves to the next generation — Temporal
serializes the Updates, so two racing triggers never make two runs. A reset of an
idempotency key moves it to the next generation too (``service/key_resets.py``).

Why one module of ~650 lines: every way of starting, reading and changing a run goes
through this one service (keyed triggers included), so the facade, the dashboard, the
schedule ticks and task code share one trigger path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from durableruns.debounce import DebounceRequest
from durableruns.engine import search_attributes as sa
from durableruns.engine.client import QUERY_TIMEOUT
from durableruns.engine.names import RECORD_MEMO, runs_queue
from durableruns.engine.search_attributes import initial_search_attributes
from durableruns.engine.workflows.run import RunWorkflow
from durableruns.engine.workflows.run_close import record_from_failure
from durableruns.errors import (  # defined in errors.py (the one tree)
    EngineUnavailableError as EngineUnavailableError,
)
from durableruns.errors import InvalidInputError, KeyExhaustedError, engine_unavailable
from durableruns.errors import RunNotFoundError as RunNotFoundError
from durableruns.errors import RunStateError as RunStateError
from durableruns.ids import derived_run_id, is_run_id, new_run_id
from durableruns.limits import HISTORY_BLOB_LIMIT_BYTES, UnrecordableValueError, check_payload
from durableruns.models import (
    ChildRunSpec,
    JournalEntry,
    RunError,
    RunInput,
    RunOptions,
    RunRecord,
)
from durableruns.options import idempotency_key_hash
from durableruns.reruns import cut_position, seed_before
from durableruns.run_state import STATE_MEMO, record_from_state
from durableruns.service import key_resets
from durableruns.service.catalog import CatalogReader
from durableruns.service.deployments import resolve_options
from durableruns.service.history_watch import CLOSE_EVENTS
from durableruns.service.run_logs import RunLogReader
from durableruns.service.run_query import query_record
from durableruns.service.run_streams import RunStreamReader
from durableruns.service.running_attempt import (
    awaits_an_outcome,
    ended_attempts,
    settled,
    with_running_attempt,
)
from durableruns.status import RunStatus, is_completed
from durableruns.wire import MAX_TAGS

HISTORY_TAIL_EVENTS = 50
"""Newest events read for an execution's unapplied outcome: its scheduling is among them
(an execution that ran longer, with more events between, announced its start)."""
MEMO_RUNS_KEPT = 10_000
"""Runs whose way of reading (memo or query) a service remembers for its followers."""
RECORD_ENVELOPE_BYTES = 64 * 1024
"""Room left under the blob limit for what wraps a record in history (payload metadata,
the pydantic envelope)."""

# How a run that ended outside its own workflow code (terminated from the Temporal UI,
# workflow timeout, a bug) is reported.
CLOSED_WITHOUT_RECORD = {
    WorkflowExecutionStatus.TERMINATED: RunStatus.CANCELED,
    WorkflowExecutionStatus.CANCELED: RunStatus.CANCELED,
    WorkflowExecutionStatus.TIMED_OUT: RunStatus.TIMED_OUT,
    WorkflowExecutionStatus.FAILED: RunStatus.SYSTEM_FAILURE,
}


def _not_run_yet(first: HistoryEvent, events: Sequence[HistoryEvent]) -> bool:
    """Whether a page from a fresh start (not a continue-as-new) holds no completed
    workflow task and no close: no workflow code has changed the record yet."""
    if first.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        return False
    if first.workflow_execution_started_event_attributes.continued_execution_run_id:
        return False
    return not any(
        e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED or e.event_type in CLOSE_EVENTS
        for e in events
    )


_CLOSED_RUN_STATUSES = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)
"""How Temporal refuses an Update of a workflow that has closed (or never existed)."""


def is_size_refusal(exc: RPCError) -> bool:
    """Temporal refused a request for its size (a blob over 2 MiB, a gRPC message over
    4 MiB), not for being unreachable. The one place that reads Temporal's words: the
    server gives these refusals no status or error detail of their own (they share
    INVALID_ARGUMENT / RESOURCE_EXHAUSTED with other refusals)."""
    text = exc.message.lower()
    return exc.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.RESOURCE_EXHAUSTED) and (
        "size exceeds" in text or "larger than max" in text or "too large" in text
    )


MAX_KEY_GENERATIONS = 1000
KEY_REUSABLE_AFTER = frozenset({RunStatus.COMPLETED, RunStatus.CANCELED})
"""A keyed run that ended this way keeps its key; any other final status frees it."""


def _holds_key(run: RunRecord, now: datetime) -> bool:
    """Whether a keyed run still answers its key (unexpired, and not ended so that the
    key is freed)."""
    expires = run.options.idempotency_key_expires_at
    if expires is not None and expires <= now:
        return False
    return not is_completed(run.status) or run.status in KEY_REUSABLE_AFTER


@dataclass(frozen=True)
class Triggered:
    """A trigger's answer: the run id, and whether an existing run was returned."""

    run_id: str
    is_cached: bool = False


class RunService:
    """Trigger, read and control runs on Temporal."""

    def __init__(self, client: Client, *, task_queue_prefix: str) -> None:
        self._client = client
        self._prefix = task_queue_prefix
        self.catalog = CatalogReader(client, task_queue_prefix=task_queue_prefix)
        self._memo_runs: dict[str, bool] = {}

    @property
    def client(self) -> Client:
        """The Temporal client, in this environment's namespace (the run lister reads
        visibility through it)."""
        return self._client

    @property
    def logs(self) -> RunLogReader:
        """The runs' logs, read from their histories."""
        return RunLogReader(self._client)

    @property
    def streams(self) -> RunStreamReader:
        """The runs' streams (``ctx.stream``), read from their histories."""
        return RunStreamReader(self._client)

    @property
    def record_limit_bytes(self) -> int | None:
        """What a run's record may encode to: Temporal's blob limit less an envelope
        margin when values stay inline in history, None with payload storage."""
        if self._client.data_converter.external_storage is not None:
            return None
        return HISTORY_BLOB_LIMIT_BYTES - RECORD_ENVELOPE_BYTES

    @property
    def task_queue_prefix(self) -> str:
        """Prefix of this environment's task queues."""
        return self._prefix

    # --- trigger -------------------------------------------------------------------------
    async def trigger(
        self,
        task_id: str,
        payload: Any,
        options: RunOptions,
        *,
        run_id: str | None = None,
        default_ttl_s: float | None = None,
        payload_checked: bool = False,
        seed_journal: tuple[JournalEntry, ...] = (),
    ) -> Triggered:
        """Start a run; returns once its workflow exists.

        The run is pinned to the latest version serving the task (or ``lockToVersion``)
        and its payload checked against that version's schema; ``default_ttl_s`` (the
        environment's) applies when the trigger gave no TTL and the task has none.
        ``run_id`` makes the trigger idempotent on that id (batch items, retried
        requests): if the run exists already it is returned, cached. The payload is
        checked against the limits (``limits.check_payload``) unless the caller did
        (``payload_checked``, the facade): triggers from task code are checked here.
        ``seed_journal`` (a rerun from a step) is what the new run answers its first calls
        with.
        """
        if not payload_checked:
            check_payload(payload)
        options = resolve_options(
            await self.catalog.get(), task_id, payload, options, default_ttl_s=default_ttl_s
        )
        if options.idempotency_key_hash:
            return await self._trigger_idempotent(task_id, payload, options)
        if options.debounce:
            return await self._trigger_debounced(task_id, payload, options)
        run_id = run_id or new_run_id()
        try:
            return Triggered(await self.start_run(run_id, task_id, payload, options, seed_journal))
        except WorkflowAlreadyStartedError:
            return Triggered(run_id, is_cached=True)

    async def _trigger_idempotent(
        self, task_id: str, payload: Any, options: RunOptions
    ) -> Triggered:
        """The run of the idempotency key: an existing one (cached), or a new one."""
        key = options.idempotency_key_hash or ""
        now = datetime.now(UTC)
        for generation in range(MAX_KEY_GENERATIONS):
            run_id = self._keyed_id(task_id, "key", key, generation)
            try:
                return Triggered(await self.start_run(run_id, task_id, payload, options))
            except WorkflowAlreadyStartedError:
                pass
            existing = await self.retrieve(run_id)
            if existing is None:  # removed by retention meanwhile: try this generation again
                return await self._trigger_idempotent(task_id, payload, options)
            if _holds_key(existing, now) and not await key_resets.was_reset(self._client, run_id):
                return Triggered(run_id, is_cached=True)
        raise KeyExhaustedError(
            "options.idempotencyKey", f"this key made {MAX_KEY_GENERATIONS} runs already"
        )

    async def reset_idempotency_key(self, task_id: str, key: str) -> bool:
        """Make the next trigger of ``task_id`` with ``key`` start a new run
        (``service/key_resets.py``); False when the key never made a run of the task.
        ``key`` is the key's hash (what the official client sends), or the key as given
        to a trigger outside task code."""
        now = datetime.now(UTC)
        known = False
        for key_hash in dict.fromkeys((key, idempotency_key_hash(key))):
            for generation in range(MAX_KEY_GENERATIONS):
                run_id = self._keyed_id(task_id, "key", key_hash, generation)
                existing = await self.retrieve(run_id)
                if existing is None:
                    break
                known = True
                if _holds_key(existing, now) and not await key_resets.was_reset(
                    self._client, run_id
                ):
                    await key_resets.mark_reset(self._client, self._prefix, run_id)
                    return True
        return known

    async def _trigger_debounced(
        self, task_id: str, payload: Any, options: RunOptions
    ) -> Triggered:
        """The debounce key's run, moved later (and updated, trailing) — or a new one."""
        debounce = options.debounce
        assert debounce is not None
        key = debounce.key
        request = DebounceRequest(
            delay_until=datetime.now(UTC) + timedelta(seconds=debounce.delay_s),
            max_delay_s=debounce.max_delay_s,
            trailing=debounce.mode == "trailing",
            payload=payload,
            metadata=options.metadata,
            tags=options.tags,
            max_attempts=options.max_attempts,
            max_duration_s=options.max_duration_s,
        )
        for generation in range(MAX_KEY_GENERATIONS):
            run_id = self._keyed_id(task_id, "debounce", key, generation)
            try:
                return Triggered(await self.start_run(run_id, task_id, payload, options))
            except WorkflowAlreadyStartedError:
                pass
            try:
                await self._handle(run_id).execute_update(RunWorkflow.debounce, request)
            except WorkflowUpdateFailedError:
                continue  # not DELAYED any more, or past maxDelay: the key's next run
            except RPCError as exc:
                if exc.status in _CLOSED_RUN_STATUSES:
                    continue  # the run finished: the key's next run
                raise engine_unavailable("Could not debounce the run", exc.message) from exc
            return Triggered(run_id)
        raise KeyExhaustedError(
            "options.debounce.key", f"this key made {MAX_KEY_GENERATIONS} runs already"
        )

    def _keyed_id(self, task_id: str, kind: str, key: str, generation: int) -> str:
        return derived_run_id(
            self._client.namespace, self.task_queue_prefix, task_id, kind, key, str(generation)
        )

    async def resolve_child(self, child: ChildRunSpec, version: str) -> ChildRunSpec:
        """A waited-for child's options: on ``version`` (its parent's) when that version
        serves the child's task, else like any trigger (the latest version, or none).
        The payload must be within the limits (ValueTooLargeError fails the parent's
        attempt, which task code may catch)."""
        size = check_payload(child.payload)
        limit = self.record_limit_bytes
        if limit is not None and size > limit:  # the Update carrying it would be refused
            raise UnrecordableValueError("payload")
        catalog = await self.catalog.get()
        pinned = version if catalog.find(child.task_id, version) else None
        options = resolve_options(
            catalog,
            child.task_id,
            child.payload,
            child.options.model_copy(update={"lock_to_version": pinned}),
            default_ttl_s=None,
        )
        return child.model_copy(update={"options": options})

    def request_run_id(self, task_id: str, request_key: str) -> str:
        """The run id a request-idempotency key maps to (``x-trigger-request-idempotency-key``)."""
        return derived_run_id(self._client.namespace, self._prefix, task_id, "request", request_key)

    async def start_run(
        self,
        run_id: str,
        task_id: str,
        payload: Any,
        options: RunOptions,
        seed_journal: tuple[JournalEntry, ...] = (),
    ) -> str:
        """Start the run workflow for ``run_id`` (WorkflowAlreadyStartedError if it exists)."""
        run = RunInput(
            run_id=run_id,
            task_id=task_id,
            payload=payload,
            options=options,
            seed_journal=seed_journal,
            created_at=datetime.now(UTC),
            task_queue_prefix=self._prefix,
            record_limit_bytes=self.record_limit_bytes,
            record_in_memo=True,
        )
        try:
            await self._client.start_workflow(
                RunWorkflow.run,
                run,
                id=run_id,
                task_queue=runs_queue(self._prefix),
                search_attributes=initial_search_attributes(run),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                static_summary=f"{task_id} run",
                # Where this process also runs a worker (``durableruns dev``), the run's
                # first workflow task comes back with the start: no poll, one round trip
                # less. Elsewhere Temporal ignores it.
                request_eager_start=True,
            )
        except RPCError as exc:
            if is_size_refusal(exc):
                raise UnrecordableValueError("payload") from exc
            raise engine_unavailable("Could not start the run", exc.message) from exc
        return run_id

    # --- read ----------------------------------------------------------------------------
    async def retrieve(self, run_id: str) -> RunRecord | None:
        """The run's exact current record, or None when there is no such run."""
        if not is_run_id(run_id):
            return None
        handle = self._handle(run_id)
        try:
            description = await handle.describe()
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                return None
            raise EngineUnavailableError(f"Could not read the run: {exc.message}") from exc
        if description.status is WorkflowExecutionStatus.COMPLETED:
            return await handle.result()
        if (closed := await _closed_record(handle, description)) is not None:
            return closed
        if description.status is WorkflowExecutionStatus.RUNNING:
            run_input = await self._start_input(handle)
            if run_input.record_in_memo:  # read from Temporal alone: no query, no worker
                state = await _record_from_state(run_input, description)
                if not is_completed(state.status) or state.finished_at is not None:
                    return await self._as_running(state, description)
                # The run has ended but its workflow is still closing (giving back a queue
                # slot): its output and error are only in the workflow until it closes.
                ending = await query_record(self._client, handle, runs_queue(self._prefix))
                return ending if ending is not None else state
            record = await query_record(self._client, handle, runs_queue(self._prefix))
            if record is not None:  # else no worker to answer: rebuild from history below
                return await self._as_running(record, description)
        rebuilt = await self._rebuild(handle, description)
        if description.status is WorkflowExecutionStatus.RUNNING:
            return with_running_attempt(rebuilt, description)
        return rebuilt

    async def _as_running(
        self, record: RunRecord, description: WorkflowExecutionDescription
    ) -> RunRecord:
        """``with_running_attempt``; when the run may hold an execution's outcome it has
        not applied yet (``awaits_an_outcome``), with the start the history's tail tells
        (one read, not a Temporal Cloud action), so a run never reads QUEUED between its
        code ending and the run recording it."""
        ended = None
        if awaits_an_outcome(record, description):
            request = GetWorkflowExecutionHistoryReverseRequest(
                namespace=self._client.namespace,
                execution=WorkflowExecution(workflow_id=description.id, run_id=description.run_id),
                maximum_page_size=HISTORY_TAIL_EVENTS,
            )
            try:
                tail = await self._client.workflow_service.get_workflow_execution_history_reverse(
                    request, timeout=QUERY_TIMEOUT
                )
                ended = ended_attempts(tail.history.events, description)
            except RPCError:
                pass  # the record as it stands: the outcome lands in milliseconds anyway
        return with_running_attempt(record, description, ended)

    async def read_after(self, run_id: str, events: Sequence[HistoryEvent]) -> RunRecord | None:
        """The record after ``events`` (a page of the run's history, just read), as cheaply
        as they allow: a run whose workflow code has not run yet is its start input, and
        a run that completed carries its record in the close event (no call at all); a
        run still going answers its query (no ``describe`` first); anything else is
        :meth:`retrieve`.

        Realtime reads a watched run this way each time its history grows.
        """
        if not events:
            return await self.retrieve(run_id)
        first, last = events[0], events[-1]
        if _not_run_yet(first, events):
            # No workflow code has run: the record is the one the run starts with.
            payloads = first.workflow_execution_started_event_attributes.input.payloads
            [run_input] = await self._client.data_converter.decode(payloads, [RunInput])
            if isinstance(run_input, RunInput):
                return RunRecord.from_input(run_input)
        completed = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
        if last.event_type == completed:
            payloads = last.workflow_execution_completed_event_attributes.result.payloads
            if len(payloads) == 1:
                [record] = await self._client.data_converter.decode(payloads, [RunRecord])
                if isinstance(record, RunRecord):
                    return record
        if last.event_type not in CLOSE_EVENTS and not await self._reads_memo(run_id, first):
            try:
                record = await self._handle(run_id).query(
                    RunWorkflow.get, rpc_timeout=QUERY_TIMEOUT
                )
                return settled(record)
            except (RPCError, WorkflowQueryFailedError):
                pass  # a worker busy or gone (or the run just closed): the long way
        return await self.retrieve(run_id)

    async def require(self, run_id: str) -> RunRecord:
        """:meth:`retrieve`, or RunNotFoundError."""
        record = await self.retrieve(run_id)
        if record is None:
            raise RunNotFoundError(run_id)
        return record

    async def _rebuild(
        self, handle: WorkflowHandle[Any, Any], description: WorkflowExecutionDescription
    ) -> RunRecord:
        """The record from the start event and search attributes, without a worker."""
        record = RunRecord.from_input(await self._start_input(handle))
        closed = CLOSED_WITHOUT_RECORD.get(description.status)  # type: ignore[arg-type]
        if closed is not None:
            record.status = closed
            record.finished_at = description.close_time
            record.error = RunError(
                name="RunEndedOutsideDurableruns",
                message=f"The run's workflow was {description.status.name.lower()}",  # type: ignore[union-attr]
            )
        else:
            status = description.typed_search_attributes.get(sa.TRIGGER_STATUS)
            record.status = RunStatus(status) if status else record.status
            record.version = description.typed_search_attributes.get(sa.TRIGGER_VERSION)
        record.updated_at = description.close_time or record.updated_at
        return record

    async def _reads_memo(self, run_id: str, first: HistoryEvent) -> bool:
        """Whether the run keeps its state in its memo (then it is read without a query),
        from its start event when ``first`` is that, else as learned before (a follower's
        first page starts with it); unknown runs are queried, as before."""
        if first.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = first.workflow_execution_started_event_attributes.input.payloads
            [run_input] = await self._client.data_converter.decode(payloads, [RunInput])
            if len(self._memo_runs) >= MEMO_RUNS_KEPT:
                self._memo_runs.clear()
            self._memo_runs[run_id] = isinstance(run_input, RunInput) and run_input.record_in_memo
        return self._memo_runs.get(run_id, False)

    async def _start_input(self, handle: WorkflowHandle[Any, Any]) -> RunInput:
        """The run's start input, from the first event of its history."""
        async for event in handle.fetch_history_events(page_size=1):
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                payloads = event.workflow_execution_started_event_attributes.input.payloads
                [run_input] = await self._client.data_converter.decode(payloads, [RunInput])
                if isinstance(run_input, RunInput):
                    return run_input
            break
        raise EngineUnavailableError(f"Run {handle.id} has no start event")

    # --- control -------------------------------------------------------------------------
    async def cancel(self, run_id: str) -> None:
        """Cancel a run; a finished run is left as it is (no error)."""
        await self.require(run_id)
        try:
            await self._handle(run_id).cancel()
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:  # already closed: a no-op
                raise EngineUnavailableError(f"Could not cancel the run: {exc.message}") from exc

    async def reschedule(self, run_id: str, delay_until: datetime) -> RunRecord:
        """Move a DELAYED run's start; RunStateError if it is not DELAYED."""
        record = await self.require(run_id)
        if record.status is not RunStatus.DELAYED:
            raise RunStateError("Cannot reschedule a run that is not delayed")
        try:
            return await self._handle(run_id).execute_update(RunWorkflow.reschedule, delay_until)
        except (WorkflowUpdateFailedError, RPCError) as exc:
            raise _update_refused(exc, "Cannot reschedule a run that is not delayed") from exc

    async def replace_metadata(self, run_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """Replace an unfinished run's metadata."""
        record = await self.require(run_id)
        if is_completed(record.status):
            raise RunStateError(f"Cannot update metadata of a {record.status} run")
        try:
            return await self._handle(run_id).execute_update(RunWorkflow.replace_metadata, metadata)
        except (WorkflowUpdateFailedError, RPCError) as exc:
            raise _update_refused(exc, "Cannot update metadata of a finished run") from exc

    async def add_tags(self, run_id: str, tags: list[str]) -> list[str]:
        """Add tags to an unfinished run (at most ``wire.MAX_TAGS`` in all); the ones it
        did not have yet."""
        record = await self.require(run_id)
        if is_completed(record.status):
            raise RunStateError(f"Cannot add tags to a {record.status} run")
        total = len(set(record.options.tags) | set(tags))
        if total > MAX_TAGS:
            raise InvalidInputError(
                "tags", f"a run has at most {MAX_TAGS} tags; it would have {total}"
            )
        try:
            merged: list[str] = await self._handle(run_id).execute_update(
                RunWorkflow.add_tags, tags
            )
        except (WorkflowUpdateFailedError, RPCError) as exc:
            refusal = "Cannot add tags to a finished run"
            if isinstance(exc, WorkflowUpdateFailedError) and exc.cause is not None:
                refusal = str(exc.cause) or refusal
            raise _update_refused(exc, refusal) from exc
        return [tag for tag in merged if tag not in record.options.tags]

    async def replay(
        self,
        run_id: str,
        *,
        payload: Any = None,
        has_payload: bool = False,
        as_run_id: str | None = None,
        from_step: str | int | None = None,
        **overrides: Any,
    ) -> Triggered:
        """A new run of the same task with the same payload (or the overrides).
        ``as_run_id`` makes it idempotent on that id (a bulk action's replays).
        ``from_step`` reruns from that step (``reruns.py``): the source run's records
        before it answer the new run's calls there."""
        source = await self.require(run_id)
        seed: tuple[JournalEntry, ...] = ()
        cut: int | None = None
        if from_step is not None:
            journal = await self._journal(run_id)
            cut = cut_position(journal, from_step)
            seed = seed_before(journal, cut)
        options = source.options.model_copy(
            update={
                "replayed_from": source.id,
                "replayed_from_step": cut,
                "debounce": None if cut is not None else source.options.debounce,
                "idempotency_key": None,
                "idempotency_key_hash": None,
                "idempotency_key_expires_at": None,
                "delay_until": None,
                "lock_to_version": None,
                "schedule_id": None,  # a replay is not a tick of the schedule
                **overrides,
            }
        )
        return await self.trigger(
            source.task_id,
            payload if has_payload else source.payload,
            options,
            run_id=as_run_id,
            seed_journal=seed,
        )

    async def _journal(self, run_id: str) -> tuple[JournalEntry, ...]:
        """The run's journal (its ``attempt_state`` query; a finished run's is replayed
        from its history by a worker)."""
        try:
            state = await self._handle(run_id).query(
                RunWorkflow.attempt_state, rpc_timeout=QUERY_TIMEOUT
            )
        except (RPCError, WorkflowQueryFailedError) as exc:
            raise EngineUnavailableError(f"Could not read the run's journal: {exc}") from exc
        return state.journal

    def _handle(self, run_id: str) -> WorkflowHandle[RunWorkflow, RunRecord]:
        return self._client.get_workflow_handle_for(RunWorkflow.run, run_id)


async def _record_from_state(
    run_input: RunInput, description: WorkflowExecutionDescription
) -> RunRecord:
    """A running run's record from its memo, search attributes and input (``run_state.py``);
    the final record once the run ended and its workflow runs the task's final hooks."""
    memo = await description.memo()
    if RECORD_MEMO in memo:
        return RunRecord.model_validate(memo[RECORD_MEMO])
    attributes = description.typed_search_attributes
    return record_from_state(
        run_input,
        memo.get(STATE_MEMO),
        attributes.get(sa.TRIGGER_STATUS),
        attributes.get(sa.TRIGGER_VERSION),
    )


async def _closed_record(
    handle: WorkflowHandle[Any, RunRecord], description: WorkflowExecutionDescription
) -> RunRecord | None:
    """The record a run's workflow closed with when it failed (in the failure) or was
    canceled (in its memo); None for any other workflow (see ``engine/workflows/run_close.py``)."""
    if description.status is WorkflowExecutionStatus.FAILED:
        try:
            await handle.result()
        except WorkflowFailureError as exc:
            return record_from_failure(exc.cause)
    elif description.status is WorkflowExecutionStatus.CANCELED:
        memo = await description.memo()
        if RECORD_MEMO in memo:
            return RunRecord.model_validate(memo[RECORD_MEMO])
    return None


def _update_refused(exc: Exception, refusal: str) -> EngineUnavailableError | RunStateError:
    """What a failed Update of a run means: the run refused it (or closed meanwhile), or
    Temporal could not be reached — a 400 and a 503 are different answers."""
    if isinstance(exc, RPCError) and exc.status not in _CLOSED_RUN_STATUSES:
        return EngineUnavailableError(f"{refusal.split(' a ')[0]}: {exc.message}")
    return RunStateError(refusal)
