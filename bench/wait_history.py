"""What ``bench/waits.py`` reads from a run's history: when it became WAITING, when it
completed, and, for every wait it resumed from, how long the resume took.

A resume is measured from the server's ``TIMER_FIRED`` event (the wait's end) to the
``started_at`` carried by the next ``attempt_started`` signal, or by the execution's
outcome when its worker does not announce starts (decoded with the project's data
converter): the moment the continuation's worker is about to run the
task's code again. In between, split by the history's own event times:

* ``fired -> scheduled``: the run workflow's task that starts the continuation
  (``ACTIVITY_TASK_SCHEDULED``);
* ``scheduled -> picked``: the attempt queue hands the activity to the worker
  (``ACTIVITY_TASK_STARTED``'s time);
* ``picked -> code``: the worker reads the journal (the ``attempt_state`` query, itself
  a workflow task on the runs queue) and builds the attempt's runtime.

Server and worker run on the same machine, so their clocks agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.converter import PayloadConverter

from durableruns.engine.converter import DATA_CONVERTER
from durableruns.models import AttemptOutput, AttemptStarted, RunRecord


def _at(event: HistoryEvent) -> float:
    """The event's time, epoch seconds."""
    return event.event_time.seconds + event.event_time.nanos / 1e9


@dataclass
class Resume:
    """One wait's end and the continuation that followed it."""

    fired: float
    scheduled: float | None = None
    scheduled_event_id: int | None = None
    picked: float | None = None
    code: float | None = None
    continuation: int | None = None

    @property
    def total_ms(self) -> float | None:
        return None if self.code is None else (self.code - self.fired) * 1000

    def parts_ms(self) -> tuple[float, float, float] | None:
        """(fired->scheduled, scheduled->picked, picked->code), when all are known."""
        if self.scheduled is None or self.picked is None or self.code is None:
            return None
        return (
            (self.scheduled - self.fired) * 1000,
            (self.picked - self.scheduled) * 1000,
            (self.code - self.picked) * 1000,
        )


@dataclass
class Timeline:
    """One run, as its history tells it."""

    run_id: str
    events: int
    started: float
    waiting_at: float | None = None
    """First upsert of ``TriggerStatus = WAITING``."""
    completed_at: float | None = None
    record: RunRecord | None = None
    """The workflow's result, when it completed."""
    resumes: list[Resume] = field(default_factory=list)
    """Timers that fired, each with the execution that followed (a continuation, or a
    new attempt after a retry backoff: see ``Resume.continuation``)."""
    executions: int = 0
    """ACTIVITY_TASK_SCHEDULED events: the first execution plus its continuations."""
    failures: list[str] = field(default_factory=list)
    """Executions that failed or timed out, as the history words it."""
    kinds: list[str] = field(default_factory=list)
    """Every event's type, in order (EVENT_TYPE_ dropped)."""


async def timeline(client: Client, run_id: str) -> Timeline:
    """Read and decode ``run_id``'s whole history."""
    history = await client.get_workflow_handle(run_id).fetch_history()
    events = history.events
    line = Timeline(run_id=run_id, events=len(events), started=_at(events[0]))
    pending: Resume | None = None
    picked_at: dict[int, float] = {}
    by_scheduled: dict[int, Resume] = {}
    for event in events:
        kind = event.event_type
        line.kinds.append(EventType.Name(kind).removeprefix("EVENT_TYPE_"))
        if kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = event.upsert_workflow_search_attributes_event_attributes
            payload = fields.search_attributes.indexed_fields.get("TriggerStatus")
            if (
                payload is not None
                and line.waiting_at is None
                and PayloadConverter.default.from_payload(payload) == "WAITING"
            ):
                line.waiting_at = _at(event)
        elif kind == EventType.EVENT_TYPE_TIMER_FIRED:
            pending = Resume(fired=_at(event))
            line.resumes.append(pending)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            line.executions += 1
            if pending is not None and pending.scheduled is None:
                pending.scheduled, pending.scheduled_event_id = _at(event), event.event_id
                by_scheduled[event.event_id] = pending
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            picked_at[event.activity_task_started_event_attributes.scheduled_event_id] = _at(event)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            signaled = event.workflow_execution_signaled_event_attributes
            if signaled.signal_name == "attempt_started" and pending is not None:
                [started] = await DATA_CONVERTER.decode(signaled.input.payloads, [AttemptStarted])
                pending.code = started.started_at.timestamp()
                pending.continuation = started.continuation
                pending = None
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            # Workers that do not announce starts send the start back with the outcome.
            completed = event.activity_task_completed_event_attributes
            resume = by_scheduled.get(completed.scheduled_event_id)
            if resume is not None and resume.code is None:
                [output] = await DATA_CONVERTER.decode(completed.result.payloads, [AttemptOutput])
                if isinstance(output, AttemptOutput) and output.started is not None:
                    resume.code = output.started.started_at.timestamp()
                    resume.continuation = output.started.continuation
        elif kind in (
            EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
            EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        ):
            failure = (
                event.activity_task_failed_event_attributes.failure
                if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
                else event.activity_task_timed_out_event_attributes.failure
            )
            cause = failure.cause.message if failure.HasField("cause") else ""
            line.failures.append(f"{line.kinds[-1]}: {failure.message} {cause}".strip())
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            line.completed_at = _at(event)
            payloads = event.workflow_execution_completed_event_attributes.result.payloads
            [line.record] = await DATA_CONVERTER.decode(payloads, [RunRecord])
    for resume in line.resumes:
        if resume.scheduled_event_id is not None:
            resume.picked = picked_at.get(resume.scheduled_event_id)
    return line


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in [0, 100]; nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def parts_summary(resumes: list[Resume]) -> str:
    """Median of each part of the resumes' latency, as one line."""
    parts = [p for r in resumes if (p := r.parts_ms()) is not None]
    if not parts:
        return "(no breakdown)"
    names = ("fired->scheduled", "scheduled->picked", "picked->code")
    medians: list[Any] = [percentile([p[i] for p in parts], 50) for i in range(3)]
    return ", ".join(f"{n} {m:.1f}" for n, m in zip(names, medians, strict=True)) + " ms (p50)"


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one moment (starts before ends at ties)."""
    points = sorted([(a, 0) for a, _ in intervals] + [(b, 1) for _, b in intervals])
    open_now = best = 0
    for _, is_end in points:
        open_now += -1 if is_end else 1
        best = max(best, open_now)
    return best
