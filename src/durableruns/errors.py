"""Errors raised by durableruns, one root with the tree drawn here.

    DurableRunsError
    ├── TaskDefinitionError        a task is defined wrongly (bad id, bad signature)
    │   └── DuplicateTaskError     two tasks share an id
    ├── AbortTaskRunError          raised by task code: fail the run now, no retry
    ├── InvalidInputError          a value given to trigger/replay/… is unusable (names the field)
    │   ├── MetadataTooLargeError  run metadata over its size limit (413)
    │   ├── ValueTooLargeError     a payload or output over its limit (413, in limits)
    │   ├── PayloadSchemaError     a payload that does not fit the deployed task's schema
    │   └── InvalidScheduleError   a bad cron expression, time zone or scheduled task
    ├── OutsideTaskError           a helper that only works inside task code was called outside
    ├── ResumeMismatchError        a resumed attempt made another call than the one recorded
    ├── ChildRunFailedError        ``result.unwrap()`` on a child run that did not complete
    └── ApiError                   the facade answered with an error (SDK side)
        ├── BadRequestError        400
        ├── AuthenticationError    401
        ├── PermissionDeniedError  403
        ├── NotFoundError          404
        ├── ConflictError          409
        ├── PayloadTooLargeError   413
        ├── UnprocessableEntityError 422
        ├── RateLimitError         429
        ├── InternalServerError    5xx
        └── ApiConnectionError     the facade could not be reached

``ApiError`` carries the HTTP status as data, like Trigger.dev's client errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DurableRunsError(Exception):
    """Root of every error durableruns raises."""


class TaskDefinitionError(DurableRunsError):
    """A task definition is invalid (id, signature or options)."""


class DuplicateTaskError(TaskDefinitionError):
    """Two different tasks were registered under one id."""


class AbortTaskRunError(DurableRunsError):
    """Raise from task code to fail the run at once, without further attempts.

    Example::

        if not payload.user_id:
            raise AbortTaskRunError("user_id is required")
    """


class InvalidInputError(DurableRunsError):
    """A value given by the caller cannot be used; ``field`` names it (HTTP 400)."""

    status = 400

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ResumeMismatchError(DurableRunsError):
    """A resumed (or retried) attempt reached a recorded position with another call.

    The task's code re-runs from the top when an attempt resumes after a wait; every
    durable call (a wait, ``trigger_and_wait``, ``step.run``) must come in the same order
    with the same kind, task and step name, or the recorded results would be handed to
    the wrong call. The attempt fails at once (not retried: it would fail the same way).
    """

    def __init__(self, position: int, recorded: str, now: str) -> None:
        super().__init__(
            f"The task's code changed its durable calls: at position {position} the run "
            f"recorded {recorded}, but the code now calls {now}. Code outside step.run() "
            "re-runs when an attempt resumes; keep the order of waits, child runs and "
            "steps deterministic."
        )
        self.position = position
        self.recorded = recorded
        self.now = now

    def __reduce__(self) -> tuple[object, ...]:
        return (ResumeMismatchError, (self.position, self.recorded, self.now))


class MetadataTooLargeError(InvalidInputError):
    """Run metadata would exceed its size limit (HTTP 413, as other values over theirs)."""

    status = 413


class PayloadSchemaError(InvalidInputError):
    """The payload does not fit the deployed task's payload schema (HTTP 422)."""

    status = 422


class InvalidScheduleError(InvalidInputError):
    """A schedule's cron, time zone or task cannot be used (HTTP 422)."""

    status = 422


class OutsideTaskError(DurableRunsError):
    """``trigger_and_wait``, ``wait.for_`` … were called outside a task's code."""


class ChildRunFailedError(DurableRunsError):
    """A child run did not complete; raised by ``TaskRunResult.unwrap()``."""

    def __init__(self, run_id: str, task_id: str, status: str, message: str) -> None:
        super().__init__(f"Child run {run_id} of task {task_id!r} ended {status}: {message}")
        self.run_id = run_id
        self.task_id = task_id
        self.status = status


class ApiError(DurableRunsError):
    """The facade answered with a non-2xx status (SDK side), like Trigger.dev's client
    errors: one class per status family, with the status, body and headers as data."""

    status: int = 0

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})

    @classmethod
    def for_status(
        cls,
        status: int,
        message: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiError:
        """The most specific subclass for an HTTP status."""
        sub: type[ApiError] = cls
        if status >= 500:
            sub = InternalServerError
        else:
            sub = next((c for c in _BY_STATUS if c.status == status), cls)
        return sub(message, status=status, body=body, headers=headers)


class BadRequestError(ApiError):
    """400: the request was malformed."""

    status = 400


class AuthenticationError(ApiError):
    """401: missing or wrong secret key (or an expired public token)."""

    status = 401


class PermissionDeniedError(ApiError):
    """403: the credentials may not do this."""

    status = 403


class NotFoundError(ApiError):
    """404: no such run (or batch, schedule, token)."""

    status = 404


class ConflictError(ApiError):
    """409: the request conflicts with the resource's state."""

    status = 409


class PayloadTooLargeError(ApiError):
    """413: a payload, output or metadata over its limit."""

    status = 413


class UnprocessableEntityError(ApiError):
    """422: the request was well-formed but its values were refused."""

    status = 422


class RateLimitError(ApiError):
    """429: too many requests."""

    status = 429


class InternalServerError(ApiError):
    """5xx: the facade or the engine behind it failed (503: Temporal unreachable)."""

    status = 500


class ApiConnectionError(ApiError):
    """The facade could not be reached at all (no HTTP status)."""


_BY_STATUS: tuple[type[ApiError], ...] = (
    BadRequestError,
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    ConflictError,
    PayloadTooLargeError,
    UnprocessableEntityError,
    RateLimitError,
)
