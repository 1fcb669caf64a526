"""Fitting a run's final record into what history can hold (issue 15, part 3).

Without payload storage a run workflow's result (its record: payload, output, every
attempt's error, metadata) is one payload in history, and Temporal refuses a payload
over its blob limit (2 MiB): the workflow task that completes the run then fails on
every retry and the run stays EXECUTING forever. The run workflow therefore returns
``fit_record(record, input.record_limit_bytes)``: the record unchanged when it fits,
else the same run with the least information dropped that makes it fit, in this order:

1. stack traces of all attempts but the last, and their messages cut to 1 KiB;
2. the output: the run ends SYSTEM_FAILURE (``RunRecordTooLarge``) saying what was too
   big — the output could not be kept, so the run did not complete as the task meant;
3. the payload (kept at the start of history already, it is only dropped from the
   result).

Pure and deterministic (only the record's data), so workflow code may call it.
"""

from __future__ import annotations

from typing import Any

from durableruns.limits import json_size, truncate_text
from durableruns.models import RunError, RunRecord
from durableruns.status import RunStatus

KEPT_MESSAGE_BYTES = 1024
"""An earlier attempt's error message, once its record has to shrink."""


def record_size(record: RunRecord) -> int:
    """Bytes of the record as compact JSON."""
    return json_size(record.model_dump(mode="json"), "record")


def fit_record(record: RunRecord, limit: int | None) -> RunRecord:
    """``record`` if it encodes within ``limit`` bytes (or there is no limit), else a
    copy shrunk as the module says."""
    if limit is None:
        return record
    size = record_size(record)
    if size <= limit:
        return record
    attempts = [
        a.model_copy(update={"error": _short(a.error)})
        if a.error and i < len(record.attempts) - 1
        else a
        for i, a in enumerate(record.attempts)
    ]
    fitted = record.model_copy(update={"attempts": attempts})
    if record_size(fitted) <= limit:
        return fitted
    sizes = {name: _size(getattr(record, name)) for name in ("payload", "output", "metadata")}
    error = RunError(
        name="RunRecordTooLarge",
        message=(
            f"The run's record is {size} bytes (payload {sizes['payload']}, output "
            f"{sizes['output']}, metadata {sizes['metadata']}), more than the {limit} bytes "
            "its history can hold inline; its output was dropped. Set "
            "DURABLERUNS_PAYLOAD_STORAGE to file or s3 to keep large values outside history."
        ),
    )
    fitted = fitted.model_copy(
        update={"output": None, "status": RunStatus.SYSTEM_FAILURE, "error": error}
    )
    if record_size(fitted) <= limit:
        return fitted
    return fitted.model_copy(update={"payload": None})


def _short(error: RunError) -> RunError:
    return error.model_copy(
        update={"message": truncate_text(error.message, KEPT_MESSAGE_BYTES), "stack_trace": ""}
    )


def _size(value: Any) -> int:
    return json_size(value) if value is not None else 0
