"""The run's durable records: what a trigger snapshots and what the run workflow keeps.

These pydantic models cross the workflow/activity boundary and are stored in Temporal
history, so they hold JSON-friendly fields only and never change shape without a
replay test. The facade maps :class:`RunRecord` to Trigger.dev's wire shape
(``durableruns.wire``); nothing here knows about HTTP or Temporal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from durableruns.status import AttemptStatus, RunStatus


class Frozen(BaseModel):
    """Base for immutable records."""

    model_config = ConfigDict(frozen=True)


class RetryOptions(Frozen):
    """A task's retry policy, with Trigger.dev's names and defaults.

    The delay before attempt ``n + 1`` is
    ``min(max_timeout_ms, min_timeout_ms * factor ** (n - 1))``, multiplied by a random
    factor in ``[1, 2)`` when ``randomize`` is set.
    """

    max_attempts: int = Field(default=3, ge=1, le=100)
    factor: float = Field(default=2.0, ge=1.0)
    min_timeout_ms: int = Field(default=1000, ge=0)
    max_timeout_ms: int = Field(default=60_000, ge=0)
    randomize: bool = True

    def delay_ms(self, attempt_number: int, random_unit: float) -> int:
        """Backoff after a failed attempt ``attempt_number``; ``random_unit`` in [0, 1)."""
        base = min(self.max_timeout_ms, self.min_timeout_ms * self.factor ** (attempt_number - 1))
        return round(base * (1 + random_unit if self.randomize else 1))


class RunError(Frozen):
    """An error as users see it: a name, a message and a stack trace."""

    name: str = "Error"
    message: str
    stack_trace: str = ""


class RunOptions(Frozen):
    """Trigger-time options snapshotted into the run, so replay depends only on history."""

    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] | None = None
    max_attempts: int | None = None
    """Overrides the task's ``retry.max_attempts`` for this run."""
    max_duration_s: float | None = None
    """Overrides the task's ``max_duration`` for this run."""
    is_test: bool = False


class RunInput(Frozen):
    """Everything the run workflow starts from."""

    run_id: str
    task_id: str
    payload: Any = None
    options: RunOptions = RunOptions()
    created_at: datetime
    task_queue: str
    """Where this run's attempts are dispatched: the task's own queue."""


class AttemptInput(Frozen):
    """What one attempt of the attempt activity is given."""

    run_id: str
    task_id: str
    attempt_id: str
    attempt_number: int
    payload: Any = None
    options: RunOptions
    run_created_at: datetime


class AttemptStarted(Frozen):
    """Sent by an attempt to its run workflow once the task's code is about to run."""

    attempt_number: int
    started_at: datetime
    version: str


class AttemptOutput(Frozen):
    """A successful attempt's result: the task's output as plain JSON."""

    output: Any = None


class AttemptFailure(Frozen):
    """Why an attempt failed, as the worker that ran it saw it.

    The worker reports the task's retry policy with each failure: it is the one that
    knows the task's definition at the version it runs.
    """

    status: AttemptStatus = AttemptStatus.FAILED
    error: RunError
    retryable: bool = True
    retry: RetryOptions = RetryOptions()


class AttemptRecord(BaseModel):
    """One execution of the task's code within a run."""

    id: str
    number: int
    status: AttemptStatus = AttemptStatus.EXECUTING
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: RunError | None = None


class RunRecord(BaseModel):
    """The full, current state of a run: what the workflow answers when asked."""

    id: str
    task_id: str
    status: RunStatus = RunStatus.QUEUED
    payload: Any = None
    output: Any = None
    error: RunError | None = None
    options: RunOptions = RunOptions()
    attempts: list[AttemptRecord] = []
    version: str | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @classmethod
    def from_input(cls, run: RunInput) -> RunRecord:
        """A freshly triggered run, QUEUED."""
        return cls(
            id=run.run_id,
            task_id=run.task_id,
            payload=run.payload,
            options=run.options,
            created_at=run.created_at,
            updated_at=run.created_at,
        )

    @property
    def duration_ms(self) -> int:
        """Time spent executing attempts, in milliseconds."""
        total = 0.0
        for attempt in self.attempts:
            if attempt.started_at and attempt.finished_at:
                total += (attempt.finished_at - attempt.started_at).total_seconds()
        return round(total * 1000)
