"""Sets of runs followed together: the runs with a tag, or the runs of a batch.

A :class:`RunSet` finds its runs (a *discovery*: visibility for a tag, shared by
``engine.tag_discovery``; the batch workflow's history long-poll for a batch), follows
each through the shared per-run feeds (``engine.run_changes``) and keeps a change log:
every change of a member bumps the set's sequence number and stamps the member with it.
A reader holding a position asks for everything after it (:meth:`RunSet.changes_after`)
and gets the latest record of each member that changed since, in the order they last
changed: nothing is lost or duplicated across reconnects as long as the set lives, and a
reader that comes back after the set is gone starts again from a snapshot.

Both realtime protocols read sets: the Electric shapes of the official client's
``runs.subscribeToRunsWithTag`` / ``runs.subscribeToBatch`` (one set per shape handle,
kept by :class:`RunSets` while its client polls) and the server-sent event streams of
the Python SDK (one set per connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from durableruns.models import RunRecord
from durableruns.service.batches import BatchService
from durableruns.service.history_watch import WorkflowGone, workflow_changes
from durableruns.service.run_changes import RunChanges
from durableruns.status import is_completed

MAX_RUNS_PER_SET = 1000
"""Members a set follows at most (the oldest found first)."""
READY_TIMEOUT = 10.0
"""How long a first snapshot waits for its members' first records."""
SET_IDLE_S = 60.0
"""A shape's set lives this long after its client's last request."""
MAX_SETS = 200
"""Shape sets kept per environment; the least recently used goes first."""

log = logging.getLogger(__name__)

Discovery = Callable[["RunSet"], Awaitable[None]]


@dataclass(frozen=True)
class Change:
    """One member's latest record, and whether it joined after the reader's position."""

    record: RunRecord
    is_new: bool


class RunSet:
    """Runs found by a discovery, followed together, with a change log."""

    def __init__(self, feeds: RunChanges, discovery: Discovery, key: str = "") -> None:
        self.key = key
        """What the set stands for (a shape's query), to refuse a handle reused elsewhere."""
        self.handle = f"runs-{uuid.uuid4().hex[:16]}"
        self.seq = 0
        self._feeds = feeds
        self._discovery = discovery
        self._records: dict[str, tuple[RunRecord, int, int]] = {}
        """run id → (latest record, seq it joined at, seq it last changed at)"""
        self._members: dict[str, asyncio.Task[None]] = {}
        self._changed = asyncio.Condition()
        self._discovered_once = False
        self._tasks: list[asyncio.Task[None]] = []
        self.last_used = time.monotonic()

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Begin discovering and following."""
        self._tasks.append(asyncio.create_task(self._discover(), name=f"run-set:{self.handle}"))

    async def close(self) -> None:
        """Stop following every member."""
        tasks = [*self._tasks, *self._members.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _discover(self) -> None:
        try:
            await self._discovery(self)
        except Exception:
            log.warning("discovering the runs of %s failed", self.key, exc_info=True)
        finally:
            await self.discovered()

    # --- what discoveries call ---------------------------------------------------------
    def add(self, run_id: str) -> None:
        """Follow ``run_id`` from now on (no-op if followed or the set is full)."""
        if run_id in self._members or len(self._members) >= MAX_RUNS_PER_SET:
            return
        self._members[run_id] = asyncio.create_task(self._follow(run_id))

    async def discovered(self) -> None:
        """Mark the end of the first discovery round (the snapshot waits for it)."""
        if not self._discovered_once:
            async with self._changed:
                self._discovered_once = True
                self._changed.notify_all()

    # --- what readers call -------------------------------------------------------------
    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Until the first discovery is done and every member found has a record."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(self._ready)

    def _ready(self) -> bool:
        return self._discovered_once and all(
            run_id in self._records or task.done() for run_id, task in self._members.items()
        )

    async def wait_after(self, seq: int, timeout: float | None) -> bool:
        """Whether something changed after ``seq`` (waiting up to ``timeout``)."""
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(lambda: self.seq > seq)
            except TimeoutError:
                return False
            return True

    def changes_after(self, seq: int) -> list[Change]:
        """Each member that changed after ``seq``, latest record, oldest change first."""
        changed = [entry for entry in self._records.values() if entry[2] > seq]
        changed.sort(key=lambda entry: entry[2])
        return [Change(record, is_new=joined > seq) for record, joined, _ in changed]

    # --- following ---------------------------------------------------------------------
    async def _follow(self, run_id: str) -> None:
        async with self._feeds.watch(run_id) as feed:
            seen: RunRecord | None = None
            while True:
                record = await feed.wait_for(_other_than(seen), None)
                if record is None:
                    continue
                seen = record
                await self._record(record)
                if is_completed(record.status):
                    return

    async def _record(self, record: RunRecord) -> None:
        async with self._changed:
            self.seq += 1
            previous = self._records.get(record.id)
            joined = previous[1] if previous else self.seq
            self._records[record.id] = (record, joined, self.seq)
            self._changed.notify_all()


def _other_than(seen: RunRecord | None) -> Callable[[RunRecord], bool]:
    return lambda record: record != seen


# --- discoveries ---------------------------------------------------------------------
def batch_discovery(batches: BatchService, batch_id: str) -> Discovery:
    """The runs of a batch as its items are created, learnt from the batch workflow's
    history long-poll; done once the batch is sealed."""

    async def discover(run_set: RunSet) -> None:
        try:
            async for _ in workflow_changes(batches.client, batch_id):
                batch = await batches.retrieve(batch_id)
                if batch is None:
                    return
                for index in sorted(batch.run_ids):
                    run_set.add(batch.run_ids[index])
                await run_set.discovered()
                if batch.sealed:
                    return
        except WorkflowGone:
            return

    return discover


class RunSets:
    """The sets behind one environment's Electric shapes, by handle, each kept while its
    client polls (:data:`SET_IDLE_S` after its last request, :data:`MAX_SETS` at most)."""

    def __init__(self, feeds: RunChanges) -> None:
        self.feeds = feeds
        self._sets: dict[str, RunSet] = {}
        self._holds: dict[str, int] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._sets)

    def create(self, discovery: Discovery, key: str) -> RunSet:
        """A new, started set for a shape's first request."""
        self._evict()
        run_set = RunSet(self.feeds, discovery, key)
        self._sets[run_set.handle] = run_set
        run_set.start()
        return run_set

    def get(self, handle: str | None, key: str) -> RunSet | None:
        """The set of a shape handle, if it still lives and stands for ``key``."""
        run_set = self._sets.get(handle or "")
        return run_set if run_set is not None and run_set.key == key else None

    @contextlib.asynccontextmanager
    async def using(self, run_set: RunSet) -> AsyncIterator[RunSet]:
        """Hold ``run_set`` for one request (no eviction while held)."""
        self._holds[run_set.handle] = self._holds.get(run_set.handle, 0) + 1
        try:
            yield run_set
        finally:
            self._holds[run_set.handle] -= 1
            run_set.last_used = time.monotonic()
            asyncio.get_running_loop().call_later(SET_IDLE_S + 1, self._evict)

    def _evict(self) -> None:
        now = time.monotonic()
        idle = sorted(
            (s for s in self._sets.values() if not self._holds.get(s.handle)),
            key=lambda s: s.last_used,
        )
        for run_set in idle:
            if now - run_set.last_used > SET_IDLE_S or len(self._sets) >= MAX_SETS:
                self._sets.pop(run_set.handle, None)
                self._holds.pop(run_set.handle, None)
                self._closing.add(asyncio.create_task(run_set.close()))
                self._closing = {task for task in self._closing if not task.done()}

    async def close(self) -> None:
        """Stop every set (the app is shutting down)."""
        sets, self._sets = list(self._sets.values()), {}
        await asyncio.gather(*(s.close() for s in sets), *self._closing, return_exceptions=True)
