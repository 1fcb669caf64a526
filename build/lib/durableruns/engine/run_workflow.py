"""The run workflow: one Temporal workflow execution per run (workflow id = run id).

It owns the run's Trigger-level state and every rule about time:

- DELAYED: a timer until ``delay_until`` that ``reschedule`` can move;
- QUEUED and TTL: the first attempt must start before the TTL timer fires, else EXPIRED;
- attempts: one execution of the attempt activity each, on the task's own queue, with
  the retry loop and its backoff timers here, so every attempt has its own record;
- WAITING: task code asks (Updates) for child runs (child workflows keyed by the
  call's position) or durable timers, and awaits them while its attempt heartbeats;
- CANCELED: Temporal cancellation of this workflow; waited-for children are canceled
  with it (parent close policy REQUEST_CANCEL).

The status is published as search attributes on every change; ``get`` answers the
whole record.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    TimeoutType,
)
from temporalio.exceptions import (
    TimeoutError as ActivityTimeoutError,
)

with workflow.unsafe.imports_passed_through():
    from durableruns.durations import format_duration
    from durableruns.engine import search_attributes as sa
    from durableruns.engine.queue_slots import SLOT_GRANTED_SIGNAL, enqueue, queue_workflow_id
    from durableruns.engine.task_queues import task_queue
    from durableruns.ids import derived_run_id
    from durableruns.models import (
        AttemptFailure,
        AttemptInput,
        AttemptOutput,
        AttemptRecord,
        AttemptStarted,
        ChildRunResult,
        ChildRunSpec,
        ChildRunsRequest,
        RunError,
        RunInput,
        RunRecord,
        SlotRequest,
        WaitRequest,
    )
    from durableruns.status import RUN_STATUS_AFTER_ATTEMPT, AttemptStatus, RunStatus, is_completed

ATTEMPT_ACTIVITY = "durableruns.attempt"
ATTEMPT_FAILURE_TYPE = "durableruns.AttemptFailure"
"""ApplicationError type the attempt activity uses to report a classified failure."""
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""A worker silent this long is considered gone; its attempt is retried elsewhere."""
ATTEMPT_SERVER_TIMEOUT = timedelta(days=3650)
"""The server-side cap of an attempt. ``max_duration`` is enforced by the attempt itself,
because time spent WAITING must not count towards it; liveness is the heartbeat's job."""


@workflow.defn(name="durableruns.run")
class RunWorkflow:
    """Runs a task: delay, TTL, attempts with retries, waits, and the run's status."""

    def __init__(self) -> None:
        self._run: RunRecord | None = None
        self._input: RunInput | None = None
        self._attempt_ids: dict[int, str] = {}
        self._started_attempts: set[int] = set()
        self._delay_moved = False
        self._waits_in_progress = 0
        self._children: dict[tuple[int, int], asyncio.Task[ChildRunResult]] = {}
        self._timers: dict[int, datetime] = {}
        self._has_slot = False

    @workflow.run
    async def run(self, input: RunInput) -> RunRecord:
        """Execute the run to a final status; returns the final record."""
        self._input = input
        self._run = run = RunRecord.from_input(input)
        try:
            await self._stay_delayed()
            await self._attempt_until_done(input)
        except asyncio.CancelledError:
            self._finish(RunStatus.CANCELED, RunError(name="Canceled", message="Run canceled"))
            await self._give_slot_back(input)
        return run

    # --- queries, signals and updates -------------------------------------------------
    @workflow.query
    def get(self) -> RunRecord:
        """The run's current record."""
        return self._record()

    @workflow.signal
    def attempt_started(self, started: AttemptStarted) -> None:
        """The attempt's worker is about to run the task's code."""
        run = self._record()
        if is_completed(run.status):
            return  # canceled meanwhile: the attempt is being canceled too
        self._started_attempts.add(started.attempt_number)
        attempt = self._attempt_record(started.attempt_number)
        attempt.started_at = started.started_at
        run.version = started.version
        run.started_at = run.started_at or started.started_at
        self._set_status(
            RunStatus.WAITING if self._waits_in_progress else RunStatus.EXECUTING,
            sa.TRIGGER_VERSION.value_set(started.version),
        )

    @workflow.update
    def reschedule(self, delay_until: datetime) -> RunRecord:
        """Move a DELAYED run's start."""
        run = self._record()
        run.delayed_until = delay_until
        run.updated_at = workflow.now()
        self._delay_moved = True
        return run

    @reschedule.validator
    def _only_delayed_runs_reschedule(self, delay_until: datetime) -> None:
        if self._record().status is not RunStatus.DELAYED:
            raise ValueError("Cannot reschedule a run that is not delayed")

    @workflow.signal
    def metadata_flushed(self, metadata: dict[str, Any]) -> None:
        """Task code changed the run's metadata (sent by its attempt)."""
        self._set_metadata(metadata)

    @workflow.update
    def replace_metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Replace the run's metadata (from the API)."""
        self._set_metadata(metadata)
        return metadata

    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def wait_for_runs(self, request: ChildRunsRequest) -> list[ChildRunResult]:
        """Start child runs (once per call position) and wait for all of them."""
        tasks = [
            self._child(request.position, index, item, request.batch)
            for index, item in enumerate(request.items)
        ]
        async with self._waiting():
            return list(await asyncio.gather(*tasks))

    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def wait_until(self, request: WaitRequest) -> None:
        """A durable timer; the first request at a position fixes its end."""
        until = self._timers.setdefault(request.position, request.until)
        async with self._waiting():
            remaining = until - workflow.now()
            if remaining > timedelta(0):
                await workflow.sleep(remaining)

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

        The TTL is the first attempt's schedule-to-start timeout: Temporal itself makes
        sure an attempt that was not picked up in time never starts.
        """
        ttl = input.options.ttl_s
        deadline = workflow.now() + timedelta(seconds=ttl) if ttl else None
        number = 0
        while True:
            number += 1
            first = number == 1
            if not await self._take_slot(input, deadline if first else None):
                return self._expire(ttl or 0)
            if first and deadline and deadline <= workflow.now():
                await self._give_slot_back(input)
                return self._expire(ttl or 0)
            attempt = self._start_attempt(input, number, deadline if first else None)
            try:
                failure = await self._attempt_outcome(attempt, number)
            except _NotStartedInTime:
                await self._give_slot_back(input)
                return self._expire(ttl or 0)
            await self._give_slot_back(input)
            if failure is None:
                return
            max_attempts = input.options.max_attempts or failure.retry.max_attempts
            if not failure.retryable or number >= max_attempts:
                self._finish(RUN_STATUS_AFTER_ATTEMPT[failure.status], failure.error)
                return
            delay_ms = failure.retry.delay_ms(number, workflow.random().random())
            await workflow.sleep(timedelta(milliseconds=delay_ms))

    def _start_attempt(
        self, input: RunInput, number: int, start_by: datetime | None
    ) -> workflow.ActivityHandle[AttemptOutput]:
        attempt_id = self._attempt_ids[number] = f"attempt_{workflow.uuid4().hex[:24]}"
        return workflow.start_activity(
            ATTEMPT_ACTIVITY,
            AttemptInput(
                run_id=input.run_id,
                task_id=input.task_id,
                attempt_id=attempt_id,
                attempt_number=number,
                payload=input.payload,
                options=input.options,
                run_created_at=input.created_at,
                metadata=self._record().metadata,
            ),
            result_type=AttemptOutput,
            task_queue=self._attempt_queue(input),
            activity_id=f"attempt-{number}",
            start_to_close_timeout=ATTEMPT_SERVER_TIMEOUT,
            schedule_to_start_timeout=(start_by - workflow.now()) if start_by else None,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=1),
            cancellation_type=workflow.ActivityCancellationType.TRY_CANCEL,
        )

    def _attempt_queue(self, input: RunInput) -> str:
        return task_queue(input.task_queue_prefix, input.task_id, input.options.lock_to_version)

    def _expire(self, ttl: float) -> None:
        self._record().expired_at = workflow.now()
        message = f"Run expired because the TTL ({format_duration(ttl)}) was reached"
        self._finish(RunStatus.EXPIRED, RunError(name="Expired", message=message))

    # --- queue slots ---------------------------------------------------------------------
    @workflow.signal(name=SLOT_GRANTED_SIGNAL)
    def slot_granted(self) -> None:
        """The run's queue granted it a slot."""
        self._has_slot = True

    async def _take_slot(self, input: RunInput, deadline: datetime | None) -> bool:
        """Wait (QUEUED) for a slot if the run's queue has a limit, then DEQUEUED.
        False when the deadline (the TTL) passed first."""
        options = input.options
        if not options.concurrency_limit or self._has_slot:
            return True
        request = SlotRequest(
            run_id=input.run_id,
            enqueued_at=input.created_at,
            priority_s=options.priority_s,
            limit=options.concurrency_limit,
        )
        await workflow.execute_local_activity(
            enqueue,
            args=[
                input.task_queue_prefix,
                self._queue_name(input),
                options.concurrency_key,
                request,
            ],
            start_to_close_timeout=timedelta(seconds=10),
        )
        try:
            await workflow.wait_condition(
                lambda: self._has_slot,
                timeout=(deadline - workflow.now()) if deadline else None,
            )
        except TimeoutError:
            await self._give_slot_back(input)
            return False
        self._set_status(RunStatus.DEQUEUED)
        return True

    async def _give_slot_back(self, input: RunInput) -> None:
        """Release the slot (or the place in line) so the queue can grant it again."""
        if not input.options.concurrency_limit:
            return
        self._has_slot = False
        queue_id = queue_workflow_id(
            input.task_queue_prefix, self._queue_name(input), input.options.concurrency_key
        )
        try:
            await workflow.get_external_workflow_handle(queue_id).signal("release", input.run_id)
        except Exception:
            workflow.logger.warning("Could not release a slot of %s", queue_id)

    @staticmethod
    def _queue_name(input: RunInput) -> str:
        return input.options.queue or f"task/{input.task_id}"

    async def _attempt_outcome(
        self, attempt: workflow.ActivityHandle[AttemptOutput], number: int
    ) -> AttemptFailure | None:
        """Await an attempt; None when it succeeded, else why it failed."""
        try:
            result = await attempt
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ActivityTimeoutError) and (
                cause.type is TimeoutType.SCHEDULE_TO_START
            ):
                raise _NotStartedInTime() from err
            if isinstance(err.cause, CancelledError):  # this run is being canceled
                self._end_attempt(number, AttemptStatus.CANCELED, None)
                raise asyncio.CancelledError() from err
            failure = failure_from_activity_error(err)
            self._end_attempt(number, failure.status, failure.error)
            return failure
        except asyncio.CancelledError:
            self._end_attempt(number, AttemptStatus.CANCELED, None)
            raise
        self._end_attempt(number, AttemptStatus.COMPLETED, None)
        self._record().output = result.output
        self._finish(RunStatus.COMPLETED)
        return None

    # --- children and waits --------------------------------------------------------------
    def _child(
        self, position: int, index: int, item: ChildRunSpec, batch: bool
    ) -> asyncio.Task[ChildRunResult]:
        """The child run for (position, index): started on first request, then reused."""
        key = (position, index)
        if key not in self._children:
            run = self._record()
            child_id = derived_run_id(run.id, "child", str(position), str(index))
            run.child_run_ids.append(child_id)
            self._children[key] = asyncio.create_task(self._run_child(child_id, item, batch))
        return self._children[key]

    async def _run_child(self, child_id: str, item: ChildRunSpec, batch: bool) -> ChildRunResult:
        run, input = self._record(), self._run_input()
        options = item.options.model_copy(
            update={
                "parent_run_id": run.id,
                "root_run_id": run.options.root_run_id or run.id,
                "depth": run.options.depth + 1,
                "trigger_function": "batchTriggerAndWait" if batch else "triggerAndWait",
                "is_test": run.options.is_test,
            }
        )
        child_input = RunInput(
            run_id=child_id,
            task_id=item.task_id,
            payload=item.payload,
            options=options,
            created_at=workflow.now(),
            task_queue_prefix=input.task_queue_prefix,
        )
        try:
            record = await workflow.execute_child_workflow(
                RunWorkflow.run,
                child_input,
                id=child_id,
                task_queue=workflow.info().task_queue,
                parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
                search_attributes=initial_search_attributes(child_input),
            )
        except Exception as err:  # terminated from the Temporal UI, or our bug
            error = RunError(name=type(err).__name__, message=str(err))
            return ChildRunResult(
                run_id=child_id, task_id=item.task_id, status=RunStatus.SYSTEM_FAILURE, error=error
            )
        return ChildRunResult(
            run_id=child_id,
            task_id=item.task_id,
            status=record.status,
            output=record.output,
            error=record.error,
        )

    def _waiting(self) -> _Waiting:
        return _Waiting(self)

    # --- state ---------------------------------------------------------------------------
    def _record(self) -> RunRecord:
        assert self._run is not None, "the run workflow has not started"
        return self._run

    def _run_input(self) -> RunInput:
        assert self._input is not None, "the run workflow has not started"
        return self._input

    def _attempt_record(self, number: int) -> AttemptRecord:
        """The record of attempt ``number``, created on first mention (start or end)."""
        run = self._record()
        for attempt in run.attempts:
            if attempt.number == number:
                return attempt
        attempt = AttemptRecord(
            id=self._attempt_ids.get(number, ""), number=number, created_at=workflow.now()
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

    def _set_metadata(self, metadata: dict[str, Any]) -> None:
        run = self._record()
        run.metadata = metadata
        run.updated_at = workflow.now()

    def _finish(self, status: RunStatus, error: RunError | None = None) -> None:
        run = self._record()
        if is_completed(run.status):
            return
        run.error = error
        run.finished_at = workflow.now()
        self._set_status(status)

    def _set_status(self, status: RunStatus, *also: SearchAttributeUpdate[Any]) -> None:
        """Change the status and publish it (with ``also``, in one upsert)."""
        run = self._record()
        if is_completed(run.status) or (run.status is status and not also):
            return
        run.status = status
        run.updated_at = workflow.now()
        workflow.upsert_search_attributes([sa.TRIGGER_STATUS.value_set(status.value), *also])


class _NotStartedInTime(Exception):
    """The first attempt was not picked up before the TTL: the run expires."""


class _Waiting:
    """WAITING while at least one wait is in progress, holding no queue slot; after the
    last wait, the run takes a slot again (QUEUED until it has one) and is EXECUTING."""

    def __init__(self, owner: RunWorkflow) -> None:
        self._owner = owner

    async def __aenter__(self) -> None:
        owner = self._owner
        owner._waits_in_progress += 1
        owner._set_status(RunStatus.WAITING)
        if owner._waits_in_progress == 1:
            await owner._give_slot_back(owner._run_input())

    async def __aexit__(self, *exc: object) -> None:
        owner = self._owner
        owner._waits_in_progress -= 1
        if owner._waits_in_progress:
            return
        if owner._run_input().options.concurrency_limit:
            owner._set_status(RunStatus.QUEUED)
            await owner._take_slot(owner._run_input(), None)
        owner._set_status(RunStatus.EXECUTING)


def initial_search_attributes(run: RunInput) -> TypedSearchAttributes:
    """The search attributes a run starts with (the workflow upserts the rest)."""
    options = run.options
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.TRIGGER_STATUS, RunRecord.from_input(run).status.value),
        SearchAttributePair(sa.TRIGGER_TASK_ID, run.task_id),
        SearchAttributePair(sa.TRIGGER_TAGS, list(options.tags)),
        SearchAttributePair(sa.TRIGGER_IS_TEST, options.is_test),
        SearchAttributePair(sa.TRIGGER_QUEUE, options.queue or f"task/{run.task_id}"),
    ]
    optional = [
        (sa.TRIGGER_BATCH_ID, options.batch_id),
        (sa.TRIGGER_PARENT_RUN_ID, options.parent_run_id),
        (sa.TRIGGER_ROOT_RUN_ID, options.root_run_id),
        (sa.TRIGGER_IDEMPOTENCY_KEY, options.idempotency_key),
    ]
    pairs += [SearchAttributePair(key, value) for key, value in optional if value]
    return TypedSearchAttributes(pairs)


def failure_from_activity_error(err: ActivityError) -> AttemptFailure:
    """Classify a failed attempt: the worker's own report, a timeout, or our bug."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type == ATTEMPT_FAILURE_TYPE:
        return AttemptFailure.model_validate(cause.details[0])
    if isinstance(cause, ActivityTimeoutError) and cause.type is not TimeoutType.START_TO_CLOSE:
        return AttemptFailure(
            error=RunError(
                name="WorkerLost",
                message=f"The worker running this attempt stopped responding ({cause.type})",
            ),
        )
    return AttemptFailure(
        status=AttemptStatus.SYSTEM_FAILURE,
        error=RunError(name=type(cause).__name__, message=str(cause or err)),
        retryable=False,
    )
