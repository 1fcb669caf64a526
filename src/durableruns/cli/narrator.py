"""The dev terminal's account of runs: ``durableruns dev`` prints one line per run that
ends (run id, task id, status, wall time and compute time, the dashboard link), a
warning for a run of a task that no worker serves (naming the task ids this stack
serves), and on Ctrl-C which runs it waits for.

Read from Temporal visibility about once a second (runs that closed since the last
look, runs pending a version), so the engine's run path gains no signal, query or
activity for it. Visibility lags by about a second; so may a line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowExecutionDescription

from durableruns.service.run_list import ListedRunRow, RunFilter, RunLister, row_from_execution
from durableruns.service.running_attempt import UNANNOUNCED_STATUSES, started_attempts
from durableruns.status import RunStatus

POLL_S = 1.0
OVERLAP = timedelta(seconds=5)
"""Each look reaches this far back before the previous one (visibility lags)."""
MAX_REMEMBERED = 10_000
"""Run ids told about that are kept to avoid saying a line twice (oldest dropped)."""
MAX_NAMED = 5
"""Runs named on the stop line; the rest are counted."""
MAX_DESCRIBED = 200
"""Runs so listed that a stop describes to find the executing ones (a dev stack's)."""
log = logging.getLogger(__name__)


class Narrator:
    """Says what happens to the runs of one task-queue prefix, through ``write``."""

    def __init__(
        self,
        client: Client,
        *,
        task_queue_prefix: str,
        api_url: str,
        served: Callable[[], Sequence[str]],
        write: Callable[[str], None],
    ) -> None:
        self._client = client
        self._lister = RunLister(client, task_queue_prefix=task_queue_prefix)
        self._api_url = api_url.rstrip("/")
        self._served = served
        self._write = write
        self._started = self._since = datetime.now(UTC)
        self._told: dict[str, None] = {}
        self._warned: set[str] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Look once a second until ``stop`` is set (a failed look is tried again)."""
        while not stop.is_set():
            await self.look_safely()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_S)

    async def look_safely(self) -> None:
        """:meth:`look`, logging instead of raising (the terminal's account is best effort)."""
        try:
            await self.look()
        except Exception:
            log.debug("could not read the runs for the dev terminal", exc_info=True)

    async def look(self) -> None:
        """Say the runs that ended, and warn of runs no worker serves, since the last look."""
        now = datetime.now(UTC)
        since = _time(self._since - OVERLAP)
        closed = f"{self._lister.query(RunFilter())} AND CloseTime >= {since}"
        for row in sorted(await self._rows(closed), key=lambda r: r.closed_at or now):
            if row.run_id not in self._told:
                self._remember(row.run_id)
                self._write(self.outcome_line(row))
        pending = RunFilter(statuses=(RunStatus.PENDING_VERSION,), created_from=self._started)
        for row in await self._rows(self._lister.query(pending)):
            if row.run_id not in self._warned and row.task_id not in self._served():
                self._warned.add(row.run_id)
                self._write(self.unserved_line(row))
        self._since = now

    async def executing(self) -> list[ListedRunRow]:
        """The runs executing now (what a stop waits for): those listed EXECUTING, and
        those whose code started too recently to have announced it (an execution tells
        its run after ``announce_after_s``; until then the run is listed QUEUED, or
        WAITING when it resumed from a wait), found by describing them (not an action)."""
        statuses = (RunStatus.EXECUTING, *UNANNOUNCED_STATUSES)
        rows = await self._rows(self._lister.query(RunFilter(statuses=statuses)))
        unsure = [r for r in rows if r.status is not RunStatus.EXECUTING][:MAX_DESCRIBED]
        descriptions = await asyncio.gather(
            *(self._client.get_workflow_handle(r.run_id).describe() for r in unsure),
            return_exceptions=True,
        )
        started = {
            row.run_id
            for row, description in zip(unsure, descriptions, strict=True)
            if isinstance(description, WorkflowExecutionDescription)
            and started_attempts(description)
        }
        return [r for r in rows if r.status is RunStatus.EXECUTING or r.run_id in started]

    def outcome_line(self, row: ListedRunRow) -> str:
        """``run_… task-id COMPLETED in 1.21s (ran 0.31s) → <dashboard link>``."""
        took = ""
        if row.closed_at is not None:
            took = f" in {_duration((row.closed_at - row.created_at).total_seconds())}"
            took += f" (ran {_duration(row.duration_ms / 1000)})"
        return f"{row.run_id} {row.task_id} {row.status.value}{took} → {self.link(row.run_id)}"

    def unserved_line(self, row: ListedRunRow) -> str:
        """The warning for a run of a task that no worker of this stack serves."""
        served = ", ".join(self._served()) or "no tasks"
        return (
            f"Warning: {row.run_id} is for task {row.task_id!r}, which no worker serves;"
            f" it stays PENDING_VERSION until one does. Served task ids: {served}"
            f" → {self.link(row.run_id)}"
        )

    async def stopping_line(self, grace_s: float) -> str:
        """What a stop waits for: the executing runs, named, and the drain grace."""
        try:
            rows = await asyncio.wait_for(self.executing(), 3)
        except Exception:
            return f"Stopping: attempts in flight get up to {grace_s:g}s to finish"
        if not rows:
            return "Stopping: no run is executing"
        named = ", ".join(f"{r.run_id} ({r.task_id})" for r in rows[:MAX_NAMED])
        more = f" and {len(rows) - MAX_NAMED} more" if len(rows) > MAX_NAMED else ""
        runs = f"{len(rows)} executing run{'s' if len(rows) != 1 else ''}"
        return f"Stopping: waiting up to {grace_s:g}s for {runs} to finish: {named}{more}"

    def link(self, run_id: str) -> str:
        """The run's page on the dashboard."""
        return f"{self._api_url}/dashboard/runs/{run_id}"

    async def _rows(self, query: str) -> list[ListedRunRow]:
        rows: dict[str, ListedRunRow] = {}
        async for execution in self._client.list_workflows(query, page_size=1000):
            rows[execution.id] = row_from_execution(execution)
        return list(rows.values())

    def _remember(self, run_id: str) -> None:
        self._told[run_id] = None
        if len(self._told) > MAX_REMEMBERED:
            del self._told[next(iter(self._told))]


def _time(moment: datetime) -> str:
    utc = moment.astimezone(UTC).isoformat(timespec="microseconds")
    return "'" + utc.replace("+00:00", "Z") + "'"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m {rest}s"
