"""The bulk action workflow's activities: read the next page of its selection from
visibility, and act on a page of runs (replay or cancel) at most ``concurrency`` at once.

Acting is idempotent per run, so a page retried after a lost worker never acts twice:
a replay's run id is derived from (action, source run) and a second start finds the
first; a cancel of a run that is CANCELED since the action began counts as done. The
activity heartbeats after each run with the outcomes so far, and a retry starts from
them.
"""

from __future__ import annotations

import asyncio
import base64

from temporalio import activity
from temporalio.client import Client

from durableruns.bulk_models import (
    BulkActRequest,
    BulkActResult,
    BulkPage,
    BulkPageRequest,
)
from durableruns.engine.names import BULK_ACT_ACTIVITY, BULK_PAGE_ACTIVITY
from durableruns.errors import DurableRunsError
from durableruns.ids import derived_run_id
from durableruns.service.runs import RunService
from durableruns.status import RunStatus, is_completed

_services: dict[tuple[str, str], RunService] = {}
"""Run services by (namespace, prefix): their catalog cache outlives one page."""


def _service(client: Client, prefix: str) -> RunService:
    key = (client.namespace, prefix)
    return _services.get(key) or _services.setdefault(
        key, RunService(client, task_queue_prefix=prefix)
    )


def replay_run_id(namespace: str, prefix: str, action_id: str, source_run_id: str) -> str:
    """The id of the run bulk action ``action_id`` replays ``source_run_id`` as."""
    return derived_run_id(namespace, prefix, "bulk-replay", action_id, source_run_id)


@activity.defn(name=BULK_PAGE_ACTIVITY)
async def bulk_page(request: BulkPageRequest) -> BulkPage:
    """The next page of run ids matching the action's query, and the next page's token."""
    client = activity.client()
    token = base64.b64decode(request.page_token) if request.page_token else None
    iterator = client.list_workflows(request.query, page_size=request.size, next_page_token=token)
    await iterator.fetch_next_page(page_size=request.size)
    run_ids = tuple(execution.id for execution in iterator.current_page or ())
    following = iterator.next_page_token
    next_token = base64.b64encode(following).decode() if following else None
    return BulkPage(run_ids=run_ids, next_token=next_token)


@activity.defn(name=BULK_ACT_ACTIVITY)
async def bulk_act(request: BulkActRequest) -> BulkActResult:
    """Replay or cancel each run of the page; how many succeeded and failed."""
    info = activity.info()
    done: dict[str, bool] = {}
    if info.heartbeat_details:  # a retried page: what the lost attempt did
        done = dict(info.heartbeat_details[0])
    service = _service(activity.client(), request.task_queue_prefix)
    gate = asyncio.Semaphore(max(1, request.concurrency))

    async def act(run_id: str) -> None:
        async with gate:
            done[run_id] = await _act_on(service, request, run_id, retried=info.attempt > 1)
            activity.heartbeat(done)

    await asyncio.gather(*(act(r) for r in request.run_ids if r not in done))
    success = sum(1 for r in request.run_ids if done.get(r))
    return BulkActResult(success=success, failure=len(request.run_ids) - success)


async def _act_on(
    service: RunService, request: BulkActRequest, run_id: str, *, retried: bool
) -> bool:
    """Whether acting on ``run_id`` succeeded: replayed (now or by an earlier attempt),
    or canceled while unfinished. An unknown run, or one that cannot be replayed, fails."""
    try:
        if request.type == "REPLAY":
            new_id = replay_run_id(
                service.client.namespace, service.task_queue_prefix, request.action_id, run_id
            )
            await service.replay(
                run_id, as_run_id=new_id, bulk_action_id=request.action_id, debounce=None
            )
            return True
        record = await service.retrieve(run_id)
        if record is None:
            return False
        if is_completed(record.status):
            canceled_by_us = (
                retried
                and record.status is RunStatus.CANCELED
                and record.finished_at is not None
                and record.finished_at >= request.created_at
            )
            return canceled_by_us
        await service.cancel(run_id)
        return True
    except DurableRunsError as exc:
        activity.logger.info(
            "bulk action %s: %s %s failed: %s", request.action_id, request.type, run_id, exc
        )
        return False
