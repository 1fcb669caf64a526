"""How an attempt ends: the one place that encodes and decodes attempt failures.

The worker classifies every outcome of the task's code (:mod:`.task_executor`) into an
:class:`~durableruns.models.AttemptFailure` — status, error, retryable — and raises it as
an ``ApplicationError`` of type ``ATTEMPT_FAILURE_TYPE``; the run workflow decodes it
(``engine/workflows/attempt_failure.py``), along with what Temporal itself reports (a worker
that stopped heartbeating). The run's final status after a failure comes from
``status.RUN_STATUS_AFTER_ATTEMPT``.
"""

from __future__ import annotations

import re
import traceback
from datetime import datetime

from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from durableruns.engine.names import ATTEMPT_FAILURE_TYPE
from durableruns.models import AttemptFailure, AttemptStarted, RetryOptions, RunError
from durableruns.status import AttemptStatus
from durableruns.worker.task_executor import Failed, FailureKind

FAILURE_KINDS: dict[FailureKind, tuple[AttemptStatus, bool]] = {
    "payload": (AttemptStatus.FAILED, False),
    "abort": (AttemptStatus.FAILED, False),
    "error": (AttemptStatus.FAILED, True),
    "output": (AttemptStatus.SYSTEM_FAILURE, False),
    "setup": (AttemptStatus.SYSTEM_FAILURE, False),
    "oom": (AttemptStatus.CRASHED, False),
    "crash": (AttemptStatus.CRASHED, False),
}
"""How each failure kind of the task's code ends the attempt: (status, retryable).
A crash (a signal, out of memory) is retried only if the task says ``retry_on_crash``."""


def failure(
    status: AttemptStatus,
    error: RunError,
    retry: RetryOptions,
    retryable: bool = True,
    *,
    retry_at: datetime | None = None,
    retry_delay_ms: int | None = None,
) -> ApplicationError:
    """The error the attempt activity raises for a classified failure (``retry_at`` /
    ``retry_delay_ms``: what the task's ``catch_error`` asked for)."""
    reported = AttemptFailure(
        status=status,
        error=error,
        retryable=retryable,
        retry=retry,
        retry_at=retry_at,
        retry_delay_ms=retry_delay_ms,
    )
    return ApplicationError(
        f"{error.name}: {error.message}",
        reported.model_dump(mode="json"),
        type=ATTEMPT_FAILURE_TYPE,
        non_retryable=True,
        # Recorded in the run and printed as one line by the worker: temporalio need
        # not log it again, with its own traceback, at WARNING.
        category=ApplicationErrorCategory.BENIGN,
    )


def with_start(exc: ApplicationError, started: AttemptStarted) -> ApplicationError:
    """A classified failure of an execution whose code started, with that start (the
    run records it without the ``attempt_started`` signal); other errors unchanged."""
    if exc.type != ATTEMPT_FAILURE_TYPE or not exc.details:
        return exc
    reported = AttemptFailure.model_validate(exc.details[0])
    return ApplicationError(
        exc.message,
        reported.model_copy(update={"started": started}).model_dump(mode="json"),
        type=ATTEMPT_FAILURE_TYPE,
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,
    )


def failure_of(outcome: Failed, retry: RetryOptions) -> ApplicationError:
    """The failure for a :class:`Failed` outcome of the task's code."""
    status, retryable = FAILURE_KINDS[outcome.kind]
    error = outcome.error
    if outcome.kind == "output":
        error = RunError(
            name="OutputSerializationError",
            message=f"The task's output cannot be serialized to JSON: {error.message}",
        )
    elif outcome.kind == "oom":
        what = error.message or error.name
        error = error.model_copy(
            update={
                "name": "TaskProcessOutOfMemory",
                "message": f"The task's process ran out of memory ({what})",
            }
        )
    if status is AttemptStatus.CRASHED:
        retryable = retry.retry_on_crash
    if outcome.skip_retrying:
        retryable = False
    return failure(
        status,
        error,
        retry,
        retryable,
        retry_at=outcome.retry_at,
        retry_delay_ms=outcome.retry_delay_ms,
    )


def timed_out(max_duration: float | None, retry: RetryOptions) -> ApplicationError:
    """TIMED_OUT (``max_duration`` exceeded), never retried."""
    error = RunError(
        name="MaxDurationExceeded",
        message=f"Run exceeded its max duration of {max_duration or 0:g} seconds",
    )
    return failure(AttemptStatus.TIMED_OUT, error, retry, False)


def system_failure(name: str, message: str, retry: RetryOptions) -> ApplicationError:
    """SYSTEM_FAILURE: something outside the task's code went wrong; not retried."""
    return failure(AttemptStatus.SYSTEM_FAILURE, RunError(name=name, message=message), retry, False)


def run_error(exc: BaseException, *, name: str | None = None) -> RunError:
    """An exception of the worker's own as a run error, with its traceback."""
    return RunError(
        name=name or type(exc).__name__,
        message=str(exc),
        stack_trace="".join(traceback.format_exception(exc)),
    )


def outcome_line(run_id: str, attempt: int, what: str, error: RunError | None = None) -> str:
    """The worker's one line for an attempt's outcome, e.g. ``run_… attempt 2 FAILED:
    ValueError: boom (mytasks.py:31)`` — the user's frame, not the engine's."""
    line = f"{run_id} attempt {attempt} {what}"
    if error is None:
        return line
    line += f": {error.name}: {error.message.splitlines()[0] if error.message else ''}"
    frame = user_frame(error.stack_trace)
    return f"{line} ({frame})" if frame else line


def user_frame(stack_trace: str) -> str | None:
    """``file.py:line`` of the innermost frame outside Python, libraries and the engine."""
    found = None
    for match in _FRAME.finditer(stack_trace):
        path, line = match.group(1), match.group(2)
        if not any(part in path for part in _NOT_USER_CODE):
            found = f"{path.rsplit('/', 1)[-1]}:{line}"
    return found


_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
_NOT_USER_CODE = ("site-packages", "/durableruns/", "/lib/python3", "<frozen")
