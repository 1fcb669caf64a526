"""A running run's record without a query: the parts that change while it runs, kept in
its workflow's memo.

A query is a Temporal Cloud action and needs a worker to answer it; ``describe`` (and a
history read) is neither. Runs started with ``RunInput.record_in_memo`` upsert
:func:`state_of` their record into the memo (key :data:`STATE_MEMO`) at the moments it
changes in a way nothing else shows: waits begin, an attempt fails and is retried,
metadata changes, the start moves, a stream appears. Upserting the memo is not in
Temporal Cloud's list of actions (docs.temporal.io/cloud/actions; search-attribute
upserts are), so it costs one history event and no action; a no-op run reaches none
of these moments and pays nothing. Everything else is public already: the status and
version in the search attributes, the running attempt in ``describe``'s pending
activity, the payload and options in the start input. :func:`record_from_state`
puts them together. Attempt ids of such runs are derived from the run id and number
(:func:`attempt_id`), so a running attempt shows its id before the run recorded it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from durableruns.models import RunInput, RunRecord
from durableruns.status import RunStatus

STATE_MEMO = "state"
"""Memo key of a running run's changing state (``RECORD_MEMO`` is a canceled run's record)."""
STATE_FIELDS = frozenset(
    {
        "attempts",
        "metadata",
        "version",
        "child_run_ids",
        "waits",
        "streams",
        "delayed_until",
        "updated_at",
        "started_at",
        "log_count",
    }
)
"""What :func:`state_of` keeps; the rest of a running record is its start input."""
REPLACED_FIELDS = frozenset({"payload", "options"})
"""Kept too once a trailing debounce replaced them."""


def attempt_id(run_id: str, number: int) -> str:
    """The id of attempt ``number`` of a run that keeps its state in the memo."""
    digest = hashlib.sha256(f"{run_id}:{number}".encode()).hexdigest()
    return f"attempt_{digest[:24]}"


def state_of(record: RunRecord, *, input_replaced: bool = False) -> dict[str, Any]:
    """The memo value for ``record``."""
    fields = STATE_FIELDS | REPLACED_FIELDS if input_replaced else STATE_FIELDS
    return record.model_dump(mode="json", include=set(fields))


def record_from_state(
    run_input: RunInput,
    state: dict[str, Any] | None,
    status: str | None,
    version: str | None,
) -> RunRecord:
    """The running run's record from its start input, its memo ``state`` (None before
    the first change) and its search attributes' ``status`` and ``version``."""
    record = RunRecord.from_input(run_input)
    if state:
        merged = record.model_dump(mode="json")
        merged.update({k: v for k, v in state.items() if k in STATE_FIELDS | REPLACED_FIELDS})
        record = RunRecord.model_validate(merged)
    if status:
        record.status = RunStatus(status)
    if record.status is not RunStatus.WAITING:
        record.waits = []  # resumed since: the waits the memo kept are over
    record.version = version or record.version
    return record
