"""What a task's code knows about the run it is executing: ``ctx.run.id``,
``ctx.attempt.number`` and friends, mirroring Trigger.dev's ``ctx``."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RunInfo:
    """The run being executed."""

    id: str
    created_at: datetime
    tags: tuple[str, ...] = ()
    is_test: bool = False


@dataclass(frozen=True)
class AttemptInfo:
    """The current attempt: ``number`` starts at 1 and grows with each retry."""

    id: str
    number: int
    started_at: datetime


@dataclass(frozen=True)
class TaskInfo:
    """The task whose code is running."""

    id: str


@dataclass(frozen=True)
class TaskContext:
    """The second argument of a task function.

    Example::

        @task(id="report")
        async def report(payload: Report, ctx: TaskContext) -> None:
            print(ctx.run.id, ctx.attempt.number)
    """

    task: TaskInfo
    run: RunInfo
    attempt: AttemptInfo
    version: str = ""
    extras: dict[str, object] = field(default_factory=dict, compare=False)


_current: ContextVar[TaskContext | None] = ContextVar("durableruns_task_context", default=None)


def current_context() -> TaskContext | None:
    """The context of the attempt running in this task, or None outside task code."""
    return _current.get()


def set_current_context(ctx: TaskContext | None) -> object:
    """Bind ``ctx`` for the running attempt; returns a token for :func:`reset_current_context`."""
    return _current.set(ctx)


def reset_current_context(token: object) -> None:
    """Undo :func:`set_current_context`."""
    _current.reset(token)  # type: ignore[arg-type]
