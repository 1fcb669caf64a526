"""``record_fit.fit_record``: a run's final record always fits what history can hold
inline (the design of issue 15 part 3; the run workflow calls it before returning)."""

from __future__ import annotations

from datetime import UTC, datetime

from durableruns.models import AttemptRecord, RunError, RunRecord
from durableruns.record_fit import fit_record, record_size
from durableruns.status import AttemptStatus, RunStatus

NOW = datetime(2026, 12, 1, tzinfo=UTC)
LIMIT = 2 * 1024 * 1024 - 64 * 1024


def record(payload: object = None, output: object = None, attempts: int = 0) -> RunRecord:
    return RunRecord(
        id="run_x",
        task_id="t",
        status=RunStatus.COMPLETED,
        payload=payload,
        output=output,
        attempts=[
            AttemptRecord(
                id=f"attempt_{n}",
                number=n,
                status=AttemptStatus.FAILED,
                created_at=NOW,
                error=RunError(message="m" * 30_000, stack_trace="s" * 60_000),
            )
            for n in range(1, attempts + 1)
        ],
        created_at=NOW,
        updated_at=NOW,
    )


def test_a_record_that_fits_is_returned_as_it_is() -> None:
    small = record({"a": 1}, {"b": 2}, attempts=3)
    assert fit_record(small, LIMIT) is small
    assert fit_record(record("x" * 3_000_000), None).payload == "x" * 3_000_000


def test_the_1_5_mb_echo_ends_system_failure_naming_the_sizes() -> None:
    value = "e" * 1_500_000
    fitted = fit_record(record(value, value), LIMIT)
    assert record_size(fitted) <= LIMIT
    assert fitted.status is RunStatus.SYSTEM_FAILURE and fitted.output is None
    assert fitted.payload == value
    assert fitted.error is not None and fitted.error.name == "RunRecordTooLarge"
    assert "output 1500002" in fitted.error.message and "payload 1500002" in fitted.error.message


def test_many_attempts_errors_shrink_before_anything_is_dropped() -> None:
    many = record({"a": 1}, {"ok": True}, attempts=40)  # 40 x 90 KB of errors
    fitted = fit_record(many, LIMIT)
    assert fitted.status is RunStatus.COMPLETED and fitted.output == {"ok": True}
    assert all(a.error and not a.error.stack_trace for a in fitted.attempts[:-1])
    last = fitted.attempts[-1].error
    assert last is not None and len(last.stack_trace) == 60_000


def test_a_payload_that_cannot_fit_with_its_metadata_is_dropped_last() -> None:
    fitted = fit_record(record("p" * 2_100_000), LIMIT)
    assert fitted.payload is None and fitted.status is RunStatus.SYSTEM_FAILURE
    assert record_size(fitted) <= LIMIT
