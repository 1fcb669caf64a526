"""Errors raised by durableruns, one root with the tree drawn here (a test keeps the
drawing complete). The facade answers each with the HTTP status in brackets.

    DurableRunsError
    ├── TaskDefinitionError        a task is defined wrongly (bad id, bad signature)
    │   └── DuplicateTaskError     two tasks share an id
    ├── AbortTaskRunError          raised by task code: fail the run now, no retry
    │   └── WaitpointTimeoutError  ``unwrap()`` of a token wait that timed out
    ├── InvalidInputError          a value given is unusable (names the field) [400]
    │   ├── MetadataTooLargeError  run metadata over its size limit [413]
    │   ├── ValueTooLargeError     a payload or output over its limit [413]
    │   ├── UnrecordableValueError too large to keep without payload storage [413]
    │   ├── InvalidValueError      too deeply nested, or not valid Unicode [400]
    │   ├── PacketError            a payload packet that cannot be decoded [400]
    │   ├── PayloadSchemaError     a payload that does not fit the deployed task's schema [422]
    │   ├── InvalidScheduleError   a bad cron expression, time zone or scheduled task [422]
    │   ├── KeyExhaustedError      an idempotency or debounce key made too many runs [422]
    │   ├── UnknownLimitError      a concurrency limit no deployed task declares [422; 404 by name]
    │   ├── LimitChangeError       a change a concurrency limit or queue cannot take [422]
    │   └── StepOutsideJournalError a rerun's fromStep is not in the run's journal [422]
    ├── DurationError              a duration or date that cannot be understood (also a ValueError)
    ├── UnsupportedValueError      a list filter value visibility cannot search for [400]
    ├── OutsideTaskError           a helper that only works inside task code was called outside
    ├── LocalNotSetError           ``locals.get_or_throw`` of a local not set in this execution
    ├── ResumeMismatchError        a resumed attempt made another call than the one recorded
    ├── ChildRunFailedError        ``result.unwrap()`` on a child run that did not complete
    ├── RunNotFoundError           no run has this id [404]
    ├── ScheduleNotFoundError      no schedule has this id [404]
    ├── TokenNotFoundError         no wait token has this id [404]
    ├── TokenTimedOutError         a timed-out wait token cannot be completed [400]
    ├── UnknownQueueError          no deployed task uses this queue [404]
    ├── RunStateError              the run's state does not allow this [400]
    ├── EngineUnavailableError     Temporal could not be reached [503]
    │   └── SearchAttributeMissingError  the namespace lacks a search attribute [503]
    ├── ExpiredTokenError          a well-signed public token past its expiry [401]
    ├── TaskProcessError           a task process could not be started
    ├── TemporalConfigError        the Temporal connection settings are unusable
    ├── DevServerError             the dev server could not be started
    ├── DevConfigError             temporal-dev.yml, a flag or a variable has a bad value
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

``ApiError`` carries the HTTP status, body and headers as data, like Trigger.dev's
client errors. Not in the tree, on purpose: signals that never leave their module —
``RemoteError`` (an error crossing from a task process, rebuilt as the original),
``WorkflowGone`` (a watched workflow has no history), ``PacketNotFoundError`` (a
``LookupError``), ``ApiHTTPError`` (the facade's way to answer a status) and the run
workflow's private ``_NotStartedInTime`` and ``_ServedElsewhere`` (an offered execution
refused by the worker that took it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar


class DurableRunsError(Exception):
    """Root of every error durableruns raises.

    ``http_status`` is how the facade answers the error (the brackets in the tree above);
    None means it is not the caller's to see (a 500 "Internal error", logged). The
    facade has one handler for the whole tree (``api/errors.py``), so a new error
    chooses its status here, as data, not in a handler.
    """

    http_status: ClassVar[int | None] = None
    should_retry: ClassVar[bool] = True
    """False sends ``x-should-retry: false``: the official client would otherwise retry
    a 4xx such as a 404 for about 9 seconds."""

    def public_message(self) -> str:
        """What the caller is told (the message, unless the class says otherwise)."""
        return str(self)


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

    http_status = 400

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

    http_status = 413


class PayloadSchemaError(InvalidInputError):
    """The payload does not fit the deployed task's payload schema (HTTP 422)."""

    http_status = 422


class InvalidScheduleError(InvalidInputError):
    """A schedule's cron, time zone or task cannot be used (HTTP 422)."""

    http_status = 422


class OutsideTaskError(DurableRunsError):
    """``trigger_and_wait``, ``wait.for_`` … were called outside a task's code."""


class LocalNotSetError(DurableRunsError, LookupError):
    """``locals.get_or_throw`` of a local nothing set in this execution."""


class ChildRunFailedError(DurableRunsError):
    """A child run did not complete; raised by ``TaskRunResult.unwrap()``."""

    def __init__(self, run_id: str, task_id: str, status: str, message: str) -> None:
        super().__init__(f"Child run {run_id} of task {task_id!r} ended {status}: {message}")
        self.run_id = run_id
        self.task_id = task_id
        self.status = status


class DurationError(DurableRunsError, ValueError):
    """A duration or date that cannot be understood."""


class PacketError(InvalidInputError):
    """A payload packet that cannot be decoded; names the field at fault."""


class ValueTooLargeError(InvalidInputError):
    """A value over its size limit (HTTP 413); ``limit`` and ``size`` are in bytes."""

    http_status = 413

    def __init__(self, field: str, size: int, limit: int) -> None:
        super().__init__(
            field, f"{size} bytes exceeds the limit of {limit} bytes ({bytes_in_words(limit)})"
        )
        self.size = size
        self.limit = limit


class UnrecordableValueError(InvalidInputError):
    """Under our limits but refused by the engine's own per-value limit (2 MiB blobs)
    because payload storage is off (``DURABLERUNS_PAYLOAD_STORAGE=none``): HTTP 413."""

    http_status = 413

    def __init__(self, field: str) -> None:
        super().__init__(
            field,
            "too large to record without payload storage (the engine keeps at most 2 MiB "
            "per value in history; set DURABLERUNS_PAYLOAD_STORAGE to file or s3)",
        )


class InvalidValueError(InvalidInputError):
    """A value that no run could record: too deeply nested, or not valid Unicode."""


class UnsupportedValueError(DurableRunsError, ValueError):
    """A filter value visibility cannot search for."""

    http_status = 400


class EngineUnavailableError(DurableRunsError):
    """Temporal could not be reached. The message is ``<what failed>: <Temporal's
    reason>``; the facade shows callers only the part before the colon."""

    http_status = 503

    def public_message(self) -> str:
        """Only what failed: Temporal's own words (gRPC statuses, blob limits) stay in
        the facade's log."""
        return f"{str(self).partition(': ')[0]}: the run engine is unavailable, try again"


class SearchAttributeMissingError(EngineUnavailableError):
    """Temporal refused a run (or token) because its namespace lacks one of our search
    attributes: a namespace nobody set up. Retrying cannot help; ``durableruns setup``
    does, and the answer says so."""

    should_retry = False

    def __init__(self, message: str, attribute: str) -> None:
        super().__init__(message)
        self.attribute = attribute

    def public_message(self) -> str:
        """What failed, the attribute, and the command that registers it."""
        action = str(self).partition(": ")[0]
        return (
            f"{action}: the namespace has no search attribute {self.attribute}; register "
            "the search attributes with `durableruns setup`"
        )


MISSING_SEARCH_ATTRIBUTE = re.compile(r"no mapping defined for search attribute (\w+)")
"""Temporal's words when a namespace lacks a search attribute a start sets."""


def engine_unavailable(action: str, reason: str) -> EngineUnavailableError:
    """The error for ``action`` failing at Temporal with ``reason``: a namespace lacking
    a search attribute is told apart (SearchAttributeMissingError)."""
    missing = MISSING_SEARCH_ATTRIBUTE.search(reason)
    if missing:
        return SearchAttributeMissingError(f"{action}: {reason}", missing[1])
    return EngineUnavailableError(f"{action}: {reason}")


class RunNotFoundError(DurableRunsError):
    """No run has this id."""

    http_status = 404
    should_retry = False

    def public_message(self) -> str:
        """Always the same words (the official client matches on them)."""
        return "Run not found"


class RunStateError(DurableRunsError):
    """The run is not in a state that allows this (e.g. reschedule of a non-delayed run)."""

    http_status = 400


class UnknownQueueError(DurableRunsError):
    """No deployed task uses this queue."""

    http_status = 404


class ScheduleNotFoundError(DurableRunsError):
    """No schedule has this id (in this environment)."""

    http_status = 404
    should_retry = False

    def public_message(self) -> str:
        """Always the same words."""
        return "Schedule not found"


class TaskProcessError(DurableRunsError):
    """A task process could not be started (the attempt ends SYSTEM_FAILURE)."""


class TemporalConfigError(DurableRunsError):
    """The Temporal configuration is unusable, or Temporal refused us for good."""


class DevServerError(DurableRunsError):
    """The dev server could not be configured or started, or died while starting."""


class DevConfigError(DurableRunsError):
    """``temporal-dev.yml``, a flag or an environment variable has an invalid value."""


class ExpiredTokenError(DurableRunsError):
    """A well-signed token past its ``exp``."""

    http_status = 401


class UnknownLimitError(InvalidInputError):
    """No deployed task declares this concurrency limit (HTTP 422 in a trigger; the
    ``/api/v1/concurrency-limits/{name}`` routes answer 404)."""

    http_status = 422


class LimitChangeError(InvalidInputError):
    """A runtime change a concurrency limit or queue cannot take, e.g. a per-key
    override of a limit without ``per_key``, or a TTL over 30 days (HTTP 422)."""

    http_status = 422


class StepOutsideJournalError(InvalidInputError):
    """A rerun's ``fromStep`` names no position of the run's journal (HTTP 422, naming
    the last position there is)."""

    http_status = 422


class KeyExhaustedError(InvalidInputError):
    """An idempotency or debounce key has made as many runs as one key may (HTTP 422;
    not 409, which the official client retries)."""

    http_status = 422


def bytes_in_words(limit: int) -> str:
    """``3145728`` → ``3 MiB``, ``262144`` → ``256 KiB``."""
    mib = 1024 * 1024
    return f"{limit // mib} MiB" if limit % mib == 0 else f"{limit // 1024} KiB"


class TokenNotFoundError(DurableRunsError):
    """No token has this id (in this environment)."""

    http_status = 404
    should_retry = False


class TokenTimedOutError(DurableRunsError):
    """The token timed out before it was completed: it can no longer be completed."""

    http_status = 400
    should_retry = False


class WaitpointTimeoutError(AbortTaskRunError):
    """``unwrap()`` of a token wait that timed out (Trigger.dev's name). It fails the run
    at once: a retried attempt would find the same timed-out token (waits are recorded
    by position), so retrying cannot help."""


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
