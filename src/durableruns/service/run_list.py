"""Listing runs from Temporal visibility: filters become a visibility query, pages are
newest first by (created, run id), and keyset positions work in both directions.

Why it is built this way: the dev server's SQL visibility refuses ``ORDER BY`` and
returns running executions first, then closed ones by close time, newest first, at a
cost of roughly half a millisecond per row returned. So a page reads as few rows as it
can. A forward page (the newest rows, or those older than a position) first *probes*:
one call for a page and a bit. That is often enough: when the probe's last row closed
before the oldest start time the page needs, every row after it closed (so started)
earlier still (the *close-time cut-off*). Otherwise the probe still holds as many rows
as the page needs, so the answer started no earlier than the oldest of them, and one
more query reads just that time window. A backward page (the rows just newer than a
position) probes too, then reads time windows that double upwards from the position,
never past the probe's own bound. The server's order is an optimisation only: the
cut-off checks it, and every other step is right whatever the order.

Rows are built from visibility alone (search attributes, start and close time): a page
costs two or three visibility calls and never reads a workflow. Visibility is eventually
consistent, so a list read right after a change can lag by about a second; reading one
run by id (``RunService.retrieve``) stays exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError

from durableruns.engine import search_attributes as sa
from durableruns.engine.names import runs_queue
from durableruns.errors import UnsupportedValueError as UnsupportedValueError  # the tree
from durableruns.service.runs import (
    CLOSED_WITHOUT_RECORD,
    EngineUnavailableError,
    RunService,
)
from durableruns.status import RunStatus, is_completed

RUN_WORKFLOW_TYPE = "durableruns.run"
PROBE_SLACK = 16
"""Rows a probe reads beyond the page's own: room for a few running runs."""
FIRST_WINDOW = timedelta(milliseconds=250)
"""Width of the first time window of a backward page; each further one doubles."""
CLOCK_SKEW = timedelta(minutes=1)
"""How far past our clock a backward page keeps looking for newer runs."""
MICROSECOND = timedelta(microseconds=1)
UNSUPPORTED_CHARACTERS = frozenset('"\\\x00')
"""The dev server's SQL visibility mis-parses these inside a string literal (an
'unterminated string' error, or for NUL an 'unrecognized token', that the client
retries for seconds, then a 503), so they are refused with a 400."""


@dataclass(frozen=True, order=True)
class Position:
    """Where a run sits in the list: ordered by creation time, then run id."""

    created_at: datetime
    run_id: str


@dataclass(frozen=True)
class RunFilter:
    """What ``GET /api/v1/runs`` filters by; empty tuples and None match everything."""

    statuses: tuple[RunStatus, ...] = ()
    task_ids: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    """A run matches if it has any of these."""
    batch_ids: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    schedule_ids: tuple[str, ...] = ()
    bulk_action_ids: tuple[str, ...] = ()
    """Runs a bulk action made (its replays)."""
    idempotency_key: str | None = None
    parent_run_id: str | None = None
    error_groups: tuple[str, ...] = ()
    """A failed run matches if its error group is one of these."""
    created_from: datetime | None = None
    created_to: datetime | None = None
    is_test: bool | None = None
    root_only: bool = False
    """Only runs with no parent (the dashboard's "root runs only")."""
    matches_nothing: bool = False
    """Set when a filter no run can satisfy was given."""


@dataclass(frozen=True)
class ListedRunRow:
    """One run as visibility knows it."""

    run_id: str
    status: RunStatus
    task_id: str
    created_at: datetime
    closed_at: datetime | None = None
    tags: tuple[str, ...] = ()
    version: str | None = None
    batch_id: str | None = None
    parent_run_id: str | None = None
    root_run_id: str | None = None
    idempotency_key: str | None = None
    queue: str | None = None
    is_test: bool = False
    duration_ms: int = 0
    """Execution time, waits excluded (published when the run finished)."""

    @property
    def position(self) -> Position:
        """The row's keyset position."""
        return Position(self.created_at, self.run_id)

    @property
    def depth(self) -> int:
        """0 for a root run, 1 for a child of the root; deeper runs report 2 (a lower
        bound: visibility knows the parent and the root, not the chain between)."""
        if self.parent_run_id is None:
            return 0
        return 1 if self.root_run_id in (None, self.parent_run_id) else 2

    @property
    def trigger_function(self) -> str:
        """How the run was made, as far as its batch and parent tell."""
        if self.parent_run_id is not None:
            return "batchTriggerAndWait" if self.batch_id else "triggerAndWait"
        return "batchTrigger" if self.batch_id else "trigger"


@dataclass(frozen=True)
class RunPage:
    """A page of rows, newest first, and whether more lie beyond it in the walk's direction."""

    rows: list[ListedRunRow] = field(default_factory=list)
    has_more: bool = False


class RunLister:
    """Pages of runs of one task-queue prefix, from visibility."""

    def __init__(self, client: Client, *, task_queue_prefix: str) -> None:
        self._client = client
        self._prefix = task_queue_prefix

    @classmethod
    def of(cls, service: RunService) -> RunLister:
        """The lister that sees the same runs as ``service``."""
        # RunService keeps its client private; engine modules share it (see the report).
        return cls(service.client, task_queue_prefix=service.task_queue_prefix)

    async def page(
        self,
        run_filter: RunFilter,
        size: int,
        *,
        after: Position | None = None,
        before: Position | None = None,
    ) -> RunPage:
        """Up to ``size`` rows, newest first: the newest overall, those just older than
        ``after``, or those just newer than ``before``."""
        if run_filter.matches_nothing:
            return RunPage()
        try:
            if before is not None:
                rows = await self._oldest_above(run_filter, size + 1, before)
                return RunPage(rows=rows[:size][::-1], has_more=len(rows) > size)
            rows = await self._newest_below(run_filter, size + 1, after)
            return RunPage(rows=rows[:size], has_more=len(rows) > size)
        except RPCError as exc:
            raise EngineUnavailableError(f"Could not list runs: {exc.message}") from exc

    def query(
        self,
        run_filter: RunFilter,
        *,
        start_from: datetime | None = None,
        start_to: datetime | None = None,
        start_below: datetime | None = None,
    ) -> str:
        """The visibility query for ``run_filter`` within the given StartTime bounds
        (``start_from``/``start_to`` inclusive, ``start_below`` exclusive)."""
        clauses = [
            f"WorkflowType = {_literal(RUN_WORKFLOW_TYPE)}",
            f"TaskQueue = {_literal(runs_queue(self._prefix))}",
            *_filter_clauses(run_filter),
        ]
        bounds = (
            ("StartTime >=", start_from),
            ("StartTime <=", start_to),
            ("StartTime <", start_below),
        )
        clauses += [f"{op} {_time_literal(value)}" for op, value in bounds if value is not None]
        return " AND ".join(clauses)

    async def _newest_below(
        self, run_filter: RunFilter, count: int, below: Position | None
    ) -> list[ListedRunRow]:
        """The ``count`` newest rows older than ``below``, newest first."""
        upper = below.created_at if below else None

        def wanted(rows: list[ListedRunRow]) -> list[ListedRunRow]:
            kept = [r for r in rows if below is None or r.position < below]
            return _newest_first(kept)[:count]

        query = self.query(run_filter, start_to=upper)
        probe, complete = await self._probe(query, count + PROBE_SLACK)
        best = wanted(probe)
        if complete or (len(best) == count and _closed_before(probe, best[-1].created_at)):
            return best
        if len(best) < count:  # nothing to narrow the search with: read every row
            return wanted(await self._rows(query))
        # The probe holds `count` rows started at or after best[-1]: so does the answer.
        window = self.query(run_filter, start_from=best[-1].created_at, start_to=upper)
        return wanted(await self._rows(window))

    async def _oldest_above(
        self, run_filter: RunFilter, count: int, above: Position
    ) -> list[ListedRunRow]:
        """The ``count`` oldest rows newer than ``above``, oldest first."""

        def wanted(rows: list[ListedRunRow]) -> list[ListedRunRow]:
            return sorted((r for r in rows if r.position > above), key=_position)[:count]

        probe, complete = await self._probe(
            self.query(run_filter, start_from=above.created_at), count + PROBE_SLACK
        )
        best = wanted(probe)
        if complete:
            return best
        # The answer starts no later than the probe's count-th oldest row, if it has one.
        ceiling = best[-1].created_at if len(best) == count else datetime.now(UTC) + CLOCK_SKEW
        found: list[ListedRunRow] = []
        low, width = above.created_at, FIRST_WINDOW
        while len(found) < count and low <= ceiling:
            high = min(low + width, ceiling + MICROSECOND)
            window = self.query(run_filter, start_from=low, start_below=high)
            found += [r for r in await self._rows(window) if r.position > above]
            low, width = high, width * 2
        return wanted(found)

    async def _probe(self, query: str, size: int) -> tuple[list[ListedRunRow], bool]:
        """One visibility call, in the server's order; True if that was every row."""
        executions = self._client.list_workflows(query, page_size=size)
        await executions.fetch_next_page()
        rows = [row_from_execution(e) for e in executions.current_page or []]
        return rows, not executions.next_page_token

    async def _rows(self, query: str) -> list[ListedRunRow]:
        """Every row ``query`` matches."""
        rows = {}
        async for execution in self._client.list_workflows(query, page_size=1000):
            rows[execution.id] = row_from_execution(execution)
        return list(rows.values())


def row_from_execution(execution: WorkflowExecution) -> ListedRunRow:
    """A list row from one visibility record."""
    attrs = execution.typed_search_attributes
    status = _status(attrs.get(sa.TRIGGER_STATUS))
    # A run that ended in its own code has its final status already (its workflow may
    # close Failed or Canceled with it); one terminated from outside has not.
    if not is_completed(status) and execution.status in CLOSED_WITHOUT_RECORD:
        status = CLOSED_WITHOUT_RECORD[execution.status]
    closed = execution.status not in (None, WorkflowExecutionStatus.RUNNING)
    return ListedRunRow(
        run_id=execution.id,
        status=status,
        task_id=attrs.get(sa.TRIGGER_TASK_ID) or "",
        created_at=execution.start_time,
        closed_at=execution.close_time if closed else None,
        tags=tuple(attrs.get(sa.TRIGGER_TAGS) or ()),
        version=attrs.get(sa.TRIGGER_VERSION),
        batch_id=attrs.get(sa.TRIGGER_BATCH_ID),
        parent_run_id=attrs.get(sa.TRIGGER_PARENT_RUN_ID),
        root_run_id=attrs.get(sa.TRIGGER_ROOT_RUN_ID),
        idempotency_key=attrs.get(sa.TRIGGER_IDEMPOTENCY_KEY),
        queue=attrs.get(sa.TRIGGER_QUEUE),
        is_test=bool(attrs.get(sa.TRIGGER_IS_TEST)),
        duration_ms=attrs.get(sa.TRIGGER_DURATION_MS) or 0,
    )


def check_searchable(value: str) -> str:
    """``value`` if visibility can search for it; raises UnsupportedValueError if not."""
    bad = sorted(UNSUPPORTED_CHARACTERS & set(value))
    if bad:
        raise UnsupportedValueError(f"cannot search for a value containing {bad[0]!r}")
    return value


_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


def _status(value: str | None) -> RunStatus:
    try:
        return RunStatus(value) if value else RunStatus.QUEUED
    except ValueError:
        return RunStatus.QUEUED


def _position(row: ListedRunRow) -> Position:
    return row.position


def _newest_first(rows: list[ListedRunRow]) -> list[ListedRunRow]:
    unique = {r.run_id: r for r in rows}
    return sorted(unique.values(), key=_position, reverse=True)


def _closed_before(probe: list[ListedRunRow], moment: datetime) -> bool:
    """Whether no row after the probe can have started at or after ``moment``.

    True when the probe came in the SQL visibility's order (running rows first, then
    closed rows by close time, newest first) and its last row closed before ``moment``:
    every later row closed earlier still, and a run starts before it closes.
    """
    keys = [(r.closed_at or _END_OF_TIME, r.created_at) for r in probe]
    in_order = all(a >= b for a, b in itertools.pairwise(keys))
    last_closed = probe[-1].closed_at if probe else None
    return in_order and last_closed is not None and last_closed < moment


def _filter_clauses(f: RunFilter) -> list[str]:
    lists: Sequence[tuple[str, Sequence[Any]]] = (
        ("TriggerStatus", [s.value for s in f.statuses]),
        ("TriggerTaskId", f.task_ids),
        ("TriggerVersion", f.versions),
        ("TriggerTags", f.tags),
        ("TriggerBatchId", f.batch_ids),
        ("TriggerQueue", f.queues),
        ("TriggerScheduleId", f.schedule_ids),
        ("TriggerBulkActionId", f.bulk_action_ids),
        ("TriggerIdempotencyKey", [f.idempotency_key] if f.idempotency_key else []),
        ("TriggerParentRunId", [f.parent_run_id] if f.parent_run_id else []),
        ("TriggerErrorGroup", f.error_groups),
    )
    clauses = [
        f"{name} IN ({', '.join(_literal(v) for v in values)})" for name, values in lists if values
    ]
    if f.created_from is not None:
        clauses.append(f"StartTime >= {_time_literal(f.created_from)}")
    if f.created_to is not None:
        clauses.append(f"StartTime <= {_time_literal(f.created_to)}")
    if f.is_test is not None:
        clauses.append(f"TriggerIsTest = {'true' if f.is_test else 'false'}")
    if f.root_only:
        clauses.append("TriggerParentRunId IS NULL")
    return clauses


def _literal(value: str) -> str:
    return "'" + check_searchable(value).replace("'", "''") + "'"


def _time_literal(value: datetime) -> str:
    utc = value.astimezone(UTC).isoformat(timespec="microseconds")
    return "'" + utc.replace("+00:00", "Z") + "'"
