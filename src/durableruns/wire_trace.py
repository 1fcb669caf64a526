"""A run's waterfall (``wire_logs.TimelineSpan``, read from its history) in the shapes the
official client reads: ``runs.retrieveRunTrace`` (a span tree, or flat pages),
``retrieveSpan`` (one span) and ``listRunEvents`` (Trigger.dev's event rows).

Pure functions: the spans come from ``engine/run_timeline.py``; nothing here reads
Temporal. Span ids are the timeline's own (``s0`` is the run), stable for a history.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from durableruns.models import RunRecord
from durableruns.wire_logs import TimelineSpan

ERROR_STATUSES = frozenset(
    {"FAILED", "CRASHED", "SYSTEM_FAILURE", "TIMED_OUT", "EXPIRED", "TERMINATED"}
)
CANCELED_STATUSES = frozenset({"CANCELED"})


def trace_id(record: RunRecord) -> str:
    """The run's OpenTelemetry trace id when tracing was on, else one derived from the
    run id (32 hex digits, stable), so the client always gets a trace id."""
    return record.options.trace_id or hashlib.sha256(record.id.encode()).hexdigest()[:32]


def _duration_ms(span: TimelineSpan, now: datetime) -> float:
    end = span.end or now
    return max(0.0, (end - span.start).total_seconds() * 1000)


def _flags(span: TimelineSpan) -> dict[str, bool]:
    status = span.status or ""
    return {
        "isError": status in ERROR_STATUSES,
        "isPartial": span.end is None,
        "isCancelled": status in CANCELED_STATUSES,
    }


def _properties(span: TimelineSpan) -> dict[str, Any]:
    props: dict[str, Any] = {"kind": span.kind}
    for key, value in (
        ("status", span.status),
        ("attempt", span.attempt),
        ("continuation", span.continuation),
        ("childRunId", span.run_id),
        ("queuedAt", span.queued_at.isoformat() if span.queued_at else None),
    ):
        if value is not None:
            props[key] = value
    return props


def _data(span: TimelineSpan, record: RunRecord, now: datetime) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message": span.name,
        "taskSlug": record.task_id,
        "events": [],
        "startTime": span.start.isoformat(),
        "duration": _duration_ms(span, now),
        **_flags(span),
        "level": "TRACE",
        "properties": _properties(span),
    }
    if span.kind == "run":
        if record.version:
            data["workerVersion"] = record.version
        if record.options.queue:
            data["queueName"] = record.options.queue
        if record.output is not None:
            data["output"] = record.output
    return data


def trace_tree(record: RunRecord, spans: list[TimelineSpan], now: datetime) -> dict[str, Any]:
    """``RetrieveRunTraceResponseBody``: ``{trace: {traceId, rootSpan}}``, children nested."""
    nodes: dict[str, dict[str, Any]] = {}
    for span in spans:
        node: dict[str, Any] = {"id": span.id, "runId": record.id, "children": []}
        if span.parent is not None:
            node["parentId"] = span.parent
        node["data"] = _data(span, record, now)
        nodes[span.id] = node
    for span in spans:
        if span.parent is not None and span.parent in nodes:
            nodes[span.parent]["children"].append(nodes[span.id])
    return {"trace": {"traceId": trace_id(record), "rootSpan": nodes[spans[0].id]}}


def trace_page(
    record: RunRecord, spans: list[TimelineSpan], now: datetime, *, size: int, after: int
) -> dict[str, Any]:
    """``RetrieveRunTracePageResponseBody``: flat spans from position ``after``, ``size``
    of them, with the attempts that failed."""
    page = spans[after : after + size]
    data = []
    for span in page:
        item: dict[str, Any] = {
            "id": span.id,
            "runId": record.id,
            "message": span.name,
            "startTime": span.start.isoformat(),
            "duration": _duration_ms(span, now),
            **_flags(span),
            "level": "TRACE",
        }
        if span.parent is not None:
            item["parentId"] = span.parent
        if span.attempt is not None:
            item["attemptNumber"] = span.attempt
        data.append(item)
    failures = [
        {"spanId": s.id, "attemptNumber": s.attempt, "runId": record.id}
        for s in spans
        if s.kind == "attempt" and s.attempt is not None and (s.status or "") in ERROR_STATUSES
    ]
    pagination: dict[str, Any] = {}
    if after + size < len(spans):
        pagination["next"] = str(after + size)
    return {"data": data, "attemptFailures": failures, "pagination": pagination}


def span_detail(record: RunRecord, span: TimelineSpan, now: datetime) -> dict[str, Any]:
    """``RetrieveSpanDetailResponseBody`` for one span."""
    return {
        "spanId": span.id,
        "parentId": span.parent,
        "runId": record.id,
        "message": span.name,
        **_flags(span),
        "level": "TRACE",
        "startTime": span.start.isoformat(),
        "durationMs": _duration_ms(span, now),
        "properties": _properties(span),
        "events": [],
        "entityType": span.kind,
    }


def _nanoseconds(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1_000_000) * 1000)


def run_events(record: RunRecord, spans: list[TimelineSpan], now: datetime) -> dict[str, Any]:
    """``listRunEvents``: ``{events: [...]}``, one row per span as Trigger.dev's event
    store has them (``startTime`` in nanoseconds since the epoch as a string,
    ``duration`` in nanoseconds)."""
    events: list[dict[str, Any]] = []
    for span in spans:
        events.append(
            {
                "spanId": span.id,
                "parentId": span.parent,
                "runId": record.id,
                "traceId": trace_id(record),
                "message": span.name,
                "kind": span.kind.upper(),
                "taskSlug": record.task_id,
                "attemptNumber": span.attempt,
                "startTime": _nanoseconds(span.start),
                "duration": round(_duration_ms(span, now) * 1_000_000),
                **_flags(span),
                "level": "TRACE",
                "style": {},
                "events": [],
                "properties": _properties(span),
            }
        )
    return {"events": events}


def utc_now() -> datetime:
    """Now, for the duration of spans still open."""
    return datetime.now(UTC)
