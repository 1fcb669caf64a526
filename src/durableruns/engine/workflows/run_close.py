"""How a run's workflow closes, so the Temporal UI tells the truth about it.

A run that COMPLETED completes its workflow with the record as the result. A run that
ended FAILED, CRASHED, SYSTEM_FAILURE, TIMED_OUT or EXPIRED *fails* its workflow with an
``ApplicationError`` of type :data:`RUN_ENDED_TYPE` whose message is the run's status and
error and whose details are the whole record. A CANCELED run closes its workflow as
Canceled, with the record in the workflow's memo (a canceled workflow has no result).
Either way the record is read back without a worker: from the result, the failure or
the memo. Runs that closed before this (every one completed its workflow) still read
from their result.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from durableruns.engine import search_attributes as sa
from durableruns.models import RunRecord
from durableruns.record_fit import fit_record
from durableruns.status import RunStatus

RUN_ENDED_TYPE = "durableruns.RunEnded"
"""ApplicationError type of a run workflow that failed because its run did."""
CLOSE_STATUS_PATCH = "temporal-close-status"
"""``workflow.patched`` id: runs started before it complete their workflow whatever
their status, and keep doing so on replay."""
"""Memo key holding a canceled run's record."""


def closing_error(record: RunRecord) -> ApplicationError:
    """The error a failed run's workflow fails with."""
    error = record.error
    detail = f"{error.name}: {error.message}" if error else "no error recorded"
    return ApplicationError(
        f"Run {record.status.value}: {detail}",
        record.model_dump(mode="json"),
        type=RUN_ENDED_TYPE,
        non_retryable=True,
    )


def record_from_failure(failure: BaseException | None) -> RunRecord | None:
    """The record a failed run's workflow carries in its failure, if it is one."""
    if isinstance(failure, ApplicationError) and failure.type == RUN_ENDED_TYPE:
        details: Any = failure.details
        if details:
            return RunRecord.model_validate(details[0])
    return None


def closes_failed(status: RunStatus) -> bool:
    """Whether a run ending with ``status`` fails its workflow."""
    return status not in (RunStatus.COMPLETED, RunStatus.CANCELED)


def fitted_record(run: RunRecord, limit: int | None) -> RunRecord:
    """``run`` made to fit what Temporal can record (``record_fit``), from workflow code:
    a run is never stuck by its own data, it ends SYSTEM_FAILURE saying what was too
    big. A record that fits (every run before this rule) comes back unchanged."""
    fitted = fit_record(run, limit)
    if fitted.status is not run.status:  # the run workflow's _set_status refuses now
        workflow.upsert_search_attributes([sa.TRIGGER_STATUS.value_set(fitted.status.value)])
    return fitted
