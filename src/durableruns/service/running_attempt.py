"""A running run's record, completed from what Temporal knows of its attempt.

A worker started with ``announce_attempts`` off does not signal its run when the code
starts (two Temporal Cloud actions and five history events saved per execution): the
run learns the start with the attempt's outcome. Until then its record says QUEUED (or
WAITING, with the waits it resumed from), and the ``get`` query lists the outstanding
attempt with no start. ``describe`` (not an action) knows better: the pending attempt
activity is STARTED, since when. :func:`with_running_attempt` applies that;
:func:`settled` is the record without an attempt nothing says has started (for reads
that have no description at hand). Records of announced attempts come out unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import WorkflowExecutionDescription

from durableruns.engine.names import ATTEMPT_ACTIVITY
from durableruns.models import AttemptRecord, RunRecord
from durableruns.run_state import attempt_id
from durableruns.status import AttemptStatus, RunStatus

STARTED = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED


def started_attempts(
    description: WorkflowExecutionDescription,
) -> dict[int, tuple[datetime, datetime]]:
    """Attempt number → (scheduled, started) of its execution running now."""
    started: dict[int, tuple[datetime, datetime]] = {}
    for pending in description.raw_description.pending_activities:
        if pending.activity_type.name != ATTEMPT_ACTIVITY or pending.state != STARTED:
            continue
        number = pending.activity_id.removeprefix("attempt-").split(".")[0]
        if number.isdigit() and pending.HasField("last_started_time"):
            started[int(number)] = (
                pending.scheduled_time.ToDatetime(tzinfo=UTC),
                pending.last_started_time.ToDatetime(tzinfo=UTC),
            )
    return started


def settled(record: RunRecord) -> RunRecord:
    """``record`` without an attempt that is outstanding but not known to have started."""
    attempts = [a for a in record.attempts if not _unstarted(a.status, a.started_at)]
    if len(attempts) == len(record.attempts):
        return record
    return record.model_copy(update={"attempts": attempts})


def with_running_attempt(record: RunRecord, description: WorkflowExecutionDescription) -> RunRecord:
    """``record`` as the run's pending attempt shows it: EXECUTING since its start."""
    started = started_attempts(description)
    attempts = []
    for attempt in record.attempts:
        if _unstarted(attempt.status, attempt.started_at):
            if attempt.number not in started:
                continue
            attempt = attempt.model_copy(update={"started_at": started[attempt.number][1]})
        attempts.append(attempt)
    known = {attempt.number for attempt in attempts}
    for number, (scheduled_at, started_at) in sorted(started.items()):
        if number not in known:  # read from the memo: the running attempt is not in it
            attempts.append(
                AttemptRecord(
                    id=attempt_id(record.id, number),
                    number=number,
                    created_at=scheduled_at,
                    started_at=started_at,
                )
            )
    update: dict[str, object] = {"attempts": attempts}
    if started and record.started_at is None:
        update["started_at"] = min(at for _, at in started.values())
    unannounced = record.status in (RunStatus.QUEUED, RunStatus.DEQUEUED) or (
        record.status is RunStatus.WAITING and record.waits
    )
    if started and unannounced:
        update.update(status=RunStatus.EXECUTING, waits=[])
    return record.model_copy(update=update)


def _unstarted(status: AttemptStatus, started_at: datetime | None) -> bool:
    return status is AttemptStatus.EXECUTING and started_at is None
