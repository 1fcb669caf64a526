"""The run workflow's side of how an attempt ends: decoding a failed execution of the
attempt activity into an :class:`~durableruns.models.AttemptFailure`.

The worker raises a classified failure as an ``ApplicationError`` of type
``ATTEMPT_FAILURE_TYPE`` (``worker/attempt_outcome.py``); anything else is Temporal's own
report (a worker that stopped heartbeating) or a bug of ours.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutType
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from durableruns.engine.names import ATTEMPT_FAILURE_TYPE
    from durableruns.models import AttemptFailure, RunError
    from durableruns.status import AttemptStatus


def failure_from_activity_error(err: ActivityError) -> AttemptFailure:
    """Classify a failed attempt: the worker's own report, a timeout, or our bug."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type == ATTEMPT_FAILURE_TYPE:
        return AttemptFailure.model_validate(cause.details[0])
    if isinstance(cause, ActivityTimeoutError) and cause.type is not TimeoutType.START_TO_CLOSE:
        return AttemptFailure(
            error=RunError(
                name="WorkerLost",
                message=f"The worker running this attempt stopped responding ({cause.type})",
            ),
        )
    return AttemptFailure(
        status=AttemptStatus.SYSTEM_FAILURE,
        error=RunError(name=type(cause).__name__, message=str(cause or err)),
        retryable=False,
    )
