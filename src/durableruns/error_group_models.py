"""Error groups' durable records and the rules of their life: new, resolved, regressed,
ignored (for a while, or until N more occurrences or a rate), unignored.

The error-groups workflow (one per environment) holds an :class:`ErrorGroups` and
applies :func:`record_occurrence` to each failed attempt its workers report (a retried
one and the one that ends its run alike), and
:func:`resolve` / :func:`ignore` / :func:`unresolve` to what users ask. Pure functions
of their inputs (time included), so the workflow stays deterministic and the rules are
tested without a server. Like :mod:`durableruns.models` these live in Temporal history:
JSON-friendly fields only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from durableruns.error_fingerprint import fingerprint
from durableruns.models import Frozen, RunError
from durableruns.status import RunStatus

HOURLY_BUCKETS = 48
"""Hours of per-hour counts a group keeps (the dashboard's sparkline)."""
DAILY_BUCKETS = 30
"""Days of per-day counts a group keeps (counts over a period)."""
RECENT_VERSIONS = 5
"""Versions a group remembers, most recent first (Trigger.dev's ``affectedVersions``)."""
MAX_GROUPS = 500
"""Groups one environment keeps; past it the group seen least recently is forgotten
(its runs keep their search attribute). Keeps the workflow's state well under
Temporal's 2 MB payload limit (a full group is ~1.5 KB)."""
GROUPED_STATUSES = frozenset(
    {RunStatus.FAILED, RunStatus.CRASHED, RunStatus.SYSTEM_FAILURE, RunStatus.TIMED_OUT}
)
"""Final statuses whose error is grouped: the code (or its host) failed. EXPIRED and
CANCELED runs never ran into an error of their own."""


class ErrorGroupStatus(StrEnum):
    """Where a group is in its life."""

    UNRESOLVED = "unresolved"
    RESOLVED = "resolved"
    IGNORED = "ignored"


class ErrorGroupEvent(StrEnum):
    """What an occurrence did to its group (alerts subscribe to these)."""

    NEW = "new"
    REGRESSED = "regressed"
    """It recurred after being resolved."""
    UNIGNORED = "unignored"
    """It passed the bound it was ignored until (a date, N more occurrences, a rate)."""


class ErrorOccurrence(Frozen):
    """A failed attempt, as the worker that ran it reports it (batched:
    ``worker/error_reports.py``)."""

    group_id: str
    fingerprint: str
    task_id: str
    error_type: str
    message: str
    """Normalised, as fingerprinted."""
    frame: str = ""
    sample_message: str = ""
    """The raw first line of this occurrence's message."""
    run_id: str
    version: str | None = None
    at: datetime
    tags: tuple[str, ...] = ()
    """The run's tags and queue: what alerts filter by."""
    queue: str | None = None
    retried: bool = False
    """The attempt failed and its run retries: counted in its group like any other,
    but not a failed run (no ``run.failed`` alert). False in reports from before
    retried attempts were reported (each was a run's final failure)."""
    attempt: int | None = None
    """The attempt's number, when known."""


class OccurrenceBatch(Frozen):
    """Failed attempts one worker reports in one signal, oldest first."""

    occurrences: tuple[ErrorOccurrence, ...]


class IgnoreRule(Frozen):
    """How long a group stays ignored; no bound means for good."""

    until: datetime | None = None
    occurrence_rate: float | None = Field(default=None, gt=0)
    """Per minute: more than this in one minute unignores."""
    total_occurrences: int | None = Field(default=None, ge=1)
    """This many occurrences after ignoring unignores."""
    reason: str | None = Field(default=None, max_length=1000)


class ErrorGroup(BaseModel):
    """One group: what it is, its status and its counts."""

    id: str
    fingerprint: str
    task_id: str
    error_type: str
    message: str
    frame: str = ""
    sample_message: str = ""
    status: ErrorGroupStatus = ErrorGroupStatus.UNRESOLVED
    count: int = 0
    first_seen: datetime
    last_seen: datetime
    sample_run_id: str
    """The first run of the group."""
    last_run_id: str
    versions: list[str] = []
    """Most recent first, at most :data:`RECENT_VERSIONS`."""
    hourly: dict[int, int] = {}
    """Occurrences per hour (key: hours since the epoch), the last :data:`HOURLY_BUCKETS`."""
    daily: dict[int, int] = {}
    """Occurrences per day (key: days since the epoch), the last :data:`DAILY_BUCKETS`."""
    resolved_at: datetime | None = None
    resolved_in_version: str | None = None
    regressed_at: datetime | None = None
    regressions: int = 0
    ignored_at: datetime | None = None
    ignore: IgnoreRule | None = None
    ignored_at_count: int = 0
    """The count when it was ignored (``total_occurrences`` counts from here)."""
    minute: int = 0
    """Minutes since the epoch of ``minute_count``'s minute (``occurrence_rate``)."""
    minute_count: int = 0

    def effective_status(self, now: datetime) -> ErrorGroupStatus:
        """The status as of ``now``: an ignore whose date passed reads unresolved."""
        rule = self.ignore
        if self.status is ErrorGroupStatus.IGNORED and rule and rule.until and now >= rule.until:
            return ErrorGroupStatus.UNRESOLVED
        return self.status

    def count_between(self, start: datetime | None, end: datetime | None) -> int:
        """Occurrences from ``start`` to ``end``: all of them without bounds, else summed
        from the finest buckets that cover the range (hours for 48 h, then days)."""
        if start is None and end is None:
            return self.count
        low = start.timestamp() if start else 0.0
        high = end.timestamp() if end else float("inf")
        last_hour = int(self.last_seen.timestamp()) // 3600
        if low >= (last_hour - HOURLY_BUCKETS + 1) * 3600:  # the hourly buckets cover it
            buckets, width = self.hourly, 3600
        else:
            buckets, width = self.daily, 86400
        return sum(
            n for key, n in buckets.items() if low < (key + 1) * width and key * width <= high
        )


class ErrorGroups(BaseModel):
    """Every group of one environment, by id."""

    groups: dict[str, ErrorGroup] = {}
    occurrences: int = 0
    """Failed attempts reported in this environment, ever (retried ones included)."""
    failed_runs: int = 0
    """Of those, the ones that ended their run."""


def group_id_of(task_id: str, error: RunError) -> str:
    """The group id of ``error`` raised by ``task_id``."""
    return fingerprint(task_id, error.name, error.message, error.stack_trace).group_id


def occurrence_of(
    run_id: str,
    task_id: str,
    error: RunError,
    *,
    version: str | None,
    at: datetime,
    tags: tuple[str, ...] = (),
    queue: str | None = None,
    retried: bool = False,
    attempt: int | None = None,
) -> ErrorOccurrence:
    """The occurrence a failed attempt reports for its group (``retried``: its run
    goes on to another attempt)."""
    fp = fingerprint(task_id, error.name, error.message, error.stack_trace)
    lines = error.message.strip().splitlines()
    return ErrorOccurrence(
        group_id=fp.group_id,
        fingerprint=fp.hash,
        task_id=task_id,
        error_type=fp.error_type,
        message=fp.message,
        frame=fp.frame,
        sample_message=lines[0][:1000] if lines else "",
        run_id=run_id,
        version=version,
        at=at,
        tags=tags,
        queue=queue,
        retried=retried,
        attempt=attempt,
    )


def record_occurrence(state: ErrorGroups, occ: ErrorOccurrence) -> ErrorGroupEvent | None:
    """Count ``occ`` in its group; the event it caused, if any. A retried attempt's
    failure counts like a run's final one: it is the same error, seen once more, and
    it can make its group new, regress or unignore it."""
    state.occurrences += 1
    state.failed_runs += 0 if occ.retried else 1
    group = state.groups.get(occ.group_id)
    event: ErrorGroupEvent | None = None
    if group is None:
        _forget_stalest(state)
        group = state.groups[occ.group_id] = ErrorGroup(
            id=occ.group_id,
            fingerprint=occ.fingerprint,
            task_id=occ.task_id,
            error_type=occ.error_type,
            message=occ.message,
            frame=occ.frame,
            sample_message=occ.sample_message,
            first_seen=occ.at,
            last_seen=occ.at,
            sample_run_id=occ.run_id,
            last_run_id=occ.run_id,
        )
        event = ErrorGroupEvent.NEW
    _count(group, occ)
    if group.status is ErrorGroupStatus.RESOLVED:
        group.status = ErrorGroupStatus.UNRESOLVED
        group.regressed_at = occ.at
        group.regressions += 1
        event = ErrorGroupEvent.REGRESSED
    elif group.status is ErrorGroupStatus.IGNORED and _ignore_passed(group, occ.at):
        group.status = ErrorGroupStatus.UNRESOLVED
        group.ignore = None
        event = ErrorGroupEvent.UNIGNORED
    return event


def resolve(group: ErrorGroup, at: datetime, version: str | None) -> None:
    """Mark ``group`` resolved (in ``version``): its next occurrence regresses it."""
    group.status = ErrorGroupStatus.RESOLVED
    group.resolved_at, group.resolved_in_version = at, version
    group.ignore, group.ignored_at = None, None


def ignore(group: ErrorGroup, at: datetime, rule: IgnoreRule) -> None:
    """Mark ``group`` ignored until ``rule``'s bound (or for good)."""
    group.status = ErrorGroupStatus.IGNORED
    group.ignored_at, group.ignore, group.ignored_at_count = at, rule, group.count
    group.resolved_at, group.resolved_in_version = None, None


def unresolve(group: ErrorGroup) -> None:
    """Back to unresolved, from resolved or ignored."""
    group.status = ErrorGroupStatus.UNRESOLVED
    group.resolved_at, group.resolved_in_version = None, None
    group.ignore, group.ignored_at = None, None


def _count(group: ErrorGroup, occ: ErrorOccurrence) -> None:
    group.count += 1
    group.last_seen = max(group.last_seen, occ.at)
    group.first_seen = min(group.first_seen, occ.at)
    group.last_run_id = occ.run_id
    group.sample_message = group.sample_message or occ.sample_message
    if occ.version:
        group.versions = [occ.version, *(v for v in group.versions if v != occ.version)]
        del group.versions[RECENT_VERSIONS:]
    seconds = int(occ.at.timestamp())
    _bump(group.hourly, seconds // 3600, HOURLY_BUCKETS)
    _bump(group.daily, seconds // 86400, DAILY_BUCKETS)
    minute = seconds // 60
    group.minute_count = group.minute_count + 1 if minute == group.minute else 1
    group.minute = minute


def _bump(buckets: dict[int, int], key: int, keep: int) -> None:
    buckets[key] = buckets.get(key, 0) + 1
    for old in [k for k in buckets if k <= key - keep]:
        del buckets[old]


def _ignore_passed(group: ErrorGroup, at: datetime) -> bool:
    rule = group.ignore
    if rule is None:
        return False
    if rule.until is not None and at >= rule.until:
        return True
    total = rule.total_occurrences
    if total is not None and group.count - group.ignored_at_count >= total:
        return True
    return rule.occurrence_rate is not None and group.minute_count > rule.occurrence_rate


def _forget_stalest(state: ErrorGroups) -> None:
    while len(state.groups) >= MAX_GROUPS:
        stalest = min(state.groups.values(), key=lambda g: (g.last_seen, g.id))
        del state.groups[stalest.id]
