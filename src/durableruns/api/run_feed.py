"""Per-run change notification for realtime: one poller per watched run, shared by
every subscriber of that run.

Nothing pushes run changes to the facade (the run lives in a Temporal workflow), so a
run that someone watches is polled every ~100 ms: a cheap exact probe (its history
length, ``RunService.change_marker``), and ``RunService.retrieve`` (exact, never
visibility) only when the probe moved, since a retrieve also queries the worker and ten
of them a second per watched run would cost more than the runs themselves. The poller
exists only while at least one request watches the run and stops at a final status;
subscribers wait on a condition for the record they need, so a change reaches them
within one polling interval plus one read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from fastapi import Request

from durableruns.api.deps import get_environment
from durableruns.engine.service import RunService
from durableruns.models import RunRecord
from durableruns.status import is_completed

POLL_INTERVAL = 0.1
"""Seconds between two reads of a watched run."""
ERROR_BACKOFF = 1.0
"""Seconds to wait after a failed read before trying again."""
LINGER = 2.0
"""Seconds a feed outlives its last watcher: the official client's long polls come one
after another, and each finds the feed (and its latest record) still there."""

log = logging.getLogger(__name__)


class RunFeed:
    """The latest known record of one run, kept fresh while anyone watches it."""

    def __init__(self, run_id: str, service: RunService, interval: float) -> None:
        self.run_id = run_id
        self.record: RunRecord | None = None
        self._service = service
        self._interval = interval
        self._changed = asyncio.Condition()
        self._watchers = 0
        self._poller: asyncio.Task[None] | None = None

    def offer(self, record: RunRecord) -> None:
        """Seed the feed with a record the caller has just read (saves the first poll)."""
        if self.record is None:
            self.record = record

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

    def _start(self) -> None:
        finished = self.record is not None and is_completed(self.record.status)
        if (self._poller is None or self._poller.done()) and not finished:
            self._poller = asyncio.create_task(self._poll(), name=f"run-feed:{self.run_id}")

    def _stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()

    async def _poll(self) -> None:
        marker: int | None = None
        while True:
            try:
                current = await self._service.change_marker(self.run_id)
                record = None
                if current != marker or self.record is None:
                    record = await self._service.retrieve(self.run_id)
                    marker = current
            except Exception:  # an engine hiccup must not end every subscription
                log.warning("reading run %s for realtime failed", self.run_id, exc_info=True)
                await asyncio.sleep(ERROR_BACKOFF)
                continue
            if record is not None and record != self.record:
                async with self._changed:
                    self.record = record
                    self._changed.notify_all()
            if self.record is not None and is_completed(self.record.status):
                return  # a final run never changes again
            await asyncio.sleep(self._interval)


class RunFeeds:
    """The app's feeds, one per watched run id."""

    def __init__(
        self, service: RunService, *, interval: float = POLL_INTERVAL, linger: float = LINGER
    ) -> None:
        self._service = service
        self._interval = interval
        self._linger = linger
        self._feeds: dict[str, RunFeed] = {}
        self._drops: dict[str, asyncio.TimerHandle] = {}

    @property
    def watched(self) -> int:
        """How many runs are being polled for someone right now (or just were)."""
        return len(self._feeds)

    @property
    def subscribers(self) -> int:
        """Open watches of runs (a tag's stream counts once per run it follows)."""
        return sum(feed._watchers for feed in self._feeds.values())

    @contextlib.asynccontextmanager
    async def watch(self, run_id: str) -> AsyncIterator[RunFeed]:
        """The run's shared feed for the duration of the ``async with`` block."""
        drop = self._drops.pop(run_id, None)
        if drop is not None:
            drop.cancel()
        feed = self._feeds.get(run_id)
        if feed is None:
            feed = self._feeds[run_id] = RunFeed(run_id, self._service, self._interval)
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


def get_run_feeds(request: Request) -> RunFeeds:
    """The caller's environment's run feeds, made on first use from its run service."""
    environment = get_environment(request)
    feeds: RunFeeds | None = environment.cache.get("run_feeds")
    if feeds is None:
        feeds = environment.cache["run_feeds"] = RunFeeds(environment.runs)
    return feeds
