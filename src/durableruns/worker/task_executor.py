"""Runs a task's function once, for one execution of an attempt.

The one place the user's code is called, by both execution paths: the worker's own
process (``--no-isolation``) and a task process (crash isolation). It validates the
payload against the task's model, binds the attempt's context, awaits the function (a
sync one in a thread) and turns every way it can end into an :data:`Outcome` that the
worker classifies (:mod:`durableruns.worker.attempt_outcome`). Cancellation (a cancel,
``max_duration``, or a suspension at a wait) propagates untouched: the caller decides
what it means. Imports nothing of temporalio: task processes never load it.

Around the function run the in-attempt hooks (:mod:`durableruns.hooks`), in a fresh
``locals`` scope: the middleware chain (global, then the task's) wraps every execution;
inside it ``on_start_attempt`` runs on an attempt's first execution and ``on_resume`` on
a continuation after a wait; ``on_wait`` runs when the execution is stopped to suspend,
while the code still sits at its wait (middleware not yet unwound); ``catch_error`` sees
an error of the chain before the worker classifies it. Errors in ``on_start_attempt``
and middleware fail the attempt like the code's; errors in ``on_wait`` / ``on_resume``
are logged with the run and change nothing.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from durableruns import locals as task_locals
from durableruns.context import (
    TaskContext,
    current_context,
    reset_current_context,
    set_current_context,
)
from durableruns.errors import (
    AbortTaskRunError,
    InvalidInputError,
    OutsideTaskError,
    ResumeMismatchError,
)
from durableruns.hooks import (
    HOOK_TIMEOUT_S,
    WAIT_HOOK_TIMEOUT_S,
    HookFunction,
    HookKind,
    as_verdict,
    call_hook,
    hooks_of,
    middleware_of,
)
from durableruns.input_streams import stop_listeners
from durableruns.logs import emit
from durableruns.models import RunError, WaitSpec
from durableruns.results import to_plain_json
from durableruns.task_definitions import Task

FailureKind = Literal["payload", "abort", "error", "output", "setup", "oom", "crash"]
"""Why an attempt failed, for the worker to classify: a payload that does not fit the
model, an abort (AbortTaskRunError and friends), any other error in the task's code, an
output that is not JSON, a task that cannot be found, memory exhausted, a dead process."""

STOP_WAIT_S = 3.0
"""How long a stopped execution waits for its code to end before leaving it behind."""
_ABORTS = (AbortTaskRunError, InvalidInputError, OutsideTaskError, ResumeMismatchError)
"""Errors that fail the run at once: retrying would fail the same way."""


@dataclass(frozen=True)
class Completed:
    """The task's code returned; ``output`` is plain JSON."""

    output: Any


@dataclass(frozen=True)
class Failed:
    """The attempt failed; the worker decides the status from ``kind`` (and from what
    ``catch_error`` decided: skip retrying, or when to retry)."""

    kind: FailureKind
    error: RunError
    skip_retrying: bool = False
    retry_at: datetime | None = None
    retry_delay_ms: int | None = None


@dataclass(frozen=True)
class Cancelled:
    """The task's code stopped when asked to (a cancel, or a suspension at a wait)."""


Outcome = Completed | Failed | Cancelled


@dataclass
class Execution:
    """What the executor knows of this execution besides the task and its context."""

    continuation: int = 0
    """0 on an attempt's first execution (``on_start_attempt`` runs), else k."""
    resumed_from: WaitSpec | None = None
    """The wait this continuation resumes after (``on_resume`` runs); None for a first
    execution and for one handed back by a stopping worker."""
    max_attempts: int | None = None
    """The run's override of the task's ``retry.max_attempts`` (for ``retry_at``)."""
    suspending: WaitSpec | None = None
    """Set by whoever stops the code because it suspends at this wait: ``on_wait`` runs
    before the code is stopped."""
    signal: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the execution is being stopped (a cancel, max duration, a suspension):
    hooks and middleware may take it as ``signal``."""


async def execute(
    task: Task[Any, Any], payload: Any, ctx: TaskContext, execution: Execution | None = None
) -> Completed | Failed:
    """Call ``task``'s function with ``payload`` (validated) and ``ctx`` bound, inside
    its middleware and in-attempt hooks."""
    execution = execution or Execution()
    try:
        value = task.payload_model.model_validate(payload) if task.payload_model else payload
    except ValidationError as exc:
        return Failed("payload", describe_error(exc, name="PayloadValidationError"))
    args = (value, ctx) if task.wants_context else (value,)
    values = {"payload": value, "ctx": ctx, "task": task.id, "signal": execution.signal}
    token = set_current_context(ctx)
    try:
        with task_locals.scope():
            # Its own task, so a stop can run on_wait while the code still sits at its
            # wait, and only then cancel it (the context, locals included, is shared).
            chain = asyncio.ensure_future(_chain(task, args, values, execution))
            try:
                await asyncio.wait({chain})
            except asyncio.CancelledError:
                await _stopping(task, values, execution, chain)
                raise
            try:
                output = chain.result()
            except MemoryError as exc:
                # Free what the code held (its frames) before describing it: we need it.
                traceback.clear_frames(exc.__traceback__)
                return Failed("oom", describe_error(exc))
            except Exception as exc:
                return await _caught(task, exc, values, execution)
    finally:
        stop_listeners(ctx)  # its input-stream ``on`` handlers end with the code
        reset_current_context(token)
    return plain_output(output)


async def _chain(
    task: Task[Any, Any], args: tuple[Any, ...], values: dict[str, Any], execution: Execution
) -> Any:
    """The middleware chain around the in-attempt hooks and the task's function."""
    chain = middleware_of(task.hooks)
    outputs: list[Any] = []

    async def innermost() -> None:
        if execution.continuation == 0:
            for fn in hooks_of("on_start_attempt", task.hooks):
                await call_hook(fn, values)
        elif execution.resumed_from is not None:
            await observe(task, "on_resume", {**values, "wait": execution.resumed_from})
        if task.is_async:
            outputs.append(await task.fn(*args))
        else:
            outputs.append(await asyncio.to_thread(task.fn, *args))

    async def call(index: int) -> None:
        if index == len(chain):
            return await innermost()
        await call_hook(chain[index], {**values, "next": lambda: call(index + 1)})

    await call(0)
    if not outputs:
        raise RuntimeError("A middleware returned without awaiting next(): the code never ran")
    return outputs[0]


async def _stopping(
    task: Task[Any, Any], values: dict[str, Any], execution: Execution, chain: asyncio.Future[Any]
) -> None:
    """The execution is being stopped: ``on_wait`` first when it suspends, then the code."""
    if execution.suspending is not None:
        try:
            async with asyncio.timeout(WAIT_HOOK_TIMEOUT_S):
                await observe(task, "on_wait", {**values, "wait": execution.suspending})
        except TimeoutError:
            hook_failed("on_wait", None, TimeoutError(f"on_wait took over {WAIT_HOOK_TIMEOUT_S} s"))
    execution.signal.set()
    chain.cancel()
    # Code that ignores the cancel is left behind (its process is killed after the grace).
    await asyncio.wait({chain}, timeout=STOP_WAIT_S)
    if chain.done() and not chain.cancelled():
        chain.exception()  # retrieved: a late failure of stopped code is not news


async def _caught(
    task: Task[Any, Any], exc: Exception, values: dict[str, Any], execution: Execution
) -> Failed:
    """The failure for an error of the chain, after ``catch_error`` had its say."""
    if isinstance(exc, _ABORTS):
        return Failed("abort", describe_error(exc))
    hooks = hooks_of("catch_error", task.hooks)
    if not hooks:
        return Failed("error", describe_error(exc))
    given = {**values, "error": exc, "retry_at": _policy_retry_at(task, values["ctx"], execution)}
    for fn in hooks:
        try:
            async with asyncio.timeout(HOOK_TIMEOUT_S):
                verdict = as_verdict(await call_hook(fn, given))
        except Exception as hook_exc:  # the attempt fails with it (Trigger's HANDLE_ERROR)
            hook_failed("catch_error", fn, hook_exc)
            return Failed("error", describe_error(hook_exc, name="CatchErrorHookError"))
        if verdict is None:
            continue
        error = verdict.error if isinstance(verdict.error, Exception) else exc
        return Failed(
            "abort" if isinstance(error, _ABORTS) else "error",
            describe_error(error),
            skip_retrying=verdict.skip_retrying,
            retry_at=verdict.retry_at,
            retry_delay_ms=verdict.retry_delay_ms,
        )
    return Failed("error", describe_error(exc))


def _policy_retry_at(
    task: Task[Any, Any], ctx: TaskContext, execution: Execution
) -> datetime | None:
    """When the task's policy would start the next attempt at the earliest (before its
    random factor); None when this is the last attempt."""
    number = ctx.attempt.number
    if number >= (execution.max_attempts or task.retry.max_attempts):
        return None
    return datetime.now(UTC) + timedelta(milliseconds=task.retry.delay_ms(number, 0.0))


async def observe(task: Task[Any, Any], kind: HookKind, values: dict[str, Any]) -> None:
    """Run the hooks of ``kind`` that may not change the run: an error (or a hook over
    :data:`HOOK_TIMEOUT_S`) is logged with the run and the next hook runs."""
    for fn in hooks_of(kind, task.hooks):
        try:
            async with asyncio.timeout(HOOK_TIMEOUT_S):
                await call_hook(fn, values)
        except Exception as exc:
            hook_failed(kind, fn, exc)


def hook_failed(kind: str, fn: HookFunction | None, exc: BaseException) -> None:
    """A failed hook: an ERROR line in the run's log and one in the worker's output."""
    name = getattr(fn, "__qualname__", kind) if fn is not None else kind
    message = f"{kind} hook {name} failed: {type(exc).__name__}: {exc}"
    emit("ERROR", message, {"hook": kind})
    ctx = current_context()
    stderr = sys.__stderr__
    if stderr is not None:  # the worker's own output (task processes share it)
        run = f"{ctx.run.id} " if ctx is not None else ""
        print(f"{run}{message}", file=stderr, flush=True)


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
