"""The package's global hooks, loaded by the worker and its task processes before the
tasks (Trigger.dev's ``init.ts``). They count only for payloads that ask
(``"global": true``): they are global to every task of this package."""

from __future__ import annotations

from typing import Any

from durableruns import tasks
from tests.helpers.tasks.hooked.counting import mark


def _asked(payload: Any) -> bool:
    return isinstance(payload, dict) and bool(payload.get("global"))


async def count_executions(payload: Any, next: Any) -> None:
    if _asked(payload):
        mark(payload, "global-middleware")
    await next()


def count_attempts(payload: Any) -> None:
    if _asked(payload):
        mark(payload, "global-start")


async def count_completions(payload: Any, ctx: Any) -> None:
    if _asked(payload):
        mark(payload, f"global-complete-{ctx.run.id}")


def register() -> None:
    """Register the global hooks (again after a test cleared them: registering twice
    replaces, never duplicates)."""
    tasks.middleware("count-executions", count_executions)
    tasks.on_start_attempt(count_attempts)
    tasks.on_complete(count_completions)


register()
