"""``GET /metrics``: Prometheus text for this facade (no key: scrapers rarely carry one;
it shows task and queue names and counts, never payloads or ids).

The queue and realtime gauges are read at scrape time from where their truth is: each
environment's limited queues from their queue workflows (``QueueService``; the base
queue, not each concurrency key), realtime subscribers from the environment's run feeds.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from durableruns.api.environments import Environment
from durableruns.api.run_feed import RunFeeds
from durableruns.metrics import (
    QUEUE_LIMIT,
    QUEUE_SLOTS_IN_USE,
    QUEUE_WAITING,
    REALTIME_SUBSCRIBERS,
    exposition,
)
from durableruns.service.queues import UnknownQueueError

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """This process's metrics, with the SDK's, in Prometheus text format."""
    environments: list[Environment] = request.app.state.environments
    results = await asyncio.gather(
        *(_queue_gauges(e) for e in environments), return_exceptions=True
    )
    QUEUE_WAITING.clear()
    QUEUE_SLOTS_IN_USE.clear()
    QUEUE_LIMIT.clear()
    for environment, result in zip(environments, results, strict=True):
        feeds: RunFeeds | None = environment.cache.get("run_feeds")
        REALTIME_SUBSCRIBERS.labels(environment.name).set(feeds.subscribers if feeds else 0)
        if isinstance(result, BaseException):
            continue  # the environment's namespace is unreachable: no queue gauges
        for name, (waiting, in_use, limit) in result.items():
            QUEUE_WAITING.labels(environment.name, name).set(waiting)
            QUEUE_SLOTS_IN_USE.labels(environment.name, name).set(in_use)
            QUEUE_LIMIT.labels(environment.name, name).set(limit)
    body, content_type = await asyncio.to_thread(exposition)
    return Response(body, media_type=content_type)


async def _queue_gauges(environment: Environment) -> dict[str, tuple[int, int, int]]:
    """(waiting runs, slots in use, limit) of each limited queue of the environment."""
    catalog = await environment.runs.catalog.get()
    names = sorted(
        {t.queue for tasks in catalog.versions.values() for t in tasks if t.concurrency_limit}
    )
    gauges: dict[str, tuple[int, int, int]] = {}
    for name in names:
        try:
            queue = await environment.queues.get(name)
        except UnknownQueueError:
            continue
        gauges[name] = (queue.queued, queue.running, queue.current_limit or 0)
    return gauges
