"""``always-fails`` and ``flaky``: tasks that exercise attempts and retries."""

from pydantic import BaseModel

from durableruns import TaskContext, task

FAST_RETRY = {"min_timeout_ms": 50, "max_timeout_ms": 200, "factor": 2, "randomize": False}


class BoomError(Exception):
    """The error ``always-fails`` raises."""


@task(id="always-fails", retry={**FAST_RETRY, "max_attempts": 2})
async def always_fails(payload: object) -> None:
    """Fails every attempt with the message ``boom``."""
    raise BoomError("boom")


class Flaky(BaseModel):
    fail_times: int = 0


@task(id="flaky", retry={**FAST_RETRY, "max_attempts": 4})
def flaky(payload: Flaky, ctx: TaskContext) -> dict[str, int]:
    """Fails its first ``fail_times`` attempts, then succeeds (a sync task)."""
    if ctx.attempt.number <= payload.fail_times:
        raise RuntimeError(f"attempt {ctx.attempt.number} fails on purpose")
    return {"attempts": ctx.attempt.number}
