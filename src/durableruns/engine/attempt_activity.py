"""The attempt activity: runs the task's code once, as one attempt of a run.

It tells its run workflow when the code starts (the run turns EXECUTING), heartbeats
while the code runs (so cancellation reaches it and a lost worker is noticed), enforces
the task's ``max_duration``, and turns every outcome into either the output as plain
JSON or a classified :class:`~durableruns.models.AttemptFailure` that the workflow's
retry loop understands.
"""

from __future__ import annotations

import asyncio
import json
import traceback
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
    RetryOptions,
    RunError,
)
from durableruns.status import AttemptStatus
from durableruns.task_definitions import Task, TaskRegistry

HEARTBEAT_EVERY_S = 0.5


class AttemptActivity:
    """The attempt activity bound to the tasks (and version) a worker serves."""

    def __init__(self, registry: TaskRegistry, version: str, task_queue_prefix: str) -> None:
        self._registry = registry
        self._version = version
        self._prefix = task_queue_prefix

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
        go = await client.get_workflow_handle(input.run_id).execute_update(
            RunWorkflow.attempt_starting,
            AttemptStarted(
                attempt_number=input.attempt_number, started_at=started_at, version=self._version
            ),
        )
        if not go:
            raise _failure(
                AttemptStatus.CANCELED,
                RunError(name="AttemptRefused", message="The run ended before this attempt"),
                task.retry,
                False,
            )
        service = RunService(client, task_queue_prefix=self._prefix)
        runtime = AttemptRuntime(client, input.run_id, service.trigger_for_task)
        ctx = _context(task, input, started_at, self._version, runtime)
        heartbeats = asyncio.create_task(_heartbeat_forever(runtime))
        try:
            output = await _run_task_code(task, input, ctx, runtime)
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
    task: Task[Any, Any], input: AttemptInput, ctx: TaskContext, runtime: AttemptRuntime
) -> Any:
    """Call the task's function under its max duration, classifying any failure."""
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
    args = (payload, ctx) if task.wants_context else (payload,)
    token = set_current_context(ctx)
    try:
        async with asyncio.timeout(max_duration) as deadline:
            runtime.on_waited = lambda waited: _extend(deadline, waited)
            if task.is_async:
                return await task.fn(*args)
            return await asyncio.to_thread(task.fn, *args)
    except TimeoutError as exc:
        if deadline.expired():
            error = RunError(
                name="MaxDurationExceeded",
                message=f"Run exceeded its max duration of {max_duration:g} seconds",
            )
            raise _failure(AttemptStatus.TIMED_OUT, error, task.retry, False) from exc
        raise _failure(AttemptStatus.FAILED, _run_error(exc), task.retry) from exc
    except (AbortTaskRunError, InvalidInputError, OutsideTaskError) as exc:
        raise _failure(AttemptStatus.FAILED, _run_error(exc), task.retry, False) from exc
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise _failure(AttemptStatus.FAILED, _run_error(exc), task.retry) from exc
    finally:
        reset_current_context(token)


def _extend(deadline: asyncio.Timeout, waited_s: float) -> None:
    """Time spent WAITING does not count towards max_duration."""
    when = deadline.when()
    if when is not None:
        deadline.reschedule(when + waited_s)


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
    while True:
        activity.heartbeat()
        await runtime.flush_metadata()
        await asyncio.sleep(HEARTBEAT_EVERY_S)


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
