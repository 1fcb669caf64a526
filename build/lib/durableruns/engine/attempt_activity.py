"""The attempt activity: runs the task's code once, as one attempt of a run.

It tells its run workflow when the code starts (the run turns EXECUTING), heartbeats
while the code runs (so cancellation reaches it and a lost worker is noticed), enforces
the task's ``max_duration``, and turns every outcome into either the output as plain
JSON or a classified :class:`~durableruns.models.AttemptFailure` that the workflow's
retry loop understands.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import traceback
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from durableruns.context import (
    AttemptInfo,
    RunInfo,
    TaskContext,
    TaskInfo,
    reset_current_context,
    set_current_context,
)
from durableruns.engine.isolation import (
    ProcessPool,
    TaskProcessError,
    attempt_spec,
    can_isolate,
)
from durableruns.engine.isolation_child import Completed, Failed, FailureKind, Outcome
from durableruns.engine.run_workflow import ATTEMPT_ACTIVITY, ATTEMPT_FAILURE_TYPE, RunWorkflow
from durableruns.engine.service import RunService
from durableruns.engine.task_runtime import AttemptRuntime
from durableruns.errors import AbortTaskRunError, InvalidInputError, OutsideTaskError
from durableruns.metadata import RunMetadata
from durableruns.models import (
    AttemptFailure,
    AttemptInput,
    AttemptOutput,
    AttemptStarted,
    ChildRunResult,
    ChildRunSpec,
    RetryOptions,
    RunError,
    RunOptions,
)
from durableruns.status import AttemptStatus
from durableruns.task_definitions import Task, TaskRegistry

HEARTBEAT_EVERY_S = 0.5


class AttemptActivity:
    """The attempt activity bound to the tasks (and version) a worker serves.

    With a process ``pool`` each attempt's code runs in a task process of its own (crash
    isolation); without one it runs in the worker's process.
    """

    def __init__(
        self,
        registry: TaskRegistry,
        version: str,
        task_queue_prefix: str,
        *,
        pool: ProcessPool | None = None,
    ) -> None:
        self._registry = registry
        self._version = version
        self._prefix = task_queue_prefix
        self._pool = pool

    @activity.defn(name=ATTEMPT_ACTIVITY)
    async def run_attempt(self, input: AttemptInput) -> AttemptOutput:
        """Run the task's code for one attempt."""
        task = self._registry.get(input.task_id)
        if task is None:  # only reachable if queues are misrouted
            raise _failure(
                AttemptStatus.SYSTEM_FAILURE,
                RunError(name="TaskNotFound", message=f"This worker has no task {input.task_id!r}"),
                RetryOptions(),
                False,
            )
        client = activity.client()
        started_at = datetime.now(UTC)
        await client.get_workflow_handle(input.run_id).signal(
            RunWorkflow.attempt_started,
            AttemptStarted(
                attempt_number=input.attempt_number, started_at=started_at, version=self._version
            ),
        )
        service = RunService(client, task_queue_prefix=self._prefix)
        runtime = AttemptRuntime(client, input.run_id, service, self._version)
        ctx = _context(task, input, started_at, self._version, runtime)
        heartbeats = asyncio.create_task(_heartbeat_forever(runtime))
        try:
            output = await _run_task_code(task, input, ctx, runtime, self._pool)
        finally:
            heartbeats.cancel()
            await runtime.flush_metadata()
        return AttemptOutput(output=_to_json(task, output))


def _context(
    task: Task[Any, Any],
    input: AttemptInput,
    started_at: datetime,
    version: str,
    runtime: AttemptRuntime,
) -> TaskContext:
    options = input.options
    return TaskContext(
        task=TaskInfo(id=task.id),
        run=RunInfo(
            id=input.run_id,
            created_at=input.run_created_at,
            tags=options.tags,
            is_test=options.is_test,
            idempotency_key=options.idempotency_key,
            is_replay=options.replayed_from is not None,
            replayed_from=options.replayed_from,
            parent_run_id=options.parent_run_id,
            root_run_id=options.root_run_id,
            depth=options.depth,
        ),
        attempt=AttemptInfo(
            id=input.attempt_id, number=input.attempt_number, started_at=started_at
        ),
        version=version,
        metadata=RunMetadata(input.metadata, runtime.metadata_changed),
        runtime=runtime,
    )


async def _run_task_code(
    task: Task[Any, Any],
    input: AttemptInput,
    ctx: TaskContext,
    runtime: AttemptRuntime,
    pool: ProcessPool | None = None,
) -> Any:
    """Call the task's function under its max duration, classifying any failure.

    In a task process when there is a pool (and the process can import the task), else
    here; both ways end in the same statuses.
    """
    if pool is not None and can_isolate(task):
        return await _run_isolated(task, input, ctx, runtime, pool)
    return await _run_in_process(task, input, ctx, runtime)


async def _run_isolated(
    task: Task[Any, Any],
    input: AttemptInput,
    ctx: TaskContext,
    runtime: AttemptRuntime,
    pool: ProcessPool,
) -> Any:
    """The attempt in a task process; the max duration is kept here, so a process
    that ignores it is killed (the pool asks it to stop, then kills it)."""
    max_duration = input.options.max_duration_s or task.max_duration
    spec = attempt_spec(task, input.payload, ctx)
    try:
        async with pool.process() as process:
            try:
                async with asyncio.timeout(max_duration) as deadline:
                    outcome = await process.run(spec, _WaitsPauseTheClock(runtime, deadline))
            except TimeoutError as exc:
                if not deadline.expired():
                    raise
                raise _timed_out(max_duration, task) from exc
    except TaskProcessError as exc:
        error = RunError(name="TaskProcessStartFailed", message=str(exc))
        raise _failure(AttemptStatus.SYSTEM_FAILURE, error, task.retry) from exc
    return _isolated_result(task, outcome)


_ISOLATED_FAILURES: dict[FailureKind, tuple[AttemptStatus, bool]] = {
    "payload": (AttemptStatus.FAILED, False),
    "abort": (AttemptStatus.FAILED, False),
    "error": (AttemptStatus.FAILED, True),
    "output": (AttemptStatus.SYSTEM_FAILURE, False),
    "setup": (AttemptStatus.SYSTEM_FAILURE, False),
}
"""How a task process's failure kinds end the attempt (``crash`` is CRASHED, below)."""


def _isolated_result(task: Task[Any, Any], outcome: Outcome) -> Any:
    """The output of a task process's outcome, or the classified failure it reports."""
    if isinstance(outcome, Completed):
        return outcome.output
    if not isinstance(outcome, Failed):  # Cancelled is only ever an answer to our cancel
        raise _failure(
            AttemptStatus.SYSTEM_FAILURE,
            RunError(name="UnexpectedCancel", message="The task's process stopped on its own"),
            task.retry,
            False,
        )
    if outcome.kind == "crash":
        raise _failure(AttemptStatus.CRASHED, outcome.error, task.retry, _retries_crashes(task))
    error = outcome.error
    if outcome.kind == "output":
        error = RunError(
            name="OutputSerializationError",
            message=f"The task's output cannot be serialized to JSON: {error.message}",
        )
    status, retryable = _ISOLATED_FAILURES.get(outcome.kind, (AttemptStatus.FAILED, True))
    raise _failure(status, error, task.retry, retryable)


def _retries_crashes(task: Task[Any, Any]) -> bool:
    """A crash (a signal, out of memory) is retried only if the task asks for it."""
    return task.retry.retry_on_crash


def _timed_out(max_duration: float | None, task: Task[Any, Any]) -> ApplicationError:
    """TIMED_OUT, never retried."""
    error = RunError(
        name="MaxDurationExceeded",
        message=f"Run exceeded its max duration of {max_duration:g} seconds",
    )
    return _failure(AttemptStatus.TIMED_OUT, error, task.retry, False)


async def _run_in_process(
    task: Task[Any, Any], input: AttemptInput, ctx: TaskContext, runtime: AttemptRuntime
) -> Any:
    """The attempt in the worker's own process (no isolation)."""
    try:
        payload = (
            task.payload_model.model_validate(input.payload)
            if task.payload_model
            else input.payload
        )
    except ValidationError as exc:
        raise _failure(
            AttemptStatus.FAILED, _run_error(exc, name="PayloadValidationError"), task.retry, False
        ) from exc
    max_duration = input.options.max_duration_s or task.max_duration
    token = set_current_context(None)
    try:
        async with asyncio.timeout(max_duration) as deadline:
            ctx = dataclasses.replace(ctx, runtime=_WaitsPauseTheClock(runtime, deadline))
            set_current_context(ctx)  # undone by the token, with the rest
            args = (payload, ctx) if task.wants_context else (payload,)
            if task.is_async:
                return await task.fn(*args)
            return await asyncio.to_thread(task.fn, *args)
    except TimeoutError as exc:
        if deadline.expired():
            raise _timed_out(max_duration, task) from exc
        raise _failure(AttemptStatus.FAILED, _run_error(exc), task.retry) from exc
    except (AbortTaskRunError, InvalidInputError, OutsideTaskError) as exc:
        raise _failure(AttemptStatus.FAILED, _run_error(exc), task.retry, False) from exc
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise _failure(AttemptStatus.FAILED, _run_error(exc), task.retry) from exc
    finally:
        reset_current_context(token)


class _WaitsPauseTheClock:
    """The attempt's runtime with its max-duration clock stopped while the code waits.

    Time spent WAITING (trigger_and_wait, wait.for_ …) does not count towards
    ``max_duration``, so a wait longer than the budget left must not end the attempt
    TIMED_OUT midway: the deadline is lifted when the first wait starts and set again,
    with the budget that was left, when the last one ends.
    """

    def __init__(self, runtime: AttemptRuntime, deadline: asyncio.Timeout) -> None:
        self._runtime = runtime
        self._deadline = deadline
        self._waits = 0
        self._left_s: float | None = None

    async def trigger(self, task_id: str, payload: Any, options: RunOptions) -> tuple[str, bool]:
        """Trigger a run (not a wait: the clock runs)."""
        return await self._runtime.trigger(task_id, payload, options)

    async def wait_for_runs(
        self, items: list[ChildRunSpec], *, batch: bool
    ) -> list[ChildRunResult]:
        """Child runs, with the clock stopped."""
        async with self._paused():
            return await self._runtime.wait_for_runs(items, batch=batch)

    async def wait_until(self, until: datetime) -> None:
        """A durable timer, with the clock stopped."""
        async with self._paused():
            await self._runtime.wait_until(until)

    def metadata_changed(self, metadata: dict[str, Any]) -> None:
        """Passed on to the attempt's runtime."""
        self._runtime.metadata_changed(metadata)

    @contextlib.asynccontextmanager
    async def _paused(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        when = self._deadline.when()
        if self._waits == 0 and when is not None and not self._deadline.expired():
            self._left_s = when - loop.time()
            self._deadline.reschedule(None)
        self._waits += 1
        try:
            yield
        finally:
            self._waits -= 1
            if self._waits == 0 and self._left_s is not None:
                # RuntimeError: the attempt already ended (a canceled wait finishing late).
                with contextlib.suppress(RuntimeError):
                    self._deadline.reschedule(loop.time() + self._left_s)
                self._left_s = None


def _to_json(task: Task[Any, Any], output: Any) -> Any:
    """The output as plain JSON; anything else is a SYSTEM_FAILURE, not the user's error."""
    try:
        if isinstance(output, BaseModel):
            return output.model_dump(mode="json")
        return json.loads(json.dumps(output, allow_nan=False))
    except (TypeError, ValueError) as exc:
        error = RunError(
            name="OutputSerializationError",
            message=f"The task's output cannot be serialized to JSON: {exc}",
        )
        raise _failure(AttemptStatus.SYSTEM_FAILURE, error, task.retry, False) from exc


async def _heartbeat_forever(runtime: AttemptRuntime) -> None:
    # Heartbeats carry cancellation to us and tell Temporal this worker is alive; the
    # same beat sends metadata the task code changed since the last one.
    # The first beat waits: a short attempt then costs no heartbeat RPC at all.
    while True:
        await asyncio.sleep(HEARTBEAT_EVERY_S)
        activity.heartbeat()
        await runtime.flush_metadata()


def _run_error(exc: BaseException, *, name: str | None = None) -> RunError:
    return RunError(
        name=name or type(exc).__name__,
        message=str(exc),
        stack_trace="".join(traceback.format_exception(exc)),
    )


def _failure(
    status: AttemptStatus, error: RunError, retry: RetryOptions, retryable: bool = True
) -> ApplicationError:
    failure = AttemptFailure(status=status, error=error, retryable=retryable, retry=retry)
    return ApplicationError(
        f"{error.name}: {error.message}",
        failure.model_dump(mode="json"),
        type=ATTEMPT_FAILURE_TYPE,
        non_retryable=True,
    )
