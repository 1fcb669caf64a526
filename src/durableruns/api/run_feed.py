"""The realtime routes' access to run change notifications.

The feeds themselves live in the engine (``engine.run_changes``: one history long-poll
per watched run, shared by every subscriber in the process); this module only keeps one
:class:`RunChanges` per environment, made on first use from its run service.
"""

from __future__ import annotations

from fastapi import Request

from durableruns.api.deps import get_environment
from durableruns.service.run_changes import RunChanges, RunFeed

RunFeeds = RunChanges
"""The name the routes use for an environment's run feeds."""

__all__ = ["RunFeed", "RunFeeds", "get_run_feeds", "run_feeds_of"]


async def get_run_feeds(request: Request) -> RunFeeds:
    """:func:`run_feeds_of` as a dependency (on the loop: see :mod:`.deps`)."""
    return run_feeds_of(request)


def run_feeds_of(request: Request) -> RunFeeds:
    """The caller's environment's run feeds, made on first use from its run service."""
    environment = get_environment(request)
    feeds: RunFeeds | None = environment.cache.get("run_feeds")
    if feeds is None:
        feeds = environment.cache["run_feeds"] = RunChanges(environment.runs)
    return feeds
