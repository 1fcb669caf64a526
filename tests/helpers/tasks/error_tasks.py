"""Tasks that fail in known ways, for the error-group tests: the same mistake with
varying values, and a different one."""

from __future__ import annotations

from typing import Any

from durableruns import task

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
