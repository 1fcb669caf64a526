"""Tasks that fail in known ways, for the error-group tests: the same mistake with
varying values, and a different one."""

from __future__ import annotations

from typing import Any

from durableruns import TaskContext, task

ONE_ATTEMPT = {"max_attempts": 1}


class UserMissingError(LookupError):
    """The error ``err-lookup`` raises."""


@task(id="err-lookup", retry=ONE_ATTEMPT)
async def err_lookup(payload: dict[str, Any]) -> None:
    """Fails with the user's id and a count in the message: one group whatever they are."""
    raise UserMissingError(f"user {payload['user']!r} not found after {payload['tries']} tries")


@task(id="err-divide", retry=ONE_ATTEMPT)
async def err_divide(payload: Any) -> float:
    """Fails with another error: another group."""
    return 1 / 0


@task(id="err-ok")
async def err_ok(payload: Any) -> str:
    """Succeeds (its runs never touch the error groups)."""
    return "ok"


FAST_RETRY = {"min_timeout_ms": 50, "max_timeout_ms": 200, "factor": 2, "randomize": False}


class FlakyBackendError(RuntimeError):
    """The error ``err-flaky`` and ``err-thrice`` raise."""


@task(id="err-flaky", retry={**FAST_RETRY, "max_attempts": 3})
async def err_flaky(payload: Any, ctx: TaskContext) -> int:
    """Fails its first two attempts, then succeeds: a completed run whose two failed
    attempts count in their error group."""
    if ctx.attempt.number <= 2:
        raise FlakyBackendError(f"backend busy on attempt {ctx.attempt.number}")
    return ctx.attempt.number


@task(id="err-thrice", retry={**FAST_RETRY, "max_attempts": 3})
async def err_thrice(payload: Any, ctx: TaskContext) -> None:
    """Fails all three of its attempts: three occurrences, one failed run."""
    raise FlakyBackendError(f"backend busy on attempt {ctx.attempt.number}")


@task(id="err-storm", retry=ONE_ATTEMPT)
async def err_storm(payload: Any) -> None:
    """A no-op that raises, with a varying value (one group): the alert storm's task."""
    raise ValueError(f"storm failure {payload}")
