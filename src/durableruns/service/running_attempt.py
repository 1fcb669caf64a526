"""A running run's record, completed from what Temporal knows of its attempt.

An execution signals its run that the code started only once it has run
``announce_after_s`` (never with ``announce_attempts`` off): two Temporal Cloud actions
and five history events saved per shorter execution, whose run learns the start with
the outcome. Until then its record says QUEUED (or WAITING, with the waits it resumed
from), and the ``get`` query lists the outstanding attempt with no start. ``describe``
(not an action) knows better: the pending attempt activity is STARTED (or being
canceled), since when. For the milliseconds between the code ending and the run
recording the outcome, no attempt is pending either; then the history's newest events
tell (:func:`ended_attempts`, one read, only while :func:`awaits_an_outcome`), so a run
never reads QUEUED again after EXECUTING. :func:`with_running_attempt` applies these;
:func:`settled` is the record without an attempt nothing says has started (for reads
that have no description at hand). Records of announced attempts come out unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowExecutionDescription

from durableruns.engine.names import attempt_execution
from durableruns.models import AttemptRecord, RunRecord
from durableruns.run_state import attempt_id
from durableruns.status import AttemptStatus, RunStatus

WORKFLOW_TASK_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
ATTEMPT_ENDS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}
"""The events that end an execution, and their attributes' field."""
FIRST_OUTCOME_EVENTS = 8
"""The shortest history holding an execution's outcome (started, a workflow task's
three events, the execution's scheduled, started and ended, the next task scheduled):
a run just triggered, with fewer, is not asked for its history's tail."""
UNANNOUNCED_STATUSES = (RunStatus.QUEUED, RunStatus.DEQUEUED, RunStatus.WAITING)
"""How a run whose code started but has not announced it is listed and read."""
RUNNING_STATES = (
    PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
    # Started and being canceled (the run was): still running until its code stops.
    PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED,
)


def started_attempts(
    description: WorkflowExecutionDescription,
) -> dict[int, tuple[datetime, datetime]]:
    """Attempt number → (scheduled, started) of its execution running now."""
    started: dict[int, tuple[datetime, datetime]] = {}
    for pending in description.raw_description.pending_activities:
        execution = attempt_execution(pending.activity_type.name, pending.activity_id)
        if execution is None or pending.state not in RUNNING_STATES:
            continue
        if pending.HasField("last_started_time"):
            started[execution[0]] = (
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


def awaits_an_outcome(record: RunRecord, description: WorkflowExecutionDescription) -> bool:
    """Whether the run may hold an execution's outcome it has not applied yet: its record
    does not show a start, no attempt is pending, and a workflow task is (an execution
    that ended schedules one). Then only the history's tail tells the start
    (:func:`ended_attempts`); otherwise the run would read QUEUED for the few
    milliseconds between its code ending and the run recording it."""
    raw = description.raw_description
    return (
        _unannounced(record)
        and raw.workflow_execution_info.history_length >= FIRST_OUTCOME_EVENTS
        and not started_attempts(description)
        and raw.HasField("pending_workflow_task")
    )


def ended_attempts(
    newest_first: Sequence[HistoryEvent], description: WorkflowExecutionDescription
) -> dict[int, tuple[datetime, datetime]]:
    """Attempt number → (scheduled, started) of each execution whose end is in the
    history after the run's last completed workflow task (so not applied yet), from the
    newest events back, as of ``description`` (later events are the run moving on); an
    execution whose scheduling is not among them is left out."""
    ends: dict[int, int] = {}  # scheduled event id → started event id
    applied = False
    by_id: dict[int, HistoryEvent] = {}
    described = description.raw_description.workflow_execution_info.history_length
    for event in newest_first:
        if event.event_id > described:
            continue
        by_id[event.event_id] = event
        if event.event_type == WORKFLOW_TASK_COMPLETED:
            applied = True
        elif not applied and (field := ATTEMPT_ENDS.get(event.event_type)) is not None:
            end = getattr(event, field)
            if end.started_event_id:  # 0: it never started (timed out or canceled first)
                ends[end.scheduled_event_id] = end.started_event_id
    ended: dict[int, tuple[datetime, datetime]] = {}
    for scheduled_id, started_id in ends.items():
        scheduled, started = by_id.get(scheduled_id), by_id.get(started_id)
        if scheduled is None or started is None:
            continue
        attributes = scheduled.activity_task_scheduled_event_attributes
        execution = attempt_execution(attributes.activity_type.name, attributes.activity_id)
        if execution is not None:
            ended[execution[0]] = (
                scheduled.event_time.ToDatetime(tzinfo=UTC),
                started.event_time.ToDatetime(tzinfo=UTC),
            )
    return ended


def with_running_attempt(
    record: RunRecord,
    description: WorkflowExecutionDescription,
    ended: dict[int, tuple[datetime, datetime]] | None = None,
) -> RunRecord:
    """``record`` as the run's pending attempt shows it, or an attempt that ``ended``
    but the run has not recorded yet: EXECUTING since its start."""
    started = started_attempts(description) | (ended or {})
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
    if started and _unannounced(record):
        update.update(status=RunStatus.EXECUTING, waits=[])
    return record.model_copy(update=update)


def _unannounced(record: RunRecord) -> bool:
    """Whether ``record`` reads as a run whose execution has not announced its start
    would (WAITING: with the waits it resumed from)."""
    return record.status in UNANNOUNCED_STATUSES and (
        record.status is not RunStatus.WAITING or bool(record.waits)
    )


def _unstarted(status: AttemptStatus, started_at: datetime | None) -> bool:
    return status is AttemptStatus.EXECUTING and started_at is None
