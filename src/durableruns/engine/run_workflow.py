"""The run workflow: one Temporal workflow execution per run (workflow id = run id).

It owns the run's Trigger-level state (status, attempts, output, error) and the retry
loop: each attempt is one execution of the attempt activity on the task's own queue,
and the backoff between attempts is a durable timer here, so every attempt has its own
record and the status is exact at every moment. The status is published as search
attributes on every change; ``get`` answers the whole record.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError, TimeoutType

with workflow.unsafe.imports_passed_through():
    from durableruns.engine import search_attributes as sa
    from durableruns.models import (
        AttemptFailure,
        AttemptInput,
        AttemptOutput,
        AttemptRecord,
        AttemptStarted,
        RunError,
        RunInput,
        RunRecord,
    )
    from durableruns.status import RUN_STATUS_AFTER_ATTEMPT, AttemptStatus, RunStatus

ATTEMPT_ACTIVITY = "durableruns.attempt"
ATTEMPT_FAILURE_TYPE = "durableruns.AttemptFailure"
"""ApplicationError type the attempt activity uses to report a classified failure."""
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""A worker silent this long is considered gone; its attempt is retried elsewhere."""
NO_MAX_DURATION = timedelta(days=1)
"""Server-side cap of an attempt when the trigger sets no max duration; the worker
enforces the task's own ``max_duration`` itself."""
MAX_DURATION_GRACE = timedelta(seconds=5)


@workflow.defn(name="durableruns.run")
class RunWorkflow:
    """Runs a task: attempts, retries with backoff, and the run's status."""

    def __init__(self) -> None:
        self._run: RunRecord | None = None
        self._attempt_ids: dict[int, str] = {}

    @workflow.run
    async def run(self, input: RunInput) -> RunRecord:
        """Execute attempts until one succeeds or the run must end; returns the record."""
        self._run = run = RunRecord.from_input(input)
        number = 0
        try:
            while True:
                number += 1
                failure = await self._attempt(input, number)
                if failure is None:
                    break
                max_attempts = input.options.max_attempts or failure.retry.max_attempts
                if not failure.retryable or number >= max_attempts:
                    self._finish(RUN_STATUS_AFTER_ATTEMPT[failure.status], error=failure.error)
                    break
                delay_ms = failure.retry.delay_ms(number, workflow.random().random())
                await workflow.sleep(timedelta(milliseconds=delay_ms))
        except asyncio.CancelledError:
            self._finish(
                RunStatus.CANCELED, error=RunError(name="Canceled", message="Run canceled")
            )
        return run

    @workflow.query
    def get(self) -> RunRecord:
        """The run's current record."""
        assert self._run is not None
        return self._run

    @workflow.signal
    def attempt_started(self, started: AttemptStarted) -> None:
        """The attempt's worker is about to run the task's code."""
        run = self._record()
        attempt = self._attempt_record(started.attempt_number)
        attempt.started_at = started.started_at
        run.version = started.version
        run.started_at = run.started_at or started.started_at
        workflow.upsert_search_attributes([sa.TRIGGER_VERSION.value_set(started.version)])
        if attempt.finished_at is None:
            self._set_status(RunStatus.EXECUTING)

    async def _attempt(self, input: RunInput, number: int) -> AttemptFailure | None:
        """One attempt; None when it succeeded, else why it failed."""
        run = self._record()
        attempt_id = self._attempt_ids[number] = f"attempt_{workflow.uuid4().hex[:24]}"
        max_duration = input.options.max_duration_s
        try:
            result = await workflow.execute_activity(
                ATTEMPT_ACTIVITY,
                AttemptInput(
                    run_id=run.id,
                    task_id=run.task_id,
                    attempt_id=attempt_id,
                    attempt_number=number,
                    payload=input.payload,
                    options=input.options,
                    run_created_at=input.created_at,
                ),
                result_type=AttemptOutput,
                task_queue=input.task_queue,
                activity_id=f"attempt-{number}",
                start_to_close_timeout=(
                    timedelta(seconds=max_duration) + MAX_DURATION_GRACE
                    if max_duration
                    else NO_MAX_DURATION
                ),
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=1),
                cancellation_type=workflow.ActivityCancellationType.TRY_CANCEL,
            )
        except ActivityError as err:
            failure = failure_from_activity_error(err)
            self._end_attempt(number, failure.status, failure.error)
            return failure
        except asyncio.CancelledError:
            self._end_attempt(number, AttemptStatus.CANCELED, None)
            raise
        self._end_attempt(number, AttemptStatus.COMPLETED, None)
        run.output = result.output
        self._finish(RunStatus.COMPLETED)
        return None

    def _record(self) -> RunRecord:
        assert self._run is not None, "the run workflow has not started"
        return self._run

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
        attempt = self._attempt_record(number)
        if attempt.started_at is None and status is AttemptStatus.CANCELED:
            # Canceled before it ever started: it was never an attempt.
            self._record().attempts.remove(attempt)
            return
        attempt.status = status
        attempt.error = error
        attempt.finished_at = workflow.now()

    def _finish(self, status: RunStatus, *, error: RunError | None = None) -> None:
        run = self._record()
        run.error = error
        run.finished_at = workflow.now()
        self._set_status(status)

    def _set_status(self, status: RunStatus) -> None:
        run = self._record()
        if run.status is status:
            return
        run.status = status
        run.updated_at = workflow.now()
        workflow.upsert_search_attributes([sa.TRIGGER_STATUS.value_set(status.value)])


def failure_from_activity_error(err: ActivityError) -> AttemptFailure:
    """Classify a failed attempt: the worker's own report, a timeout, or our bug."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type == ATTEMPT_FAILURE_TYPE:
        return AttemptFailure.model_validate(cause.details[0])
    if isinstance(cause, TimeoutError):
        if cause.type is TimeoutType.START_TO_CLOSE:
            return AttemptFailure(
                status=AttemptStatus.TIMED_OUT,
                error=RunError(name="MaxDurationExceeded", message="Run exceeded its max duration"),
                retryable=False,
            )
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
