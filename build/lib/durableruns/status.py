"""The run status vocabulary: Trigger.dev's 13 statuses and the boolean helpers.

This is the one table that says what each status means. Everything else (the run
workflow, the facade, the SDK, the dashboard) asks this module instead of comparing
strings.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """Where a run is in its lifecycle, with Trigger.dev's exact names."""

    PENDING_VERSION = "PENDING_VERSION"
    """No running worker serves the task yet; the run starts when one does."""
    DELAYED = "DELAYED"
    """Triggered with a delay that has not passed yet."""
    QUEUED = "QUEUED"
    """Ready to execute and waiting in its queue."""
    DEQUEUED = "DEQUEUED"
    """Holds a queue slot and is being handed to a worker."""
    EXECUTING = "EXECUTING"
    """The task's code is running (or a failed attempt is waiting to be retried)."""
    WAITING = "WAITING"
    """Paused in trigger_and_wait, batch_trigger_and_wait or wait.for/until."""
    COMPLETED = "COMPLETED"
    """Finished successfully; the run has an output."""
    CANCELED = "CANCELED"
    """Canceled by a user; it will not be retried."""
    FAILED = "FAILED"
    """The task's code failed on its last allowed attempt (or aborted)."""
    CRASHED = "CRASHED"
    """The process running the task's code died (OOM killer, a signal)."""
    SYSTEM_FAILURE = "SYSTEM_FAILURE"
    """An error in durableruns itself, not in the task's code."""
    EXPIRED = "EXPIRED"
    """The run's TTL passed before it could start."""
    TIMED_OUT = "TIMED_OUT"
    """An attempt ran longer than the task's max_duration."""


QUEUED_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.DELAYED, RunStatus.PENDING_VERSION})
EXECUTING_STATUSES = frozenset({RunStatus.EXECUTING, RunStatus.DEQUEUED})
FINAL_STATUSES = frozenset(
    {
        RunStatus.COMPLETED,
        RunStatus.CANCELED,
        RunStatus.FAILED,
        RunStatus.CRASHED,
        RunStatus.SYSTEM_FAILURE,
        RunStatus.EXPIRED,
        RunStatus.TIMED_OUT,
    }
)
"""All seven final statuses. Unlike Trigger.dev's REST server we count EXPIRED and
TIMED_OUT as completed too, so polling loops on ``is_completed`` always end."""
FAILED_STATUSES = FINAL_STATUSES - {RunStatus.COMPLETED}


def is_queued(status: RunStatus) -> bool:
    """QUEUED, DELAYED or PENDING_VERSION: not started yet."""
    return status in QUEUED_STATUSES


def is_executing(status: RunStatus) -> bool:
    """EXECUTING or DEQUEUED: these count against concurrency limits."""
    return status in EXECUTING_STATUSES


def is_waiting(status: RunStatus) -> bool:
    """WAITING: paused on a child run or a timer; holds no concurrency slot."""
    return status is RunStatus.WAITING


def is_completed(status: RunStatus) -> bool:
    """Any of the seven final statuses."""
    return status in FINAL_STATUSES


def is_success(status: RunStatus) -> bool:
    """COMPLETED."""
    return status is RunStatus.COMPLETED


def is_failed(status: RunStatus) -> bool:
    """A final status other than COMPLETED (CANCELED included, as in Trigger.dev)."""
    return status in FAILED_STATUSES


def is_canceled(status: RunStatus) -> bool:
    """CANCELED."""
    return status is RunStatus.CANCELED


class AttemptStatus(StrEnum):
    """Where one attempt is: running, or how it ended."""

    EXECUTING = "EXECUTING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    CRASHED = "CRASHED"
    TIMED_OUT = "TIMED_OUT"
    SYSTEM_FAILURE = "SYSTEM_FAILURE"


RUN_STATUS_AFTER_ATTEMPT: dict[AttemptStatus, RunStatus] = {
    AttemptStatus.COMPLETED: RunStatus.COMPLETED,
    AttemptStatus.FAILED: RunStatus.FAILED,
    AttemptStatus.CANCELED: RunStatus.CANCELED,
    AttemptStatus.CRASHED: RunStatus.CRASHED,
    AttemptStatus.TIMED_OUT: RunStatus.TIMED_OUT,
    AttemptStatus.SYSTEM_FAILURE: RunStatus.SYSTEM_FAILURE,
}
"""The run's final status when its last attempt ended this way."""
