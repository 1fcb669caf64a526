"""Why isn't it running? The ``waitingReason`` of a run that is not executing.

Read from where the truth is, at the moment of asking: the run's own record (delay,
timers, child runs, wait tokens, its version), the token's own workflow (still waiting,
and until when), its limits' workflows (slots held, the line of waiting runs, paused)
and Temporal's task-queue pollers (``DescribeTaskQueue``: which workers
poll the queue the run's attempt is dispatched to: ``service/pollers.py``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from durableruns.engine.names import task_queue
from durableruns.ids import derived_run_id
from durableruns.limit_models import NO_KEY, LimitRequest, LimitSpec, LimitState
from durableruns.models import RunRecord, WaitSpec
from durableruns.service.limits import LimitService
from durableruns.service.pollers import live_pollers
from durableruns.service.runs import RunService
from durableruns.service.tokens import TokenService
from durableruns.status import RunStatus, is_completed
from durableruns.wait_tokens import TokenStatus
from durableruns.wire import WaitingReason

log = logging.getLogger(__name__)
MAX_CHILDREN_READ = 100


async def waiting_reason(
    runs: RunService, limits: LimitService, record: RunRecord
) -> WaitingReason | None:
    """Why ``record``'s run is not executing; None when it is executing or finished, or
    when the engine could not tell (a retrieve never fails for want of a reason)."""
    try:
        return await _reason(runs, limits, record)
    except Exception:
        log.warning("could not tell why run %s is waiting", record.id, exc_info=True)
        return None


async def _reason(
    runs: RunService, limits: LimitService, record: RunRecord
) -> WaitingReason | None:
    status = record.status
    if is_completed(status) or status is RunStatus.EXECUTING:
        return None
    if status is RunStatus.DELAYED and record.delayed_until is not None:
        until = record.delayed_until
        return WaitingReason(code="DELAYED", message=f"Delayed until {_when(until)}", until=until)
    if status is RunStatus.PENDING_VERSION:
        return WaitingReason(
            code="PENDING_VERSION",
            message=f"No deployed version serves task {record.task_id!r}; the run starts"
            " when a worker serving it appears",
        )
    if status is RunStatus.WAITING:
        reason = await _waits(runs, record)
        if reason is not None:
            return reason
    if status in (RunStatus.QUEUED, RunStatus.WAITING) and record.options.concurrency_limit:
        reason = await _limit_slot(limits, record)
        if reason is not None:
            return reason
    return await _dispatch(runs, record)


async def _waits(runs: RunService, record: RunRecord) -> WaitingReason | None:
    """A timer not yet over, child runs not all done, a wait token not completed, or an
    input stream's next value (None: every wait is over)."""
    client = runs.client
    now = datetime.now(UTC)
    timers = [w.until for w in record.waits if w.kind == "timer" and w.until and w.until > now]
    child_ids = _child_ids(record.id, [w for w in record.waits if w.kind == "runs"])
    if child_ids:
        done = await _done_count(client, child_ids[:MAX_CHILDREN_READ])
        if done < len(child_ids):
            return WaitingReason(
                code="CHILD_RUNS",
                message=f"Waiting for {len(child_ids)} child run"
                f"{'s' if len(child_ids) != 1 else ''} ({done} done)",
                child_runs=len(child_ids),
                child_runs_done=done,
            )
    inputs = [w for w in record.waits if w.kind == "input" and w.stream_id]
    if inputs:
        wait = inputs[0]
        deadline = f" (or until {_when(wait.until)})" if wait.until else ""
        return WaitingReason(
            code="INPUT_STREAM",
            message=f"Waiting for a value on input stream {wait.stream_id!r}{deadline}",
            input_stream=wait.stream_id,
            until=wait.until,
        )
    for wait in record.waits:
        if wait.kind == "token" and wait.token_id:
            reason = await _token(runs, wait.token_id)
            if reason is not None:
                return reason
    if timers:
        until = max(timers)
        return WaitingReason(code="TIMER", message=f"A timer until {_when(until)}", until=until)
    return None


async def _token(runs: RunService, token_id: str) -> WaitingReason | None:
    """The token, while it waits: its id and when it times out (None: it is done)."""
    tokens = TokenService(runs.client, task_queue_prefix=runs.task_queue_prefix, api_url="")
    token = await tokens.retrieve(token_id)
    if token is None or token.status is not TokenStatus.WAITING:
        return None
    return WaitingReason(
        code="TOKEN",
        message=f"Waiting for token {token_id} to be completed (it times out at"
        f" {_when(token.timeout_at)})",
        token_id=token_id,
        until=token.timeout_at,
    )


def _child_ids(run_id: str, waits: list[WaitSpec]) -> list[str]:
    return [
        derived_run_id(run_id, "child", str(w.position), str(i))
        for w in waits
        for i in range(len(w.items))
    ]


async def _done_count(client: Client, run_ids: list[str]) -> int:
    async def closed(run_id: str) -> bool:
        try:
            description = await client.get_workflow_handle(run_id).describe()
        except RPCError:
            return False
        return description.status is not WorkflowExecutionStatus.RUNNING

    return sum(await asyncio.gather(*(closed(i) for i in run_ids)))


async def _limit_slot(limits: LimitService, record: RunRecord) -> WaitingReason | None:
    """In line for a slot of one of its limits (None: it holds them all, or is in no
    line), or held by a paused limit or queue."""
    options = record.options
    for spec in options.limits:
        state = await limits.state(spec)
        if record.id in state.holders:
            continue
        line = [w for w in state.waiting if w.concurrency_key == options.concurrency_key]
        line.sort(key=lambda w: w.order)
        position = next((i + 1 for i, w in enumerate(line) if w.run_id == record.id), None)
        if position is None and not state.paused:
            return None  # not in line (yet, or any more)
        return _at_limit(spec, state.paused, record, position, state, line)
    return None


def _at_limit(
    spec: LimitSpec,
    paused: bool,
    record: RunRecord,
    position: int | None,
    state: LimitState,
    line: list[LimitRequest],
) -> WaitingReason:
    options = record.options
    key = options.concurrency_key
    in_key = f" (key {key})" if key else ""
    queue = spec.name.removeprefix("queue/") if spec.kind == "queue" else None
    what = f"Queue {queue}" if queue is not None else f"Concurrency limit {spec.name}"
    if paused:
        return WaitingReason(
            code="PAUSED",
            message=f"{what} is paused: nothing new starts until it is resumed",
            queue=queue,
            concurrency_limit=None if queue else spec.name,
            concurrency_key=key,
            position=position,
        )
    pool = key if key is not None else NO_KEY
    running = state.running_in(pool)
    bound = state.per_key_bound(pool, datetime.now(UTC))
    total = state.total_bound
    limit = bound if bound is not None else total
    if total is not None and len(state.holders) >= total:
        running, limit = len(state.holders), total
    shown = f"{running}/{limit}" if limit is not None else f"{running}"
    return WaitingReason(
        code="QUEUE_AT_LIMIT" if queue is not None else "CONCURRENCY_LIMIT",
        message=f"{what}{in_key} is at its limit: {shown} running, position {position}",
        queue=queue,
        concurrency_limit=None if queue else spec.name,
        concurrency_key=key,
        running=running,
        limit=limit,
        position=position,
    )


async def _dispatch(runs: RunService, record: RunRecord) -> WaitingReason:
    """Its execution is on a task queue: is any worker (of its version) polling it?"""
    client, prefix = runs.client, runs.task_queue_prefix
    version = record.version if record.attempts else None
    version = version or record.options.lock_to_version
    queue = task_queue(prefix, record.task_id, version)
    pollers = await live_pollers(client, queue)
    if pollers:
        return WaitingReason(
            code="DISPATCHED",
            message=f"Waiting for one of {len(pollers)} polling worker"
            f"{'s' if len(pollers) != 1 else ''} to start it (queue {queue})",
            task_queue=queue,
            pollers=len(pollers),
            version=version,
        )
    serving = await _serving_versions(runs, record.task_id, version)
    if version and serving:
        return WaitingReason(
            code="NO_WORKER_FOR_VERSION",
            message=f"No worker of version {version} is alive (workers serve {', '.join(serving)})",
            task_queue=queue,
            pollers=0,
            version=version,
            serving_versions=serving,
        )
    return WaitingReason(
        code="NO_WORKER",
        message=f"No worker is polling the queue of task {record.task_id!r} ({queue})",
        task_queue=queue,
        pollers=0,
        version=version,
    )


async def _serving_versions(runs: RunService, task_id: str, other_than: str | None) -> list[str]:
    """Deployed versions of the task with a live worker (newest first)."""
    catalog = await runs.catalog.get()
    versions = [v for v, tasks in catalog.versions.items() if any(t.id == task_id for t in tasks)]
    versions = [v for v in versions if v != other_than]
    versions.sort(key=lambda v: catalog.registered_at[v], reverse=True)
    queues = [task_queue(runs.task_queue_prefix, task_id, v) for v in versions]
    alive = await asyncio.gather(*(live_pollers(runs.client, q) for q in queues))
    return [v for v, pollers in zip(versions, alive, strict=True) if pollers]


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
