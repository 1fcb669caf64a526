"""A run's waterfall, read from its own Temporal history (no collector, no worker).

The run workflow's history already holds every moment the dashboard draws, with the
server's timestamps: each execution of an attempt is an activity (``attempt-N`` and its
continuations ``attempt-N.k``: scheduled, started, closed), a suspension is the gap
between an execution that returned suspended and the next continuation, waits inside
it are timers and child workflows, a step is its ``step_recorded`` signal, a short
timer its ``short_wait_recorded`` signal, a queue slot the ``slot_granted`` signal
after the enqueue marker, a value sent to an input stream its ``input_sent`` signal (and
one consumed in the process its ``input_consumed`` signal). :func:`run_timeline` turns
them into spans (parent links, start, end, status), the same tree the OpenTelemetry
trace has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from durableruns.engine.names import (
    ATTEMPT_ELSEWHERE_TYPES,
    INPUT_CONSUMED_SIGNAL,
    INPUT_SENT_SIGNAL,
    SLOT_GRANTED_SIGNAL,
    attempt_execution,
)
from durableruns.input_models import InputConsumed, InputSent
from durableruns.models import AttemptOutput, RunInput, RunRecord, StepRecord, WaitSpec
from durableruns.status import is_completed
from durableruns.wire_logs import TimelineSpan

MAX_EVENTS = 20_000
E = EventType
CLOSED_ACTIVITY = {
    E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "COMPLETED",
    E.EVENT_TYPE_ACTIVITY_TASK_FAILED: "FAILED",
    E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "TIMED_OUT",
    E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "CANCELED",
}
CLOSED_CHILD = {
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED: "COMPLETED",
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: "FAILED",
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: "CANCELED",
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: "TERMINATED",
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: "TIMED_OUT",
}
CLOSED_RUN = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}


@dataclass
class _Builder:
    client: Client
    record: RunRecord
    spans: list[TimelineSpan] = field(default_factory=list)
    by_event: dict[int, TimelineSpan] = field(default_factory=dict)
    attempts: dict[int, TimelineSpan] = field(default_factory=dict)
    waits: dict[int, TimelineSpan] = field(default_factory=dict)
    """The open suspension of each attempt."""
    running: TimelineSpan | None = None
    """The execution steps are recorded under."""
    last_failed: TimelineSpan | None = None
    marker_at: datetime | None = None
    timers: dict[str, TimelineSpan] = field(default_factory=dict)

    added: int = 0

    def add(self, **fields: Any) -> TimelineSpan:
        span = TimelineSpan(id=f"s{self.added}", **fields)
        self.added += 1
        self.spans.append(span)
        return span

    def open_wait(self) -> TimelineSpan | None:
        return next(iter(self.waits.values()), None)


async def run_timeline(client: Client, record: RunRecord) -> tuple[list[TimelineSpan], bool]:
    """The spans of ``record``'s run from its history; True when the history was cut."""
    handle = client.get_workflow_handle(record.id)
    builder = _Builder(client, record)
    run = builder.add(kind="run", name=f"run {record.task_id}", start=record.created_at)
    if record.delayed_until is not None:
        builder.add(
            kind="delay", name="delayed", parent=run.id, start=record.created_at,
            end=record.delayed_until,
        )  # fmt: skip
    count = 0
    async for event in handle.fetch_history_events():
        count += 1
        if count > MAX_EVENTS:
            return builder.spans, True
        await _on_event(builder, run, event)
    run.status = record.status.value
    run.end = record.finished_at if run.end is None else run.end
    if is_completed(record.status) and run.end is not None:
        _close_at_end(builder.spans, run.end, run.status)
    return builder.spans, False


def _close_at_end(spans: list[TimelineSpan], end: datetime, status: str) -> None:
    """A finished run's spans end by its end: what was still open (the wait of a
    canceled run, an execution cut short) ends there, with the run's final status,
    instead of growing on every visit; so does a timer that was to fire later."""
    for span in spans:
        if span.kind == "run":
            continue
        late_timer = span.status == "WAITING" and span.end is not None and span.end > end
        if span.end is None or late_timer:
            span.end = end
            if span.status in (None, "WAITING") or (
                span.status == "EXECUTING" and span.kind != "child"
            ):
                span.status = status


async def _on_event(b: _Builder, run: TimelineSpan, event: HistoryEvent) -> None:
    at = event.event_time.ToDatetime(tzinfo=UTC)
    kind = event.event_type
    if kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        run.start = at
    elif kind in CLOSED_RUN:
        run.end = at
    elif kind == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        _scheduled(b, run, event, at)
    elif kind == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        span = b.by_event.get(event.activity_task_started_event_attributes.scheduled_event_id)
        if span is not None:
            span.queued_at, span.start = span.start, at
    elif kind in CLOSED_ACTIVITY:
        await _activity_closed(b, event, at, CLOSED_ACTIVITY[kind])
    elif kind == E.EVENT_TYPE_TIMER_STARTED:
        _timer_started(b, event, at)
    elif kind in (E.EVENT_TYPE_TIMER_FIRED, E.EVENT_TYPE_TIMER_CANCELED):
        attrs = (
            event.timer_fired_event_attributes
            if kind == E.EVENT_TYPE_TIMER_FIRED
            else event.timer_canceled_event_attributes
        )
        timer = b.timers.pop(attrs.timer_id, None)
        if timer is not None:
            timer.end, timer.status = (
                at,
                "FIRED" if kind == E.EVENT_TYPE_TIMER_FIRED else "CANCELED",
            )
    elif kind == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        await _child_started(b, run, event, at)
    elif kind in CLOSED_CHILD:
        initiated = _initiated_id(event)
        child = b.by_event.get(initiated)
        if child is not None:
            child.end, child.status = at, CLOSED_CHILD[kind]
    elif kind == E.EVENT_TYPE_MARKER_RECORDED:
        b.marker_at = at
    elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        await _signaled(b, run, event, at)


def _scheduled(b: _Builder, run: TimelineSpan, event: HistoryEvent, at: datetime) -> None:
    attrs = event.activity_task_scheduled_event_attributes
    execution = attempt_execution(attrs.activity_type.name, attrs.activity_id)
    if execution is None:
        return
    n, c = execution
    attempt = b.attempts.get(n)
    if attempt is None:
        status = next((a.status.value for a in b.record.attempts if a.number == n), None)
        attempt = b.attempts[n] = b.add(
            kind="attempt", name=f"attempt {n}", parent=run.id, start=at, attempt=n, status=status
        )
        if b.last_failed is not None:
            _close_backoff(b, at)
    wait = b.waits.pop(n, None)
    if wait is not None:
        wait.end = at
    name = f"continuation {c}" if c else "execution"
    span = b.add(
        kind="execution", name=name, parent=attempt.id, start=at, attempt=n, continuation=c
    )
    b.by_event[event.event_id] = b.running = span


def _close_backoff(b: _Builder, at: datetime) -> None:
    for span in b.spans:
        if span.kind == "backoff" and span.end is None:
            span.end = at
    b.last_failed = None


async def _activity_closed(b: _Builder, event: HistoryEvent, at: datetime, status: str) -> None:
    attrs: Any = {
        "COMPLETED": event.activity_task_completed_event_attributes,
        "FAILED": event.activity_task_failed_event_attributes,
        "TIMED_OUT": event.activity_task_timed_out_event_attributes,
        "CANCELED": event.activity_task_canceled_event_attributes,
    }[status]
    span = b.by_event.get(attrs.scheduled_event_id)
    if span is None or span.attempt is None:
        return
    if status == "FAILED" and _refused(attrs.failure):
        b.spans.remove(span)  # an offer the worker could not take: not an execution
        b.running = None
        return
    span.end, span.status = at, status
    attempt = b.attempts[span.attempt]
    if status == "COMPLETED":
        [output] = await b.client.data_converter.decode(attrs.result.payloads, [AttemptOutput])
        if output.suspended is not None:
            span.status = "SUSPENDED"
            waits = output.suspended.waits
            names = [_wait_name(w) for w in waits] or ["handed back"]
            tokens = [w.token_id for w in waits if w.kind == "token" and w.token_id]
            b.waits[span.attempt] = b.add(
                kind="wait", name=" + ".join(names), parent=attempt.id, start=at,
                attempt=span.attempt, token_id=tokens[0] if len(tokens) == 1 else None,
            )  # fmt: skip
            return
    attempt.end = at
    if status != "COMPLETED":
        b.last_failed = span


def _refused(failure: Failure) -> bool:
    """Whether a failed execution was an offer refused by the worker that took it
    (``RunWorkflow._offered_outcome``): it never ran, and ran next on the task's queue."""
    return failure.application_failure_info.type in ATTEMPT_ELSEWHERE_TYPES


def _wait_name(wait: WaitSpec) -> str:
    if wait.kind == "timer":
        return "wait.for / wait.until"
    if wait.kind == "input":
        return f"input stream {wait.stream_id!r}"
    if wait.kind == "token":
        return f"wait.for_token ({wait.token_id})"
    call = "batch_trigger_and_wait" if wait.batch else "trigger_and_wait"
    return f"{call} ({len(wait.items)} run{'s' if len(wait.items) != 1 else ''})"


def _timer_started(b: _Builder, event: HistoryEvent, at: datetime) -> None:
    attrs = event.timer_started_event_attributes
    end = at + timedelta(seconds=attrs.start_to_fire_timeout.ToTimedelta().total_seconds())
    wait = b.open_wait()
    if wait is not None:
        b.timers[attrs.timer_id] = b.add(
            kind="timer", name="timer", parent=wait.id, start=at, end=end, status="WAITING"
        )
    elif b.last_failed is not None:
        parent = b.attempts[b.last_failed.attempt or 0].parent
        b.timers[attrs.timer_id] = b.add(
            kind="backoff", name="retry backoff", parent=parent, start=at, end=end
        )


def _initiated_id(event: HistoryEvent) -> int:
    for name in (
        "child_workflow_execution_completed_event_attributes",
        "child_workflow_execution_failed_event_attributes",
        "child_workflow_execution_canceled_event_attributes",
        "child_workflow_execution_terminated_event_attributes",
        "child_workflow_execution_timed_out_event_attributes",
    ):
        if event.HasField(name):
            initiated: int = getattr(event, name).initiated_event_id
            return initiated
    return 0


async def _child_started(b: _Builder, run: TimelineSpan, event: HistoryEvent, at: datetime) -> None:
    attrs = event.start_child_workflow_execution_initiated_event_attributes
    task_id = ""
    if attrs.input.payloads:
        [child] = await b.client.data_converter.decode(attrs.input.payloads, [RunInput])
        task_id = child.task_id
    wait = b.open_wait()
    b.by_event[event.event_id] = b.add(
        kind="child", name=f"run {task_id}".strip(), parent=(wait or run).id, start=at,
        run_id=attrs.workflow_id, status="EXECUTING",
    )  # fmt: skip


async def _signaled(b: _Builder, run: TimelineSpan, event: HistoryEvent, at: datetime) -> None:
    attrs = event.workflow_execution_signaled_event_attributes
    name = attrs.signal_name
    if name == SLOT_GRANTED_SIGNAL:
        start = b.marker_at or at
        b.add(kind="queue", name="waiting for a queue slot", parent=run.id, start=start, end=at)
        return
    if name in (INPUT_SENT_SIGNAL, INPUT_CONSUMED_SIGNAL):
        await _input(b, run, name, attrs.input.payloads, at)
        return
    if name not in ("step_recorded", "short_wait_recorded") or b.running is None:
        return
    if name == "step_recorded":
        [step] = await b.client.data_converter.decode(attrs.input.payloads, [StepRecord])
        b.add(
            kind="step", name=step.call, parent=b.running.id, start=at, end=at,
            attempt=b.running.attempt, position=step.position,
        )  # fmt: skip
        return
    [wait] = await b.client.data_converter.decode(attrs.input.payloads, [WaitSpec])
    if wait.until is not None:
        b.add(
            kind="timer", name="wait (in process)", parent=b.running.id, start=at,
            end=max(at, wait.until), attempt=b.running.attempt,
        )  # fmt: skip


async def _input(b: _Builder, run: TimelineSpan, name: str, payloads: Any, at: datetime) -> None:
    """A value received (under the wait it may end, the running execution, or the run),
    or consumed in the process (under the execution)."""
    if name == INPUT_SENT_SIGNAL:
        [sent] = await b.client.data_converter.decode(payloads, [InputSent])
        parent = b.open_wait() or b.running or run
        b.add(
            kind="input", name=f"input {sent.stream_id!r} received ({sent.size} B)",
            parent=parent.id, start=at, end=at,
        )  # fmt: skip
        return
    [consumed] = await b.client.data_converter.decode(payloads, [InputConsumed])
    if b.running is None:
        return
    got = "timed out" if not consumed.result.ok else f"value {consumed.result.index}"
    b.add(
        kind="input", name=f"{consumed.call} → {got}", parent=b.running.id, start=at, end=at,
        attempt=b.running.attempt,
    )  # fmt: skip
