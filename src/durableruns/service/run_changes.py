"""Per-run change notification for realtime: one history long-poll per watched run, shared
by every subscriber of that run in the process.

A watched run has one follower task (:func:`history_watch.workflow_changes`): it holds a
``GetWorkflowExecutionHistory(wait_new_event)`` request open on the history service and,
when the run's workflow records a change, reads the run's exact record once
(``RunService.read_after``: from the close event, or one query) and wakes the
subscribers that wait for it. A run nobody watches costs nothing; a watched run that
does nothing costs one held request per long-poll expiry, whatever its number of
subscribers. The follower exists only while at least one subscriber watches the run
(plus a short linger) and stops at a final status.

One change is not in the history when it happens: an attempt's start (an execution
announces it only after ``announce_after_s``, else tells its run with the outcome;
Temporal writes ``ActivityTaskStarted`` only then too). So while a page has scheduled an attempt
that the record does not show started yet, the follower also re-reads the run (a
``describe``, not a Temporal Cloud action) at a growing interval until it shows
EXECUTING: subscribers see the start within 0.1 to 2 s, as a list never would.

The realtime routes (``api.run_feed``) consume these feeds; they never speak Temporal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from durableruns.engine.names import ATTEMPT_ACTIVITY
from durableruns.ids import is_run_id
from durableruns.models import RunRecord
from durableruns.service.history_watch import ERROR_BACKOFF_S, WorkflowGone, workflow_changes
from durableruns.service.running_attempt import ATTEMPT_ENDS
from durableruns.service.runs import RunService
from durableruns.status import RunStatus, is_completed

LINGER = 2.0
"""Seconds a feed outlives its last watcher: the official client's long polls come one
after another, and each finds the feed (and its latest record) still there."""

FIRST_READ_TIMEOUT = 10.0
"""How long :meth:`RunFeed.current` waits for the follower's first read before reading
the run itself (which raises if the engine is unavailable)."""

START_POLL_FIRST_S = 0.1
START_POLL_MAX_S = 2.0
"""The re-read interval while a scheduled attempt is not known to have started: it
starts short (a worker picks an attempt up in milliseconds) and doubles up to this (a
run whose task no worker serves is re-read every 2 s while someone watches it)."""

SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED

log = logging.getLogger(__name__)


def schedules_attempt(events: Sequence[HistoryEvent]) -> bool:
    """Whether ``events`` schedule an attempt execution and do not also see it end."""
    pending: set[int] = set()
    for event in events:
        if event.event_type == SCHEDULED:
            kind = event.activity_task_scheduled_event_attributes.activity_type.name
            if kind == ATTEMPT_ACTIVITY:
                pending.add(event.event_id)
        elif (field := ATTEMPT_ENDS.get(event.event_type)) is not None:
            pending.discard(getattr(event, field).scheduled_event_id)
    return bool(pending)


class RunFeed:
    """The latest known record of one run, kept fresh while anyone watches it."""

    def __init__(self, run_id: str, service: RunService) -> None:
        self.run_id = run_id
        self.record: RunRecord | None = None
        self.reads = 0
        """How many times the follower read the record (for tests and the benchmark)."""
        self._service = service
        self._changed = asyncio.Condition()
        self._watchers = 0
        self._follower: asyncio.Task[None] | None = None
        self._start_watch: asyncio.Task[None] | None = None

    def offer(self, record: RunRecord) -> None:
        """Seed the feed with a record the caller has just read (saves a first read)."""
        if self.record is None:
            self.record = record

    async def current(self) -> RunRecord | None:
        """The run's record: the latest known, else the follower's first read (one query,
        from the history page it holds anyway); None when there is no such run."""
        if self.record is None and not is_run_id(self.run_id):
            return None
        try:
            async with self._changed, asyncio.timeout(FIRST_READ_TIMEOUT):
                await self._changed.wait_for(lambda: self.record is not None or not self.following)
        except TimeoutError:  # the follower keeps failing: let the caller see why
            return await self._service.retrieve(self.run_id)
        return self.record

    async def wait_for(
        self, predicate: Callable[[RunRecord], bool], timeout: float | None
    ) -> RunRecord | None:
        """The current or next record for which ``predicate`` holds; None on timeout."""
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(
                        lambda: self.record is not None and predicate(self.record)
                    )
            except TimeoutError:
                return None
            return self.record

    @property
    def following(self) -> bool:
        """Whether a follower task is holding a long-poll for this run."""
        return self._follower is not None and not self._follower.done()

    def _start(self) -> None:
        finished = self.record is not None and is_completed(self.record.status)
        if not self.following and not finished and is_run_id(self.run_id):
            self._follower = asyncio.create_task(self._follow(), name=f"run-feed:{self.run_id}")

    def _stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()

    async def _follow(self) -> None:
        try:
            async for events in workflow_changes(self._service.client, self.run_id):
                self._stop_start_watch()
                await self._read(events)
                if self.record is not None and is_completed(self.record.status):
                    return  # a final run never changes again
                if schedules_attempt(events) and not self._shows_start():
                    self._start_watch = asyncio.create_task(
                        self._until_started(), name=f"run-start:{self.run_id}"
                    )
        except WorkflowGone:
            return
        finally:
            self._stop_start_watch()
            self._follower = None
            async with self._changed:
                self._changed.notify_all()  # wakes current() of a run that does not exist

    def _shows_start(self) -> bool:
        record = self.record
        return record is None or record.status is RunStatus.EXECUTING or is_completed(record.status)

    def _stop_start_watch(self) -> None:
        if self._start_watch is not None:
            self._start_watch.cancel()
            self._start_watch = None

    async def _until_started(self) -> None:
        """Re-read the run until its scheduled attempt shows started (see the module doc)."""
        gap = START_POLL_FIRST_S
        while not self._shows_start():
            await asyncio.sleep(gap)
            await self._read(())
            gap = min(gap * 2, START_POLL_MAX_S)

    async def _read(self, events: Sequence[HistoryEvent]) -> None:
        while True:
            try:
                record = await self._service.read_after(self.run_id, events)
                self.reads += 1
                break
            except Exception:  # an engine hiccup must not end every subscription
                log.warning("reading run %s for realtime failed", self.run_id, exc_info=True)
                await asyncio.sleep(ERROR_BACKOFF_S)
        if record is not None and record != self.record:
            async with self._changed:
                self.record = record
                self._changed.notify_all()


class RunChanges:
    """The feeds of one environment's runs, one per watched run id."""

    def __init__(self, service: RunService, *, linger: float = LINGER) -> None:
        self._service = service
        self._linger = linger
        self._feeds: dict[str, RunFeed] = {}
        self._drops: dict[str, asyncio.TimerHandle] = {}

    @property
    def subscribers(self) -> int:
        """Open watches of runs (a tag's stream counts once per run it follows)."""
        return sum(feed._watchers for feed in self._feeds.values())

    @property
    def watched(self) -> int:
        """How many runs are being followed for someone right now (or just were)."""
        return len(self._feeds)

    @property
    def following(self) -> int:
        """How many long-polls are held right now (watched runs not final yet)."""
        return sum(feed.following for feed in self._feeds.values())

    def feed(self, run_id: str) -> RunFeed | None:
        """The run's feed if someone watches it (or just did)."""
        return self._feeds.get(run_id)

    @contextlib.asynccontextmanager
    async def watch(self, run_id: str) -> AsyncIterator[RunFeed]:
        """The run's shared feed for the duration of the ``async with`` block."""
        drop = self._drops.pop(run_id, None)
        if drop is not None:
            drop.cancel()
        feed = self._feeds.get(run_id)
        if feed is None:
            feed = self._feeds[run_id] = RunFeed(run_id, self._service)
        feed._watchers += 1
        feed._start()
        try:
            yield feed
        finally:
            feed._watchers -= 1
            if feed._watchers == 0:
                loop = asyncio.get_running_loop()
                self._drops[run_id] = loop.call_later(self._linger, self._drop, run_id)

    def _drop(self, run_id: str) -> None:
        self._drops.pop(run_id, None)
        feed = self._feeds.get(run_id)
        if feed is not None and feed._watchers == 0:
            del self._feeds[run_id]
            feed._stop()
