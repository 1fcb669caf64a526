"""Runs a task's function once, for one execution of an attempt.

The one place the user's code is called, by both execution paths: the worker's own
process (``--no-isolation``) and a task process (crash isolation). It validates the
payload against the task's model, binds the attempt's context, awaits the function (a
sync one in a thread) and turns every way it can end into an :data:`Outcome` that the
worker classifies (:mod:`durableruns.worker.attempt_outcome`). Cancellation (a cancel,
``max_duration``, or a suspension at a wait) propagates untouched: the caller decides
what it means. Imports nothing of temporalio: task processes never load it.
"""

from __future__ import annotations

import asyncio
import traceback
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from durableruns.context import TaskContext, reset_current_context, set_current_context
from durableruns.errors import (
    AbortTaskRunError,
    InvalidInputError,
    OutsideTaskError,
    ResumeMismatchError,
)
from durableruns.input_streams import stop_listeners
from durableruns.models import RunError
from durableruns.results import to_plain_json
from durableruns.task_definitions import Task

FailureKind = Literal["payload", "abort", "error", "output", "setup", "oom", "crash"]
"""Why an attempt failed, for the worker to classify: a payload that does not fit the
model, an abort (AbortTaskRunError and friends), any other error in the task's code, an
output that is not JSON, a task that cannot be found, memory exhausted, a dead process."""

_ABORTS = (AbortTaskRunError, InvalidInputError, OutsideTaskError, ResumeMismatchError)
"""Errors that fail the run at once: retrying would fail the same way."""


@dataclass(frozen=True)
class Completed:
    """The task's code returned; ``output`` is plain JSON."""

    output: Any


@dataclass(frozen=True)
class Failed:
    """The attempt failed; the worker decides the status from ``kind``."""

    kind: FailureKind
    error: RunError


@dataclass(frozen=True)
class Cancelled:
    """The task's code stopped when asked to (a cancel, or a suspension at a wait)."""


Outcome = Completed | Failed | Cancelled


async def execute(task: Task[Any, Any], payload: Any, ctx: TaskContext) -> Completed | Failed:
    """Call ``task``'s function with ``payload`` (validated) and ``ctx`` bound."""
    try:
        value = task.payload_model.model_validate(payload) if task.payload_model else payload
    except ValidationError as exc:
        return Failed("payload", describe_error(exc, name="PayloadValidationError"))
    args = (value, ctx) if task.wants_context else (value,)
    token = set_current_context(ctx)
    try:
        if task.is_async:
            output = await task.fn(*args)
        else:
            output = await asyncio.to_thread(task.fn, *args)
    except MemoryError as exc:
        # Free what the code held (its frames) before describing it: we need the memory.
        traceback.clear_frames(exc.__traceback__)
        return Failed("oom", describe_error(exc))
    except _ABORTS as exc:
        return Failed("abort", describe_error(exc))
    except Exception as exc:
        return Failed("error", describe_error(exc))
    finally:
        stop_listeners(ctx)  # its input-stream ``on`` handlers end with the code
        reset_current_context(token)
    return plain_output(output)


def plain_output(output: Any) -> Completed | Failed:
    """The output as plain JSON, or an ``output`` failure naming why it is not."""
    try:
        return Completed(to_plain_json(output))
    except (TypeError, ValueError) as exc:
        return Failed("output", describe_error(exc))


def describe_error(exc: BaseException, *, name: str | None = None) -> RunError:
    """An exception as users see it: name, message and the formatted traceback."""
    return RunError(
        name=name or getattr(exc, "remote_name", None) or type(exc).__name__,
        message=str(exc),
        stack_trace="".join(traceback.format_exception(exc)),
    )
