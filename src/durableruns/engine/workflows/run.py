"""The run workflow: one Temporal workflow execution per run (workflow id = run id).

It owns the run's Trigger-level state and every rule about time:

- DELAYED: a timer until ``delay_until`` that ``reschedule`` can move;
- QUEUED and TTL: the first attempt must start before the TTL, else EXPIRED;
- attempts: the retry loop and its backoff timers live here, so every attempt has its
  own record; each attempt is one or more *executions* of the attempt activity, each
  offered first on the runs queue, so the worker completing the workflow task takes it
  at once (eager activity dispatch), else run on its task's queue;
- WAITING: an execution that reaches waits ends with them (it *suspends*); the
  workflow performs them (child runs, timers: :mod:`.run_waits`) while nothing runs,
  then starts a *continuation* — the same attempt, re-running the task's code with its
  earlier calls answered from the journal (the ``attempt_state`` query);
- CANCELED: Temporal cancellation of this workflow; waited-for children are canceled
  with it (parent close policy REQUEST_CANCEL).

Queue slots are :mod:`.run_slots`, waits and the journal :mod:`.run_waits`, the rules of
debounce :mod:`.run_control`. The status is published as search attributes on every
change; ``get`` answers the whole record. Runs started with ``record_in_memo`` also keep
the state that changes while they run in the memo (``run_state.py``), so they are read
without a query. An execution's start arrives with its outcome
(``AttemptOutput.started``) and, from one that runs longer than its worker's
``announce_after_s``, earlier by the ``attempt_started`` signal.

Why one long module: the handlers (signals, Updates, queries) and the phases of a run
read and change one state machine — the record, the attempt counters, the slot, the
waits — and Temporal requires every handler on the workflow class. The logic that
stands on its own is in composed helpers (:class:`RunWaits`, :class:`RunSlots`,
:mod:`.run_control`, :mod:`.run_close`); what is left here is the state machine.

Runs of earlier engines (still replaying, still finishing) keep their handlers, unchanged
in the commands they make, in the last section of the class: the *first* engine announced
an attempt's start with the ``attempt_starting`` Update and kept its TTL as a timer racing
that start (recognised by its input, :func:`started_by_first_engine`, not a patch marker,
so today's runs pay no marker event); runs started before attempts suspended asked for
children and timers with the ``wait_for_runs`` and ``wait_until`` Updates from a live
attempt. Both share the run's children and timers, so a resumed attempt of such a run is
answered from the same journal.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, TimeoutType
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from durableruns.debounce import DebounceRequest
    from durableruns.durations import format_duration
    from durableruns.engine import search_attributes as sa
    from durableruns.engine.names import (
        ATTEMPT_ACTIVITY,
        ATTEMPT_ELSEWHERE_TYPES,
        HOOKS_ACTIVITY,
        INPUT_CONSUMED_SIGNAL,
        INPUT_SENT_SIGNAL,
        INPUT_VALUES_QUERY,
        RECORD_MEMO,
        RUN_WORKFLOW,
        SLOT_GRANTED_SIGNAL,
        TOKEN_COMPLETED_SIGNAL,
        task_queue,
    )
    from durableruns.engine.workflows import run_control as control
    from durableruns.engine.workflows.attempt_failure import failure_from_activity_error
    from durableruns.engine.workflows.run_close import (
        CLOSE_STATUS_PATCH,
        closes_failed,
        closing_error,
        fitted_record,
    )
    from durableruns.engine.workflows.run_slots import RunSlots, execution_priority
    from durableruns.engine.workflows.run_waits import RunWaits
    from durableruns.error_group_models import GROUPED_STATUSES, group_id_of
    from durableruns.hook_models import HooksInput, HooksOutput, kinds_for
    from durableruns.input_models import InputConsumed, InputQuery, InputSent, InputValues
    from durableruns.log_models import LogBatch
    from durableruns.models import (
        RETRY_DELAY_PATCH,
        AttemptFailure,
        AttemptInput,
        AttemptOutput,
        AttemptRecord,
        AttemptStarted,
        AttemptState,
        ChildRunResult,
        ChildRunsRequest,
        RunError,
        RunInput,
        RunRecord,
        StepRecord,
        Suspension,
        WaitRequest,
        WaitSpec,
    )
    from durableruns.run_state import STATE_MEMO, attempt_id, state_of
    from durableruns.status import RUN_STATUS_AFTER_ATTEMPT, AttemptStatus, RunStatus, is_completed
    from durableruns.stream_models import StreamBatch, StreamTally, chunk_size
    from durableruns.wait_tokens import TokenCompletion

HEARTBEAT_TIMEOUT = timedelta(seconds=50)
"""A worker silent this long is considered gone; its attempt is retried elsewhere.
Executions beat every 30 s (``Settings.heartbeat_every_s``): 2 actions a minute on
Temporal Cloud, a lost worker noticed within 50 s. Earlier code scheduled with 10 s,
and the worker beats by each execution's own timeout; the command's other fields are
unchanged and Temporal does not compare timeouts on replay, so no patch marker (two
history events per run) is needed."""
ATTEMPT_SERVER_TIMEOUT = timedelta(days=3650)
"""The server-side cap of an execution. ``max_duration`` is enforced by the attempt
itself, because time spent WAITING must not count towards it; liveness is the
heartbeat's job."""

CANCELED_OUTCOME_PATCH = "canceled-execution-outcome"
"""``workflow.patched`` id of waiting, when the run is canceled, for the outcome of an
execution whose start the run does not know (one that has not announced it yet, or a
cancel before the start): the outcome brings the start and the task's once-per-run
hooks, so the attempt ends CANCELED and ``on_cancel`` runs. Asked only on that path,
so other runs pay no marker; runs canceled before it closed without waiting."""
CANCELED_OUTCOME_WAIT = timedelta(seconds=5)
"""How long a canceled run waits for that outcome: the worker stops the code within
about a second (``task_process.CANCEL_GRACE_S``); a lost worker must not hold the
cancel for the heartbeat timeout (its attempt then stays unrecorded, as before)."""

HOOKS_PATCH = "run-final-hooks"
"""``workflow.patched`` id of the hooks activity; asked only by runs whose task has
once-per-run hooks, so a run without them pays no marker."""
HOOKS_START_TO_CLOSE = timedelta(minutes=10)
"""The hooks of one run (each bounded by the worker at ``hooks.HOOK_TIMEOUT_S``)."""
HOOKS_SCHEDULE_TO_CLOSE = timedelta(minutes=30)
"""How long a run waits for a worker of its version to run its hooks (then closes)."""

Outcome = AttemptFailure | Suspension | None
"""How an execution ended: failed, suspended at waits, or (None) completed the run."""


@workflow.defn(name=RUN_WORKFLOW)
class RunWorkflow:
    """Runs a task: delay, TTL, attempts with retries, waits, and the run's status."""

    @workflow.init
    def __init__(self, input: RunInput) -> None:
        self._input = input
        self._run = RunRecord.from_input(input)
        self._waits = RunWaits(self._run, input)
        self._slots = RunSlots()
        self._attempt_ids: dict[int, str] = {}
        self._started_attempts: set[int] = set()
        self._published_version: str | None = None
        self._outstanding: int | None = None
        self._input_replaced = False
        self._tags_added = False
        self._elapsed_s: dict[int, float] = {}
        self._scheduled_at: dict[int, datetime] = {}
        self._delay_moved = False
        self._waits_in_progress = 0
        self._streams = StreamTally()
        self._final_hooks: tuple[str, ...] = ()

    @workflow.run
    async def run(self, input: RunInput) -> RunRecord:
        """Execute the run to a final status; returns the final record."""
        run = self._record()
        try:
            await self._stay_delayed()
            # After the delay: a trailing debounce may have replaced the input meanwhile.
            await self._attempt_until_done(self._run_input())
        except asyncio.CancelledError:
            self._finish(RunStatus.CANCELED, RunError(name="Canceled", message="Run canceled"))
            await self._slots.give_back(input)
            await self._run_final_hooks()
            if workflow.patched(CLOSE_STATUS_PATCH):
                workflow.upsert_memo({RECORD_MEMO: self._fitted().model_dump(mode="json")})
                raise  # the workflow closes Canceled, as the run did
            return self._fitted()
        await self._run_final_hooks()
        run = self._fitted()
        if closes_failed(run.status) and workflow.patched(CLOSE_STATUS_PATCH):
            raise closing_error(run)  # the workflow closes Failed, as the run did
        return run

    def _fitted(self) -> RunRecord:
        """The final record, made to fit what Temporal can record (``run_close``)."""
        self._run = fitted_record(self._record(), self._run_input().record_limit_bytes)
        return self._run

    # --- queries, signals and updates -------------------------------------------------
    @workflow.query
    def get(self) -> RunRecord:
        """The run's current record, with the attempt of an outstanding execution that
        has not announced its start (``service/running_attempt.py`` completes it)."""
        run = self._record()
        number = self._outstanding
        if number is None or any(a.number == number for a in run.attempts):
            return run
        pending = AttemptRecord(
            id=self._attempt_ids.get(number, ""),
            number=number,
            created_at=self._scheduled_at.get(number, run.created_at),
        )
        return run.model_copy(update={"attempts": [*run.attempts, pending]})

    @workflow.query
    def attempt_state(self) -> AttemptState:
        """What a resumed execution reads: payload, metadata and the journal."""
        return AttemptState(
            payload=self._run_input().payload,
            metadata=self._record().metadata,
            journal=self._waits.journal(),
            input_cursors=self._waits.inputs.cursors(),
        )

    @workflow.signal
    def attempt_started(self, started: AttemptStarted) -> None:
        """An execution's worker is about to run the task's code."""
        run = self._record()
        self._final_hooks = started.final_hooks or self._final_hooks
        if is_completed(run.status):
            return  # canceled meanwhile: the attempt is being canceled too
        self._started_attempts.add(started.attempt_number)
        attempt = self._attempt_record(started.attempt_number)
        attempt.started_at = attempt.started_at or started.started_at
        run.version = started.version
        run.started_at = run.started_at or started.started_at
        run.waits = []
        self._set_status(
            RunStatus.WAITING if self._waits_in_progress else RunStatus.EXECUTING,
            sa.TRIGGER_VERSION.value_set(started.version),
        )
        self._published_version = started.version

    @workflow.signal(name=SLOT_GRANTED_SIGNAL)
    def slot_granted(self) -> None:
        """The run's queue granted it a slot."""
        self._slots.granted = True

    @workflow.signal
    def metadata_flushed(self, metadata: dict[str, Any]) -> None:
        """Task code changed the run's metadata (sent by its attempt)."""
        self._set_metadata(metadata)

    @workflow.signal
    def log_lines(self, batch: LogBatch) -> None:
        """Log lines of the running execution: kept in history (read from there), counted
        here so the run's bound holds across executions."""
        self._record().log_count += len(batch.lines)

    @workflow.signal
    def step_recorded(self, step: StepRecord) -> None:
        """A step of the running execution returned (it is not run again)."""
        self._waits.record_step(step)

    @workflow.signal
    def short_wait_recorded(self, wait: WaitSpec) -> None:
        """A short timer the execution waits for in its own process."""
        if wait.until is not None:
            self._waits.record_timer(wait.position, wait.until)

    @workflow.signal(name=TOKEN_COMPLETED_SIGNAL)
    def token_completed(self, completion: TokenCompletion) -> None:
        """A wait token this run registered for ended (it may arrive before the wait)."""
        self._waits.token_ended(completion)

    @workflow.signal
    def stream_chunks(self, batch: StreamBatch) -> None:
        """Chunks of a stream (``ctx.stream``) of the running execution. The chunks stay
        in history (read back by ``service/run_streams.py``); here they are only tallied
        (offsets per key, totals), so each execution continues the offsets and the run's
        bound holds across executions, and a new key is listed in the record, where the
        official client's ``withStreams`` learns of it."""
        size = sum(chunk_size(chunk) for chunk in batch.chunks)
        self._streams = self._streams.after(batch, size)
        run = self._record()
        if batch.key not in run.streams:
            run.streams.append(batch.key)
            run.updated_at = workflow.now()
            self._publish_state()

    @workflow.signal(name=INPUT_SENT_SIGNAL)
    def input_sent(self, sent: InputSent) -> None:
        """A value sent to one of the run's input streams: kept, in order, until the
        code consumes it (``run_inputs``); a finished run ignores it."""
        if not is_completed(self._record().status):
            self._waits.inputs.sent(sent)

    @workflow.signal(name=INPUT_CONSUMED_SIGNAL)
    def input_consumed(self, consumed: InputConsumed) -> None:
        """The running execution consumed an input-stream value in its process."""
        self._waits.inputs.consumed(consumed)

    @workflow.query(name=INPUT_VALUES_QUERY)
    def input_values(self, query: InputQuery) -> InputValues:
        """An input stream's values from an index, for an execution that listens."""
        return self._waits.inputs.values(query)

    @workflow.update
    def reschedule(self, delay_until: datetime) -> RunRecord:
        """Move a DELAYED run's start."""
        self._move_start(delay_until)
        return self._record()

    @reschedule.validator
    def _only_delayed_runs_reschedule(self, delay_until: datetime) -> None:
        control.check_reschedulable(self._record())

    @workflow.update
    def debounce(self, request: DebounceRequest) -> str:
        """A later trigger with this run's debounce key: start no earlier than
        ``delay_until``; in trailing mode, with the trigger's values."""
        run = self._record()
        if control.moves_start(run, request):
            self._move_start(request.delay_until)
        if request.trailing:
            self._input = control.trailing_input(self._input, run, request)
            self._input_replaced = True
            self._set_metadata(request.metadata)
            workflow.upsert_search_attributes([sa.TRIGGER_TAGS.value_set(list(request.tags))])
        return run.id

    @debounce.validator
    def _only_debounce_within_the_window(self, request: DebounceRequest) -> None:
        control.check_debounce(self._record(), request)

    @workflow.update
    def replace_metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Replace the run's metadata (from the API)."""
        self._set_metadata(metadata)
        return metadata

    @workflow.update
    def add_tags(self, tags: list[str]) -> list[str]:
        """Add tags (the API's ``POST /api/v1/runs/{id}/tags``, task code's ``tags.add``);
        answers the run's tags. Idempotent: tags the run has are kept once."""
        run = self._record()
        merged = control.merged_tags(run.options.tags, tags)
        if merged != run.options.tags:
            run.options = run.options.model_copy(update={"tags": merged})
            run.updated_at = workflow.now()
            workflow.upsert_search_attributes([sa.TRIGGER_TAGS.value_set(list(merged))])
            self._tags_added = True
            self._publish_state()
        return list(merged)

    @add_tags.validator
    def _tags_fit(self, tags: list[str]) -> None:
        control.check_tags(self._record(), tags)

    def _move_start(self, delay_until: datetime) -> None:
        run = self._record()
        run.delayed_until = delay_until
        run.updated_at = workflow.now()
        self._delay_moved = True
        self._publish_state()

    # --- the phases of a run -----------------------------------------------------------
    async def _stay_delayed(self) -> None:
        """DELAYED until ``delayed_until``, which ``reschedule`` may move meanwhile."""
        run = self._record()
        while run.delayed_until is not None:
            remaining = run.delayed_until - workflow.now()
            if remaining <= timedelta(0):
                break
            self._set_status(RunStatus.DELAYED)
            self._delay_moved = False
            try:
                await workflow.wait_condition(lambda: self._delay_moved, timeout=remaining)
            except TimeoutError:
                break
        self._set_status(run.options.ready_status)

    async def _attempt_until_done(self, input: RunInput) -> None:
        """Attempts until one succeeds, one fails for good, or the TTL expires first.

        The TTL is the first execution's schedule-to-start timeout: Temporal itself
        makes sure an attempt that was not picked up in time never starts.
        """
        ttl = input.options.ttl_s
        deadline = workflow.now() + timedelta(seconds=ttl) if ttl else None
        number = 0
        while True:
            number += 1
            first = number == 1
            if not await self._take_slot(deadline if first else None):
                return self._expire(ttl or 0)
            ttl_timer = first and deadline is not None and started_by_first_engine(input)
            if first and deadline and deadline <= workflow.now() and not ttl_timer:
                await self._slots.give_back(input)
                return self._expire(ttl or 0)
            start_by = deadline if first and not ttl_timer else None
            try:
                if ttl_timer and deadline:
                    execution = self._start_execution(input, number, 0, None)
                    if not await self._started_before(execution, deadline):
                        execution.cancel()
                        await self._slots.give_back(input)
                        return self._expire(ttl or 0)
                    outcome = await self._outcome(execution, number)
                else:
                    outcome = await self._offered_outcome(input, number, 0, start_by)
            except _NotStartedInTime:
                await self._slots.give_back(input)
                return self._expire(ttl or 0)
            await self._slots.give_back(input)
            continuation = 0
            while isinstance(outcome, Suspension):
                continuation += 1
                outcome = await self._resume(input, number, continuation, outcome)
            if outcome is None:
                return
            if outcome.ends_run(number, input.options.max_attempts):
                self._finish(RUN_STATUS_AFTER_ATTEMPT[outcome.status], outcome.error)
                return
            random_unit = workflow.random().random()
            if workflow.patched(RETRY_DELAY_PATCH):
                delay_ms = outcome.retry.delay_ms(number, random_unit)
            else:
                delay_ms = outcome.retry.delay_ms_capped_before_random(number, random_unit)
            # catch_error may have named the time (or delay) of the next attempt.
            delay_ms = outcome.asked_delay_ms(workflow.now(), delay_ms)
            self._publish_state()  # the failed attempt, before the next one
            await workflow.sleep(timedelta(milliseconds=delay_ms))

    async def _resume(
        self, input: RunInput, number: int, continuation: int, suspension: Suspension
    ) -> Outcome:
        """Perform a suspension's waits (WAITING, holding nothing), then the next
        execution of the same attempt."""
        run, attempt = self._record(), self._attempt_record(number)
        self._elapsed_s[number] = self._elapsed_s.get(number, 0.0) + suspension.ran_s
        suspended_at = workflow.now()
        run.waits = list(suspension.waits)
        self._set_status(RunStatus.WAITING if suspension.waits else RunStatus.QUEUED)
        try:
            await self._waits.perform(suspension.waits, self._publish_state)
        except asyncio.CancelledError:
            self._end_attempt(number, AttemptStatus.CANCELED, None)
            raise
        if input.options.concurrency_limit:
            self._set_status(RunStatus.QUEUED)
        await self._take_slot(None)
        attempt.suspended_s += (workflow.now() - suspended_at).total_seconds()
        attempt.continuations = continuation
        resumed_from = suspension.waits[0] if suspension.waits else None
        outcome = await self._offered_outcome(input, number, continuation, None, resumed_from)
        await self._slots.give_back(input)
        return outcome

    async def _offered_outcome(
        self,
        input: RunInput,
        number: int,
        continuation: int,
        start_by: datetime | None,
        resumed_from: WaitSpec | None = None,
    ) -> Outcome:
        """An execution offered on the runs queue, this workflow's own: Temporal then
        hands it to the worker completing this workflow task in the same round trip
        (eager activity dispatch), with no poll of the task's queue. A worker that cannot
        run it (another version, not the task, an earlier release) refuses at once, and
        the execution goes to the task's own queue. Executions of runs not pinned to a
        version go there directly (the version-less queue). ``start_by`` (the TTL) bounds
        the start on either queue: past it, ``_NotStartedInTime``."""
        execution = self._start_execution(
            input, number, continuation, start_by, resumed_from, offered=True
        )
        try:
            return await self._outcome(execution, number)
        except _ServedElsewhere:
            if start_by is not None and start_by <= workflow.now():
                raise _NotStartedInTime() from None
            execution = self._start_execution(input, number, continuation, start_by, resumed_from)
            return await self._outcome(execution, number)

    def _start_execution(
        self,
        input: RunInput,
        number: int,
        continuation: int,
        start_by: datetime | None,
        resumed_from: WaitSpec | None = None,
        *,
        offered: bool = False,
    ) -> workflow.ActivityHandle[AttemptOutput]:
        """An execution of attempt ``number``: its first (0) or a continuation (after
        the wait ``resumed_from``, for the task's ``on_resume`` hooks); ``offered``: on
        the runs queue first (:meth:`_offered_outcome`), if the run has a version."""
        version = self._execution_version(input, continuation)
        offered_to = version if offered else None
        queue = task_queue(input.task_queue_prefix, input.task_id, version)
        if offered_to is not None:
            queue = workflow.info().task_queue
        if continuation == 0 and number not in self._attempt_ids:
            self._attempt_ids[number] = (
                attempt_id(input.run_id, number)
                if input.record_in_memo
                else f"attempt_{workflow.uuid4().hex[:24]}"
            )
            self._scheduled_at[number] = workflow.now()
        from_run = continuation > 0 or self._waits.has_records
        return workflow.start_activity(
            ATTEMPT_ACTIVITY,
            AttemptInput(
                run_id=input.run_id,
                task_id=input.task_id,
                attempt_id=self._attempt_ids[number],
                attempt_number=number,
                payload=None if from_run else input.payload,
                options=input.options,
                run_created_at=input.created_at,
                metadata=None if from_run else self._record().metadata,
                continuation=continuation,
                from_run=from_run,
                elapsed_s=self._elapsed_s.get(number, 0.0),
                logs_recorded=self._record().log_count,
                streams=self._streams,
                resumed_from=resumed_from,
                offered_to=offered_to,
            ),
            result_type=AttemptOutput,
            task_queue=queue,
            activity_id=f"attempt-{number}" + (f".{continuation}" if continuation else ""),
            start_to_close_timeout=ATTEMPT_SERVER_TIMEOUT,
            schedule_to_start_timeout=(start_by - workflow.now()) if start_by else None,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=1),
            # Its outcome after a cancel reaches the run (``_cancel_execution``); the
            # type is the SDK's own, not in the scheduling command: histories replay.
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            priority=execution_priority(input.options),
        )

    def _execution_version(self, input: RunInput, continuation: int) -> str | None:
        """Attempts run on the run's pinned version (None: the version-less queue);
        continuations on the version that ran the attempt, so the same code resumes."""
        version = input.options.lock_to_version
        if continuation:
            version = self._record().version or version
        return version

    async def _run_final_hooks(self) -> None:
        """The task's once-per-run hooks (``on_success`` …), after the final status is
        decided and published: a short activity in the task's process on the version that
        ran the run, only when an execution said the task has hooks for this status. A
        cancel arriving meanwhile does not stop them (the run has ended), and what they do
        never changes the run: a failed hook is logged with the run by the worker."""
        input = self._run_input()
        if not set(kinds_for(self._record().status)) & set(self._final_hooks):
            return
        if not workflow.patched(HOOKS_PATCH):
            return
        run = self._fitted()
        if input.record_in_memo:  # read without a query: the final record, while hooks run
            workflow.upsert_memo({RECORD_MEMO: run.model_dump(mode="json")})
        hooks = workflow.start_activity(
            HOOKS_ACTIVITY,
            HooksInput(run_id=input.run_id, task_id=input.task_id, status=run.status),
            result_type=HooksOutput,
            task_queue=task_queue(
                input.task_queue_prefix, input.task_id, run.version or input.options.lock_to_version
            ),
            activity_id="hooks",
            start_to_close_timeout=HOOKS_START_TO_CLOSE,
            schedule_to_close_timeout=HOOKS_SCHEDULE_TO_CLOSE,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        while not hooks.done():
            try:
                await asyncio.shield(hooks)
            except asyncio.CancelledError:
                continue  # a cancel after the final status: the hooks run on
            except ActivityError:
                return  # they could not run (no worker of the version in time)

    def _expire(self, ttl: float) -> None:
        self._record().expired_at = workflow.now()
        message = f"Run expired because the TTL ({format_duration(ttl)}) was reached"
        self._finish(RunStatus.EXPIRED, RunError(name="Expired", message=message))

    async def _take_slot(self, deadline: datetime | None) -> bool:
        """QUEUED until the run's queue (if limited) grants a slot, then DEQUEUED.
        False when the deadline (the TTL) passed first."""
        input = self._run_input()
        if not input.options.concurrency_limit or self._slots.granted:
            return True
        if not await self._slots.take(input, deadline):
            return False
        self._set_status(RunStatus.DEQUEUED)
        return True

    async def _outcome(
        self, execution: workflow.ActivityHandle[AttemptOutput], number: int
    ) -> Outcome:
        """Await an execution: None when the run completed, its suspension, or why it failed."""
        self._outstanding = number
        try:
            # Not ``await execution``: a cancel of the run must not cancel the execution
            # by itself (``_cancel_execution`` does, then may wait for its outcome).
            await workflow.wait([execution])
            result = execution.result()
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ActivityTimeoutError) and (
                cause.type is TimeoutType.SCHEDULE_TO_START
            ):
                raise _NotStartedInTime() from err
            if isinstance(cause, ApplicationError) and cause.type in ATTEMPT_ELSEWHERE_TYPES:
                raise _ServedElsewhere() from err
            if isinstance(err.cause, CancelledError):  # this run is being canceled
                self._end_attempt(number, AttemptStatus.CANCELED, None)
                raise asyncio.CancelledError() from err
            failure = failure_from_activity_error(err)
            self._note_start(failure.started)
            self._end_attempt(number, failure.status, failure.error)
            return failure
        except asyncio.CancelledError:
            await self._cancel_execution(execution, number)
            raise
        finally:
            self._outstanding = None
        self._note_start(result.started)
        if result.suspended is not None:
            return result.suspended
        self._end_attempt(number, AttemptStatus.COMPLETED, None)
        self._record().output = result.output
        self._finish(RunStatus.COMPLETED)
        return None

    async def _cancel_execution(
        self, execution: workflow.ActivityHandle[AttemptOutput], number: int
    ) -> None:
        """The run is canceled while ``execution`` is outstanding: cancel it and end its
        attempt CANCELED.

        When the run does not know the execution's start (it has not announced it, or
        had not started), the execution's outcome tells: executions are scheduled with
        ``WAIT_CANCELLATION_COMPLETED``, so their outcome reaches the run; an execution
        that has not announced answers the cancel with the start (``AttemptFailure.started``), an
        execution that never started is canceled by the server at once. The wait is
        bounded by :data:`CANCELED_OUTCOME_WAIT` (a timer, only on this path). Runs that
        know the start, and runs canceled before :data:`CANCELED_OUTCOME_PATCH`, go on at
        once, with the commands they always made."""
        execution.cancel()
        # One turn of the loop: the execution's task sends its cancel command before any
        # command of the run's (the order of the histories recorded when the run awaited it).
        await asyncio.sleep(0)
        if number not in self._started_attempts and workflow.patched(CANCELED_OUTCOME_PATCH):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(execution.done, timeout=CANCELED_OUTCOME_WAIT)
            self._note_start(reported_start(execution))
        self._end_attempt(number, AttemptStatus.CANCELED, None)

    # --- state ---------------------------------------------------------------------------
    def _record(self) -> RunRecord:
        return self._run

    def _run_input(self) -> RunInput:
        return self._input

    def _attempt_record(self, number: int) -> AttemptRecord:
        """The record of attempt ``number``, created on first mention (start or end)."""
        run = self._record()
        for attempt in run.attempts:
            if attempt.number == number:
                return attempt
        created = self._scheduled_at.get(number, workflow.now())  # before it started
        attempt = AttemptRecord(
            id=self._attempt_ids.get(number, ""), number=number, created_at=created
        )
        run.attempts.append(attempt)
        run.attempts.sort(key=lambda a: a.number)
        return attempt

    def _end_attempt(self, number: int, status: AttemptStatus, error: RunError | None) -> None:
        if number not in self._started_attempts and status is AttemptStatus.CANCELED:
            return  # canceled before it ever started: it was never an attempt
        attempt = self._attempt_record(number)
        attempt.status = status
        attempt.error = error
        attempt.finished_at = workflow.now()

    def _note_start(self, started: AttemptStarted | None) -> None:
        """The start an execution reported with its outcome. Workers that announce
        starts (``attempt_started``) recorded it already; others did not, and the run
        learns it here, with no command: the version is published with the final status.
        Histories of earlier workers carry no start in outcomes, so they replay as ever."""
        if started is None:
            return
        self._final_hooks = started.final_hooks or self._final_hooks
        run = self._record()
        self._started_attempts.add(started.attempt_number)
        attempt = self._attempt_record(started.attempt_number)
        attempt.started_at = attempt.started_at or started.started_at
        run.started_at = run.started_at or started.started_at
        run.version = started.version

    def _set_metadata(self, metadata: dict[str, Any] | None) -> None:
        run = self._record()
        run.metadata = metadata
        run.updated_at = workflow.now()
        self._publish_state()

    def _publish_state(self) -> None:
        """Runs read without a query (``RunInput.record_in_memo``): what changed, in the
        memo (``run_state.py``; one history event, not a Temporal Cloud action). Earlier
        runs never make this command, so their histories replay unchanged."""
        if self._input.record_in_memo:
            state = state_of(
                self._record(), input_replaced=self._input_replaced, tags_added=self._tags_added
            )
            workflow.upsert_memo({STATE_MEMO: state})

    def _finish(self, status: RunStatus, error: RunError | None = None) -> None:
        run = self._record()
        if is_completed(run.status):
            return
        run.error = error
        run.finished_at = workflow.now()
        run.waits = []
        # In the status's own upsert: the list shows the same duration as retrieve.
        also: list[SearchAttributeUpdate[Any]] = [sa.TRIGGER_DURATION_MS.value_set(run.duration_ms)]
        if run.version and run.version != self._published_version:  # not announced
            also.append(sa.TRIGGER_VERSION.value_set(run.version))
            self._published_version = run.version
        # A failed run's error group rides on the same upsert: no action of its own.
        # (Replay does not compare an upsert's attributes: older runs replay unchanged.)
        if status in GROUPED_STATUSES and error is not None:
            also.append(sa.TRIGGER_ERROR_GROUP.value_set([group_id_of(run.task_id, error)]))
        self._set_status(status, *also)

    def _set_status(self, status: RunStatus, *also: SearchAttributeUpdate[Any]) -> None:
        """Change the status and publish it (with ``also``, in one upsert)."""
        run = self._record()
        if is_completed(run.status) or (run.status is status and not also):
            return
        run.status = status
        run.updated_at = workflow.now()
        workflow.upsert_search_attributes([sa.TRIGGER_STATUS.value_set(status.value), *also])

    # --- runs of earlier engines (see the module's docstring) ----------------------------
    @workflow.update
    def attempt_starting(self, started: AttemptStarted) -> bool:
        """First engine: the attempt's worker is about to run the code; False: don't."""
        run = self._record()
        if is_completed(run.status):
            return False  # expired or canceled while the attempt was on its way
        self._started_attempts.add(started.attempt_number)
        attempt = self._attempt_record(started.attempt_number)
        attempt.started_at = started.started_at
        run.version = started.version
        run.started_at = run.started_at or started.started_at
        workflow.upsert_search_attributes([sa.TRIGGER_VERSION.value_set(started.version)])
        self._published_version = started.version
        self._set_status(RunStatus.WAITING if self._waits_in_progress else RunStatus.EXECUTING)
        return True

    async def _started_before(
        self, attempt: workflow.ActivityHandle[AttemptOutput], deadline: datetime
    ) -> bool:
        """First engine's TTL: whether the first attempt started before ``deadline``."""
        try:
            await workflow.wait_condition(
                lambda: 1 in self._started_attempts or attempt.done(),
                timeout=deadline - workflow.now(),
            )
        except TimeoutError:
            return False
        return True

    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def wait_for_runs(self, request: ChildRunsRequest) -> list[ChildRunResult]:
        """Before suspension: start child runs (once per call position), wait for all."""
        tasks = self._waits.children_of(request.position, request.items, request.batch)
        await self._enter_wait()
        try:
            return [await task for task in tasks]
        finally:
            await self._leave_wait()

    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def wait_until(self, request: WaitRequest) -> None:
        """Before suspension: a durable timer; the first request at a position fixes its end."""
        await self._enter_wait()
        try:
            await self._waits.sleep_until(request.position, request.until)
        finally:
            await self._leave_wait()

    async def _enter_wait(self) -> None:
        """WAITING while at least one wait is in progress, holding no queue slot."""
        self._waits_in_progress += 1
        self._set_status(RunStatus.WAITING)
        if self._waits_in_progress == 1:
            await self._slots.give_back(self._run_input())

    async def _leave_wait(self) -> None:
        """After the last wait, take a slot again (QUEUED until granted), EXECUTING."""
        self._waits_in_progress -= 1
        if self._waits_in_progress:
            return
        input = self._run_input()
        if input.options.concurrency_limit:
            self._set_status(RunStatus.QUEUED)
            await self._take_slot(None)
        self._set_status(RunStatus.EXECUTING)


def started_by_first_engine(input: RunInput) -> bool:
    """Whether the first engine started this run: its options have no
    ``concurrency_limit`` field (that engine predates queues; every later run has it)."""
    return "concurrency_limit" not in input.options.model_fields_set


def reported_start(execution: workflow.ActivityHandle[AttemptOutput]) -> AttemptStarted | None:
    """The start a finished execution reported with its outcome (None: it has not
    finished, never started, or its worker did not say)."""
    if not execution.done() or execution.cancelled():
        return None
    err = execution.exception()
    if err is None:
        return execution.result().started
    if isinstance(err, ActivityError):
        return failure_from_activity_error(err).started
    return None


class _NotStartedInTime(Exception):
    """The first attempt was not picked up before the TTL: the run expires."""


class _ServedElsewhere(Exception):
    """The worker that took an offered execution cannot run it (it never started)."""
