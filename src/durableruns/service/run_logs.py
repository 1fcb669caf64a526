"""Reading a run's log: the ``log_lines`` signals in its workflow's history.

Task code's lines reach the run as batched signals (``worker/task_runtime.py``), so
they are in Temporal with the run — no other store — in order, readable while it runs
and after it finished with no worker running (history needs none). A cursor is the
position of the next line: ``<event id>.<index in that batch>``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from temporalio.client import Client

from durableruns.errors import InvalidInputError
from durableruns.log_models import LogBatch, LogLevel, LogLine
from durableruns.service.history_signals import signals_in_history

LOG_SIGNAL = "log_lines"
MAX_PAGE = 1_000


@dataclass(frozen=True)
class LogEntry:
    """A line of a run's log and the cursor just after it."""

    line: LogLine
    cursor: str


@dataclass(frozen=True)
class LogFilter:
    """Which lines to read: from a cursor, of some levels, of one attempt."""

    after: str | None = None
    levels: frozenset[LogLevel] | None = None
    attempt: int | None = None

    def admits(self, line: LogLine) -> bool:
        """Whether ``line`` passes the level and attempt filters."""
        if self.levels is not None and line.level not in self.levels:
            return False
        return self.attempt is None or line.attempt == self.attempt

    def start(self) -> tuple[int, int]:
        """The (event id, index) of the first line to read."""
        if not self.after:
            return (0, 0)
        try:
            event, index = (int(part) for part in self.after.split("."))
        except ValueError:
            raise InvalidInputError("cursor", "not a log cursor from this API") from None
        return (event, index)


class RunLogReader:
    """Reads run logs from workflow histories (``client`` in the run's namespace)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def page(self, run_id: str, filter: LogFilter, limit: int) -> tuple[list[LogEntry], bool]:
        """Up to ``limit`` lines after the filter's cursor; and whether there are more."""
        entries: list[LogEntry] = []
        async for entry in self._entries(run_id, filter, follow=False):
            if len(entries) == limit:
                return entries, True
            entries.append(entry)
        return entries, False

    async def follow(self, run_id: str, filter: LogFilter) -> AsyncIterator[LogEntry]:
        """Every line after the cursor, then new ones as they arrive, until the run ends
        (a long poll on the history: no polling interval)."""
        async for entry in self._entries(run_id, filter, follow=True):
            yield entry

    async def _entries(
        self, run_id: str, filter: LogFilter, *, follow: bool
    ) -> AsyncIterator[LogEntry]:
        start_event, start_index = filter.start()
        batches = signals_in_history(
            self._client, run_id, LOG_SIGNAL, LogBatch, follow=follow, from_event=start_event
        )
        async for event_id, batch in batches:
            for index, line in enumerate(batch.lines):
                if event_id == start_event and index < start_index:
                    continue
                if filter.admits(line):
                    yield LogEntry(line=line, cursor=f"{event_id}.{index + 1}")
