"""Finding the runs with a tag: one visibility poll per tag filter, shared.

Visibility pushes nothing, so a tag subscription must ask it for new runs; asking once
per subscription would make a thousand idle subscribers to one tag a thousand queries a
second. A :class:`TagDiscoverer` asks once a second for everyone following the same
filter (tags and ``createdAt``) in the process, remembers what it found (up to
:data:`run_sets.MAX_RUNS_PER_SET`), replays that to a set that joins later, and stops
when its last set leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import datetime, timedelta

from durableruns.service.run_list import RunFilter, RunLister
from durableruns.service.run_sets import MAX_RUNS_PER_SET, Discovery, RunSet

TAG_DISCOVERY_INTERVAL = 1.0
"""How often a tag filter's discoverer asks visibility (which lags about a second)."""
DISCOVERY_OVERLAP = timedelta(seconds=5)
"""Each round looks back this far before the newest run found (visibility lag)."""

log = logging.getLogger(__name__)


class TagDiscoverer:
    """The runs of one tag filter, found for every set that follows it."""

    def __init__(self, lister: RunLister, run_filter: RunFilter) -> None:
        self._lister = lister
        self._filter = run_filter
        self.found: dict[str, datetime] = {}
        """run id → creation time, oldest first."""
        self.rounds = 0
        self.sets: set[RunSet] = set()
        self._task: asyncio.Task[None] | None = None

    async def join(self, run_set: RunSet, created_from: datetime | None) -> None:
        """Feed ``run_set`` what was found (created since ``created_from``) and, from now
        on, what will be."""
        self.sets.add(run_set)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll(), name="tag-discovery")
        for run_id, created_at in self.found.items():
            if created_from is None or created_at >= created_from:
                run_set.add(run_id)
        if self.rounds:
            await run_set.discovered()

    def leave(self, run_set: RunSet) -> bool:
        """Stop feeding ``run_set``; True when no set is left (the poll stops)."""
        self.sets.discard(run_set)
        if not self.sets and self._task is not None:
            self._task.cancel()
        return not self.sets

    async def _poll(self) -> None:
        floor = self._filter.created_from
        while True:
            try:
                page = await self._lister.page(replace(self._filter, created_from=floor), 100)
            except Exception:  # a visibility hiccup: try again next round
                log.warning("discovering runs for tags %s failed", self._filter.tags, exc_info=True)
            else:
                for row in reversed(page.rows):
                    if row.run_id not in self.found and len(self.found) < MAX_RUNS_PER_SET:
                        self.found[row.run_id] = row.created_at
                        for run_set in list(self.sets):
                            run_set.add(row.run_id)
                if page.rows and floor is not None:
                    floor = max(floor, page.rows[0].created_at - DISCOVERY_OVERLAP)
            self.rounds += 1
            for run_set in list(self.sets):
                await run_set.discovered()
            await asyncio.sleep(TAG_DISCOVERY_INTERVAL)


class TagDiscoverers:
    """One environment's tag discoverers, by filter."""

    def __init__(self) -> None:
        self._discoverers: dict[str, TagDiscoverer] = {}

    def __len__(self) -> int:
        return len(self._discoverers)

    def discovery(self, lister: RunLister, run_filter: RunFilter, key: str) -> Discovery:
        """A set's discovery of the runs matching ``run_filter`` (``key`` names the filter:
        sets with the same key share one poll)."""

        async def discover(run_set: RunSet) -> None:
            discoverer = self._discoverers.get(key)
            if discoverer is None:
                discoverer = self._discoverers[key] = TagDiscoverer(lister, run_filter)
            try:
                await discoverer.join(run_set, run_filter.created_from)
                await asyncio.Event().wait()  # until the set closes (cancels this)
            finally:
                with contextlib.suppress(KeyError):
                    if discoverer.leave(run_set) and self._discoverers[key] is discoverer:
                        del self._discoverers[key]

        return discover
