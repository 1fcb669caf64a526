"""Tasks whose hooks count their calls (``counting.mark``)."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

from durableruns import TaskContext, locals, task, wait
from tests.helpers.tasks.hooked.counting import mark

CONN = locals.create("conn")


async def connection(payload: dict[str, Any], ctx: TaskContext, next: Any) -> None:
    """A 'DB connection' opened around every execution."""
    mark(payload, "middleware")
    locals.set(CONN, f"conn-{ctx.attempt.number}")
    try:
        await next()
    finally:
        mark(payload, "middleware-closed")


def on_start_attempt(payload: dict[str, Any], ctx: TaskContext) -> None:
    mark(payload, "start", str(ctx.attempt.number))
    if locals.get(CONN) is not None:
        mark(payload, "start-saw-local")


async def on_wait(payload: dict[str, Any], wait: Any) -> None:
    mark(payload, "wait", wait.kind)
    if locals.get(CONN) is not None:
        mark(payload, "wait-saw-local")


async def on_resume(payload: dict[str, Any], wait: Any) -> None:
    mark(payload, "resume", wait.kind)


async def on_success(payload: dict[str, Any], output: Any) -> None:
    mark(payload, "success", str(output))


async def on_failure(payload: dict[str, Any], error: Any) -> None:
    mark(payload, "failure", error.name)


def on_complete(payload: dict[str, Any], ctx: TaskContext, error: Any) -> None:
    mark(payload, "complete", error.name if error else "ok")


async def on_cancel(payload: dict[str, Any], signal: asyncio.Event) -> None:
    mark(payload, "cancel", str(signal.is_set()))


ALL = {
    "middleware": connection,
    "on_start_attempt": on_start_attempt,
    "on_wait": on_wait,
    "on_resume": on_resume,
    "on_success": on_success,
    "on_failure": on_failure,
    "on_complete": on_complete,
    "on_cancel": on_cancel,
}


@task(id="hooks-resumes-retries", retry={"max_attempts": 3, "min_timeout_ms": 10}, **ALL)
async def resumes_and_retries(payload: dict[str, Any], ctx: TaskContext) -> str:
    """Three suspending waits (three resumes), then fails attempts 1 and 2."""
    for _ in range(3):
        await wait.for_(seconds=0.6)
    mark(payload, "code-saw-local", locals.get_or_throw(CONN))
    if ctx.attempt.number < 3:
        raise ValueError(f"attempt {ctx.attempt.number} fails")
    return "done"


@task(id="hooks-fails", retry={"max_attempts": 2, "min_timeout_ms": 10}, **ALL)
async def fails(payload: dict[str, Any]) -> None:
    raise ValueError("always")


@task(id="hooks-crashes", **ALL)
async def crashes(payload: dict[str, Any]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@task(id="hooks-too-slow", max_duration=1, **ALL)
async def too_slow(payload: dict[str, Any]) -> None:
    await asyncio.sleep(30)


@task(id="hooks-cancel", **ALL)
async def cancel_me(payload: dict[str, Any]) -> None:
    mark(payload, "running")
    if payload.get("wait"):
        await wait.for_(seconds=60)
    else:
        await asyncio.sleep(60)


def _catch(payload: dict[str, Any], error: Exception, retry_at: datetime | None) -> Any:
    mark(payload, "catch", "retry_at" if retry_at else "none")
    mode = payload["mode"]
    if mode == "skip":
        return {"skip_retrying": True}
    if mode == "at":
        return {"retry_at": datetime.now(UTC) + timedelta(seconds=2)}
    if mode == "delay":
        return {"retry_delay_ms": 2000}
    if mode == "error":
        return {"error": RuntimeError(f"replaced: {error}")}
    return None


@task(
    id="hooks-catch",
    retry={"max_attempts": 2, "min_timeout_ms": 10, "max_timeout_ms": 10},
    catch_error=_catch,
    on_start_attempt=on_start_attempt,
)
async def catches(payload: dict[str, Any], ctx: TaskContext) -> str:
    if ctx.attempt.number == 1:
        raise ConnectionError("429 Too Many Requests")
    return "second"


def _broken(payload: dict[str, Any]) -> None:
    mark(payload, "broken")
    raise RuntimeError("hook broke")


@task(
    id="hooks-broken",
    on_success=_broken,
    on_complete=_broken,
    on_wait=_broken,
    on_resume=_broken,
)
async def broken_hooks(payload: dict[str, Any]) -> str:
    await wait.for_(seconds=0.6)
    return "fine"


@task(id="hooks-plain")
async def plain(payload: dict[str, Any]) -> str:
    """No hooks of its own: only the package's global ones."""
    await wait.for_(seconds=0.6)
    return "plain"
