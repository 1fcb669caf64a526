"""Error groups without a server: which errors group together (table-driven), and the
life of a group (new, resolved then regressed, ignored until N / a date / a rate)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from durableruns.error_fingerprint import fingerprint, is_error_group_id, normalise_message
from durableruns.error_group_models import (
    ErrorGroupEvent,
    ErrorGroups,
    ErrorGroupStatus,
    ErrorOccurrence,
    IgnoreRule,
    ignore,
    record_occurrence,
    resolve,
    unresolve,
)

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _trace(path: str, function: str, line: int) -> str:
    return (
        "Traceback (most recent call last):\n"
        '  File "/srv/venv/lib/python3.13/site-packages/durableruns/worker.py", line 9, in run\n'
        f'  File "{path}", line {line}, in {function}\n'
        '  File "/usr/lib/python3.13/json/__init__.py", line 346, in loads\n'
    )


SAME = [
    (
        "ids",
        "run run_01jd5xq4w2m3n4p5q6r7s8t9v0 not found",
        "run run_01jd5xzzzzzzzzzzzzzzzzzzzz not found",
    ),
    ("numbers", "timeout after 30 s on shard 3", "timeout after 12.5 s on shard 11"),
    ("quoted", "no user 'ann' in table \"users\"", "no user 'bob' in table \"accounts\""),
    (
        "uuids",
        "order 1b4e28ba-2fa1-11d2-883f-0016d3cca427 lost",
        "order 6fa459ea-ee8a-3ca4-894e-db77e160355e lost",
    ),
    ("timestamps", "expired at 2026-12-04T12:00:00Z", "expired at 2027-01-01 08:30:15.25+02:00"),
    ("hex", "bad digest 9f86d081884c7d65", "bad digest 0a1b2c3d4e5f6071"),
    ("pointer", "object at 0x7f3a2c1b", "object at 0x55d0"),
    ("whitespace", "boom   happened", "boom happened"),
    ("later lines", "boom\npayload: {'a': 1}", "boom\npayload: {'b': 2}"),
]


@pytest.mark.parametrize(("why", "first", "second"), SAME, ids=[s[0] for s in SAME])
def test_the_same_error_from_different_runs_groups_together(
    why: str, first: str, second: str
) -> None:
    a = fingerprint("sync-users", "ValueError", first, _trace("/app/tasks.py", "sync", 10))
    b = fingerprint("sync-users", "ValueError", second, _trace("/app/tasks.py", "sync", 42))
    assert a.group_id == b.group_id, (a.message, b.message)


DIFFERENT = [
    ("task", ("a", "E", "boom", "f"), ("b", "E", "boom", "f")),
    ("type", ("t", "KeyError", "boom", "f"), ("t", "ValueError", "boom", "f")),
    ("message", ("t", "E", "connection refused", "f"), ("t", "E", "permission denied", "f")),
    ("frame", ("t", "E", "boom", "sync"), ("t", "E", "boom", "export")),
    (
        "words with underscores",
        ("t", "E", "bad max_duration", "f"),
        ("t", "E", "bad max_attempts", "f"),
    ),
]


@pytest.mark.parametrize(("why", "first", "second"), DIFFERENT, ids=[d[0] for d in DIFFERENT])
def test_different_errors_do_not_group(
    why: str, first: tuple[str, str, str, str], second: tuple[str, str, str, str]
) -> None:
    a = fingerprint(*first[:3], _trace("/app/tasks.py", first[3], 1))
    b = fingerprint(*second[:3], _trace("/app/tasks.py", second[3], 1))
    assert a.group_id != b.group_id


NORMALISED = [
    ("user 42 failed", "user <n> failed"),
    ("key 'x' missing", "key <str> missing"),
    ("run_01jd5xq4w2m3n4p5q6r7s8t9v0 crashed", "<id> crashed"),
    ("bad max_duration", "bad max_duration"),
    ("", ""),
]


@pytest.mark.parametrize(("message", "expected"), NORMALISED)
def test_normalised_messages(message: str, expected: str) -> None:
    assert normalise_message(message) == expected


def test_the_frame_is_the_innermost_user_frame_without_its_line() -> None:
    fp = fingerprint("t", "E", "boom", _trace("/app/jobs/sync.py", "pull", 7))
    assert fp.frame == "sync.py:pull"
    assert is_error_group_id(fp.group_id)
    assert fingerprint("t", "E", "boom").frame == ""


def _occ(
    group_id: str = "error_0000000000000001", at: datetime = T0, run: str = "run_a"
) -> ErrorOccurrence:
    return ErrorOccurrence(
        group_id=group_id,
        fingerprint=group_id.removeprefix("error_"),
        task_id="t",
        error_type="E",
        message="boom",
        run_id=run,
        version="20261204.1",
        at=at,
    )


def test_a_first_occurrence_is_new_then_counts() -> None:
    state = ErrorGroups()
    assert record_occurrence(state, _occ()) is ErrorGroupEvent.NEW
    assert record_occurrence(state, _occ(at=T0 + timedelta(minutes=5), run="run_b")) is None
    group = state.groups["error_0000000000000001"]
    assert (group.count, group.first_seen, group.last_seen) == (2, T0, T0 + timedelta(minutes=5))
    assert (group.sample_run_id, group.last_run_id, group.versions) == (
        "run_a",
        "run_b",
        ["20261204.1"],
    )


def test_a_retried_attempt_counts_like_a_final_failure_but_is_no_failed_run() -> None:
    state = ErrorGroups()
    retried = _occ().model_copy(update={"retried": True, "attempt": 1})
    assert record_occurrence(state, retried) is ErrorGroupEvent.NEW  # new all the same
    assert record_occurrence(state, _occ().model_copy(update={"retried": True})) is None
    assert record_occurrence(state, _occ()) is None  # the run's last attempt
    assert state.groups["error_0000000000000001"].count == 3
    assert (state.occurrences, state.failed_runs) == (3, 1)
    resolve(state.groups["error_0000000000000001"], T0, None)
    assert record_occurrence(state, retried) is ErrorGroupEvent.REGRESSED


def test_a_resolved_group_that_recurs_regresses() -> None:
    state = ErrorGroups()
    record_occurrence(state, _occ())
    group = state.groups["error_0000000000000001"]
    resolve(group, T0, "20261204.2")
    assert group.status is ErrorGroupStatus.RESOLVED
    assert record_occurrence(state, _occ(at=T0 + timedelta(hours=1))) is ErrorGroupEvent.REGRESSED
    assert (group.status, group.regressions) == (ErrorGroupStatus.UNRESOLVED, 1)


def test_ignored_until_n_more_occurrences() -> None:
    state = ErrorGroups()
    record_occurrence(state, _occ())
    group = state.groups["error_0000000000000001"]
    ignore(group, T0, IgnoreRule(total_occurrences=3))
    events = [record_occurrence(state, _occ(at=T0 + timedelta(hours=i))) for i in (1, 2, 3, 4)]
    assert events == [None, None, ErrorGroupEvent.UNIGNORED, None]
    assert group.status is ErrorGroupStatus.UNRESOLVED


def test_ignored_until_a_date() -> None:
    state = ErrorGroups()
    record_occurrence(state, _occ())
    group = state.groups["error_0000000000000001"]
    ignore(group, T0, IgnoreRule(until=T0 + timedelta(days=1)))
    assert record_occurrence(state, _occ(at=T0 + timedelta(hours=1))) is None
    assert group.effective_status(T0 + timedelta(hours=2)) is ErrorGroupStatus.IGNORED
    assert group.effective_status(T0 + timedelta(days=2)) is ErrorGroupStatus.UNRESOLVED
    assert record_occurrence(state, _occ(at=T0 + timedelta(days=2))) is ErrorGroupEvent.UNIGNORED


def test_ignored_until_a_rate_per_minute() -> None:
    state = ErrorGroups()
    record_occurrence(state, _occ())
    group = state.groups["error_0000000000000001"]
    ignore(group, T0, IgnoreRule(occurrence_rate=2))
    later = T0 + timedelta(hours=1)
    events = [record_occurrence(state, _occ(at=later + timedelta(seconds=i))) for i in range(3)]
    assert events == [None, None, ErrorGroupEvent.UNIGNORED]


def test_ignored_for_good_stays_ignored_and_unresolve_brings_it_back() -> None:
    state = ErrorGroups()
    record_occurrence(state, _occ())
    group = state.groups["error_0000000000000001"]
    ignore(group, T0, IgnoreRule())
    for i in range(20):
        assert record_occurrence(state, _occ(at=T0 + timedelta(minutes=i))) is None
    unresolve(group)
    assert group.status is ErrorGroupStatus.UNRESOLVED


def test_counts_over_a_period_come_from_hourly_then_daily_buckets() -> None:
    state = ErrorGroups()
    for hours in (0, 1, 30, 70):
        record_occurrence(state, _occ(at=T0 + timedelta(hours=hours)))
    group = state.groups["error_0000000000000001"]
    end = T0 + timedelta(hours=70, minutes=1)
    assert group.count_between(None, None) == 4
    assert group.count_between(end - timedelta(hours=2), end) == 1
    assert group.count_between(end - timedelta(hours=45), end) == 2
    assert group.count_between(end - timedelta(days=7), end) == 4
    assert sum(group.hourly.values()) == 2  # hours 0 and 1 fell out of the 48-hour window
