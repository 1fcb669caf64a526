"""The status table: Trigger.dev's 13 statuses and the boolean helpers."""

from __future__ import annotations

import pytest

from durableruns import status as st
from durableruns.status import RunStatus

S = RunStatus
#            status              queued executing waiting completed success failed canceled
TABLE = [
    (S.PENDING_VERSION, True, False, False, False, False, False, False),
    (S.DELAYED, True, False, False, False, False, False, False),
    (S.QUEUED, True, False, False, False, False, False, False),
    (S.DEQUEUED, False, True, False, False, False, False, False),
    (S.EXECUTING, False, True, False, False, False, False, False),
    (S.WAITING, False, False, True, False, False, False, False),
    (S.COMPLETED, False, False, False, True, True, False, False),
    (S.CANCELED, False, False, False, True, False, True, True),
    (S.FAILED, False, False, False, True, False, True, False),
    (S.CRASHED, False, False, False, True, False, True, False),
    (S.SYSTEM_FAILURE, False, False, False, True, False, True, False),
    (S.EXPIRED, False, False, False, True, False, True, False),
    (S.TIMED_OUT, False, False, False, True, False, True, False),
]


def test_there_are_exactly_the_13_trigger_statuses() -> None:
    assert {s.value for s in RunStatus} == {row[0].value for row in TABLE}
    assert len(RunStatus) == 13


@pytest.mark.parametrize(
    ("status", "queued", "executing", "waiting", "completed", "success", "failed", "canceled"),
    TABLE,
)
def test_boolean_helpers(
    status: RunStatus,
    queued: bool,
    executing: bool,
    waiting: bool,
    completed: bool,
    success: bool,
    failed: bool,
    canceled: bool,
) -> None:
    assert st.is_queued(status) is queued
    assert st.is_executing(status) is executing
    assert st.is_waiting(status) is waiting
    assert st.is_completed(status) is completed
    assert st.is_success(status) is success
    assert st.is_failed(status) is failed
    assert st.is_canceled(status) is canceled


def test_every_attempt_ending_maps_to_a_final_run_status() -> None:
    for attempt_status in st.AttemptStatus:
        if attempt_status is st.AttemptStatus.EXECUTING:
            continue
        assert st.is_completed(st.RUN_STATUS_AFTER_ATTEMPT[attempt_status])
