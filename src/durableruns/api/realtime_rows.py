"""A run as a row of Trigger.dev's realtime shape (the Electric HTTP protocol that
``runs.subscribeToRun`` of the official client long-polls), kept pure so the wire
format is testable without a server.

What the official client insists on (trigger-api.md §7): every value is a string or
null and is decoded by the column types in the ``electric-schema`` header; ``status``
uses Trigger.dev's *internal* names (an unknown one silently becomes QUEUED); timestamps
are ISO-8601 *without* the trailing ``Z`` (the client appends one); the subscription
ends once ``completedAt`` is set, so every final status sets it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from durableruns.durations import format_duration
from durableruns.models import RunRecord
from durableruns.status import RunStatus, is_completed

INTERNAL_STATUS: dict[RunStatus, str] = {
    RunStatus.PENDING_VERSION: "PENDING_VERSION",
    RunStatus.DELAYED: "DELAYED",
    RunStatus.QUEUED: "PENDING",
    RunStatus.DEQUEUED: "DEQUEUED",
    RunStatus.EXECUTING: "EXECUTING",
    RunStatus.WAITING: "WAITING_TO_RESUME",
    RunStatus.COMPLETED: "COMPLETED_SUCCESSFULLY",
    RunStatus.FAILED: "COMPLETED_WITH_ERRORS",
    RunStatus.CANCELED: "CANCELED",
    RunStatus.CRASHED: "CRASHED",
    RunStatus.SYSTEM_FAILURE: "SYSTEM_FAILURE",
    RunStatus.EXPIRED: "EXPIRED",
    RunStatus.TIMED_OUT: "TIMED_OUT",
}
"""API status → the internal name realtime rows carry (the inverse of §5's table)."""

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("id", "text", 0),
    ("friendlyId", "text", 0),
    ("taskIdentifier", "text", 0),
    ("status", "text", 0),
    ("createdAt", "timestamp", 0),
    ("updatedAt", "timestamp", 0),
    ("startedAt", "timestamp", 0),
    ("delayUntil", "timestamp", 0),
    ("queuedAt", "timestamp", 0),
    ("expiredAt", "timestamp", 0),
    ("completedAt", "timestamp", 0),
    ("number", "int4", 0),
    ("usageDurationMs", "int4", 0),
    ("costInCents", "float8", 0),
    ("baseCostInCents", "float8", 0),
    ("isTest", "bool", 0),
    ("ttl", "text", 0),
    ("idempotencyKey", "text", 0),
    ("payload", "text", 0),
    ("payloadType", "text", 0),
    ("output", "text", 0),
    ("outputType", "text", 0),
    ("metadata", "text", 0),
    ("metadataType", "text", 0),
    ("runTags", "text", 1),
    ("realtimeStreams", "text", 1),
    ("error", "jsonb", 0),
)
"""(column, Electric type, array dimensions), as Trigger.dev's run shape has them."""
RESERVED_COLUMNS = frozenset({"id", "friendlyId", "taskIdentifier", "status", "createdAt"})
"""Never dropped by ``skipColumns``: the client needs them to build a run at all."""
JSON_PACKET = "application/json"
UP_TO_DATE: dict[str, Any] = {"headers": {"control": "up-to-date"}}
MUST_REFETCH: dict[str, Any] = {"headers": {"control": "must-refetch"}}


def shape_handle(run_id: str) -> str:
    """The stable Electric handle of a run's shape."""
    return f"run-{run_id}"


def row_key(run_id: str) -> str:
    """The key the client merges a run's changes by."""
    return f'"public"."TaskRun"/"{run_id}"'


def run_row(run: RunRecord, skip_columns: Iterable[str] = ()) -> dict[str, str | None]:
    """The run's row: column → wire string (or null), minus skipped columns."""
    final = is_completed(run.status)
    values: dict[str, Any] = {
        "id": run.id,
        "friendlyId": run.id,
        "taskIdentifier": run.task_id,
        "status": INTERNAL_STATUS[run.status],
        "createdAt": run.created_at,
        "updatedAt": run.updated_at,
        "startedAt": run.started_at,
        "delayUntil": run.delayed_until,
        "queuedAt": None,
        "expiredAt": run.expired_at,
        "completedAt": (run.finished_at or run.updated_at) if final else None,
        "number": 0,
        "usageDurationMs": run.duration_ms,
        "costInCents": 0,
        "baseCostInCents": 0,
        "isTest": run.options.is_test,
        "ttl": _ttl(run.options.ttl_s),
        "idempotencyKey": run.options.idempotency_key,
        "payload": _json_or_none(run.payload),
        "payloadType": JSON_PACKET,
        "output": _json_or_none(run.output) if run.status is RunStatus.COMPLETED else None,
        "outputType": JSON_PACKET,
        "metadata": _json_or_none(run.metadata),
        "metadataType": JSON_PACKET,
        "runTags": sorted(run.options.tags) or None,
        "realtimeStreams": list(run.streams),
        "error": _error(run),
    }
    skip = set(skip_columns) - RESERVED_COLUMNS
    return {
        name: encode_value(values[name], kind, dims)
        for name, kind, dims in COLUMNS
        if name not in skip
    }


def schema_header(skip_columns: Iterable[str] = ()) -> str:
    """The ``electric-schema`` header for the row's columns."""
    skip = set(skip_columns) - RESERVED_COLUMNS
    schema = {
        name: ({"type": kind, "dims": dims} if dims else {"type": kind})
        for name, kind, dims in COLUMNS
        if name not in skip
    }
    return json.dumps(schema, separators=(",", ":"))


def offset_of(run: RunRecord) -> str:
    """The run's Electric offset, ``<updatedAt ms>_<content fingerprint>``: it moves on
    every change of the row, even one that leaves ``updatedAt`` as it was."""
    updated_ms = int(run.updated_at.timestamp() * 1000)
    content = json.dumps(run_row(run), sort_keys=True).encode()
    fingerprint = int.from_bytes(hashlib.sha256(content).digest()[:4], "big") >> 1
    return f"{updated_ms}_{fingerprint}"


def change_messages(
    run: RunRecord, operation: str, skip_columns: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """``[insert|update, up-to-date]``: the whole row each time (the client merges)."""
    change = {
        "key": row_key(run.id),
        "value": run_row(run, skip_columns),
        "headers": {"operation": operation},
    }
    return [change, UP_TO_DATE]


def encode_value(value: Any, kind: str, dims: int = 0) -> str | None:
    """One value in Postgres' text form, as Electric sends it."""
    if value is None:
        return None
    if dims:
        return "{" + ",".join(_array_element(str(v)) for v in value) + "}"
    if kind == "bool":
        return "t" if value else "f"
    if kind == "timestamp":
        return timestamp_text(value)
    if kind == "jsonb":
        return json.dumps(value)
    return str(value)


def timestamp_text(value: datetime) -> str:
    """UTC, millisecond precision, no zone suffix: ``2026-11-28T15:51:20.666``."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


def _array_element(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _ttl(ttl_s: float | None) -> str | None:
    return format_duration(ttl_s) if ttl_s else None


def _error(run: RunRecord) -> dict[str, Any] | None:
    if run.error is None:
        return None
    return {
        "type": "BUILT_IN_ERROR",
        "name": run.error.name,
        "message": run.error.message,
        "stackTrace": run.error.stack_trace,
    }
