"""A durableruns worker: the run, batch and catalog workflows, plus the attempt
activity on the queues of each task it serves.

Every worker polls the shared runs queue, so run workflows make progress wherever
workers are; attempts go only to workers that have the task's code. An execution is
first offered on the runs queue, so the worker completing the run's workflow task
takes it in the same round trip (eager activity dispatch); a worker of another version
or without the task refuses it, and it goes to the task's queue. Each task has two
attempt queues: ``task/<id>@<version>`` for runs pinned to this version (plain
triggers pin to the latest version, children to their parent's), and ``task/<id>`` for
runs triggered before any version served the task (PENDING_VERSION), which the first
worker to serve it picks up. On start the worker registers its version's tasks in the
catalog, and refuses to start if that version already defines one of them differently;
then it syncs the declarative schedules (``schedule_sync.py``). The runs worker also
runs schedule ticks (``schedule_tick.py``) and bulk actions (``workflows/bulk_action.py``).
A worker owns the pool of task processes its attempts run in (crash isolation).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import (
    FixedSizeSlotSupplier,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkerTuner,
)

from durableruns import metrics
from durableruns.engine.names import runs_queue, task_queue
from durableruns.engine.workflows.alert_delivery import AlertDeliveryWorkflow
from durableruns.engine.workflows.batch import BatchWorkflow
from durableruns.engine.workflows.bulk_action import BulkActionWorkflow
from durableruns.engine.workflows.catalog import CatalogWorkflow
from durableruns.engine.workflows.limit import LimitWorkflow
from durableruns.engine.workflows.monitor import MonitorWorkflow
from durableruns.engine.workflows.queue import QueueWorkflow
from durableruns.engine.workflows.run import RunWorkflow
from durableruns.engine.workflows.schedule_tick import ScheduleTickWorkflow
from durableruns.engine.workflows.token import TokenWorkflow
from durableruns.service.catalog import register_deployment
from durableruns.service.monitor_state import start_monitor
from durableruns.service.schedule_sync import sync_declared_schedules
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.alert_delivery import AlertSender, SmtpSettings
from durableruns.worker.attempt_activity import (
    DEFAULT_ANNOUNCE_AFTER_S,
    DEFAULT_HEARTBEAT_EVERY_S,
    AttemptActivity,
)
from durableruns.worker.attempt_slots import AttemptSlots
from durableruns.worker.bulk_activities import bulk_act, bulk_page
from durableruns.worker.error_reports import ErrorReporter
from durableruns.worker.health_probe import health_probe
from durableruns.worker.hooks_activity import HooksActivity
from durableruns.worker.isolation import ProcessPool, isolation_enabled, task_modules
from durableruns.worker.queue_activities import closed_runs, enqueue, enqueue_limit
from durableruns.worker.schedule_ticks import fire_tick
from durableruns.worker.task_runtime import DEFAULT_SHORT_WAIT_S
from durableruns.worker.token_waiter import token_waiter

DEFAULT_SLOTS = 100
"""temporalio's default number of slots of each kind."""
RUNS_WORKER_ACTIVITIES = DEFAULT_SLOTS
"""Activity slots of the runs worker for its own activities (enqueue, bulk pages …),
temporalio's default; the offered executions it runs get ``max_concurrent_attempts``
more (``AttemptActivity`` refuses beyond that)."""


def default_version(today: datetime | None = None) -> str:
    """A version derived from the date, e.g. ``20261128.1``."""
    return f"{(today or datetime.now(UTC)):%Y%m%d}.1"


WORKFLOW_RUNNER = UnsandboxedWorkflowRunner()
"""Our workflows run outside Temporal's sandbox. The sandbox guards *user* workflow code
against non-determinism; here no user code runs in a workflow (task code runs in
activities), and re-importing the run workflow module into a fresh sandbox cost ~10 ms
of worker CPU per run (bench/README.md), a third of a run's cost on two cores. The
guard is kept where it pays: the replay tests replay every recorded history through
the sandboxed runner, so a non-deterministic call in workflow code still fails CI."""


def build_workers(
    client: Client,
    registry: TaskRegistry,
    *,
    task_queue_prefix: str,
    version: str,
    pool: ProcessPool | None = None,
    short_wait_s: float = DEFAULT_SHORT_WAIT_S,
    max_concurrent_attempts: int = 100,
    drain_grace: timedelta = timedelta(),
    api_url: str | None = None,
    error_reports: ErrorReporter | None = None,
    smtp: SmtpSettings | None = None,
    heartbeat_every_s: float = DEFAULT_HEARTBEAT_EVERY_S,
    announce_attempts: bool = True,
    announce_after_s: float = DEFAULT_ANNOUNCE_AFTER_S,
    draining: asyncio.Event | None = None,
) -> list[Worker]:
    """One Temporal worker for run workflows and one per served task; attempts run in
    ``pool``'s task processes when given. The runs worker also runs the executions
    offered on its queue (``RunWorkflow._offered_outcome``) for this version's tasks,
    until ``draining`` is set. On shutdown the task workers stop polling and
    give running attempts ``drain_grace`` to finish, then hand the rest back (they
    resume on another worker, not counted as failed attempts). ``api_url`` is where the
    facade is, for the callback URLs of tokens task code creates. ``error_reports``: where
    failed attempts are reported for their error groups (None: nowhere, for measuring
    what it costs).
    ``smtp`` is where alert emails go out (None: email alerts fail their tries)."""
    # The pinned queue's slots of each task, shared with the executions offered to the
    # runs worker, so the bound per task holds whichever way they come.
    slots = {task.id: AttemptSlots(max_concurrent_attempts) for task in registry}
    attempts = AttemptActivity(
        registry,
        version,
        task_queue_prefix,
        pool=pool,
        short_wait_s=short_wait_s,
        api_url=api_url,
        error_reports=error_reports,
        heartbeat_every_s=heartbeat_every_s,
        announce_attempts=announce_attempts,
        announce_after_s=announce_after_s,
        max_offered=max_concurrent_attempts,
        slots=slots,
        draining=draining,
    )
    hooks = HooksActivity(registry, version, pool=pool)
    workers = [
        Worker(
            client,
            task_queue=runs_queue(task_queue_prefix),
            workflows=[
                RunWorkflow,
                AlertDeliveryWorkflow,
                BatchWorkflow,
                CatalogWorkflow,
                MonitorWorkflow,
                QueueWorkflow,
                LimitWorkflow,
                ScheduleTickWorkflow,
                TokenWorkflow,
                BulkActionWorkflow,
            ],
            activities=[
                enqueue,
                enqueue_limit,
                closed_runs,
                fire_tick,
                token_waiter,
                AlertSender(smtp).deliver,
                health_probe,
                bulk_page,
                bulk_act,
                # Executions offered on this queue: Temporal hands them to this worker
                # as it completes the run's workflow task (eager activity dispatch).
                attempts.run_attempt,
            ],
            workflow_runner=WORKFLOW_RUNNER,
            max_heartbeat_throttle_interval=timedelta(seconds=1),  # as the task workers
            max_concurrent_activities=RUNS_WORKER_ACTIVITIES + max_concurrent_attempts,
            graceful_shutdown_timeout=drain_grace,
        )
    ]
    for task in registry:
        for queue_version, polls in ((version, 2), (None, 1)):
            workers.append(
                Worker(
                    client,
                    task_queue=task_queue(task_queue_prefix, task.id, queue_version),
                    activities=[attempts.run_attempt, hooks.run_hooks],
                    # A beat the cancel watch asks for goes out at once (the regular beats
                    # are far apart: attempt_activity.heartbeat_cadence).
                    max_heartbeat_throttle_interval=timedelta(seconds=1),
                    max_concurrent_activity_task_polls=polls,
                    **_attempt_capacity(
                        slots[task.id] if queue_version else None, max_concurrent_attempts
                    ),
                    graceful_shutdown_timeout=drain_grace,
                )
            )
    return workers


@contextlib.asynccontextmanager
async def running_worker(
    client: Client,
    registry: TaskRegistry,
    *,
    task_queue_prefix: str,
    version: str,
    isolation: bool | None = None,
    short_wait_s: float = DEFAULT_SHORT_WAIT_S,
    max_concurrent_attempts: int = 100,
    drain_grace: timedelta = timedelta(),
    api_url: str | None = None,
    metrics_port: int | None = None,
    error_groups: bool = True,
    smtp: SmtpSettings | None = None,
    heartbeat_every_s: float = DEFAULT_HEARTBEAT_EVERY_S,
    announce_attempts: bool = True,
    announce_after_s: float = DEFAULT_ANNOUNCE_AFTER_S,
) -> AsyncIterator[list[Worker]]:
    """Run a worker for the duration of the ``async with`` block.

    ``isolation`` (default: the ``DURABLERUNS_ISOLATION`` switch, on) runs each attempt
    in a task process of its own; off, task code runs in this process (for debugging).
    Timers shorter than ``short_wait_s`` stay in the attempt's process; longer ones and
    every child-run wait suspend it. ``max_concurrent_attempts`` caps the executions of
    task code per task queue.
    Leaving the block drains: every task worker stops polling at once and running
    attempts get ``drain_grace`` to finish (together, not one worker after another);
    the run-workflow worker stops last.
    ``metrics_port`` (0: a free one) serves ``/metrics``. ``heartbeat_every_s``: how
    often a running attempt heartbeats at most (each beat is a Temporal Cloud action).
    ``announce_attempts``, ``announce_after_s``: the ``Settings`` of those names.
    ``error_groups`` off: failed
    attempts are not reported to the error groups (for measuring what it costs).
    """
    async with contextlib.AsyncExitStack() as stack:
        if metrics_port is not None:
            stack.enter_context(metrics.serving(metrics_port))
        pool = None
        if isolation_enabled(isolation) and len(registry):
            # Entered first, so it closes last: after the workers finished their attempts.
            pool = await stack.enter_async_context(ProcessPool(preload=task_modules(registry)))
        # Before any worker polls: a run that fails signals this workflow.
        await start_monitor(client, task_queue_prefix)
        reports = None
        if error_groups:
            reports = ErrorReporter(client, task_queue_prefix=task_queue_prefix, version=version)
            # Pushed before the workers enter, so it runs after they drained: the
            # retried attempts' reports still lingering go out.
            stack.push_async_callback(reports.close)
        draining = asyncio.Event()
        workers = build_workers(
            client,
            registry,
            task_queue_prefix=task_queue_prefix,
            version=version,
            pool=pool,
            short_wait_s=short_wait_s,
            max_concurrent_attempts=max_concurrent_attempts,
            drain_grace=drain_grace,
            api_url=api_url,
            error_reports=reports,
            smtp=smtp,
            heartbeat_every_s=heartbeat_every_s,
            announce_attempts=announce_attempts,
            announce_after_s=announce_after_s,
            draining=draining,
        )
        for worker in workers:
            await stack.enter_async_context(worker)
        # Runs before the workers' own exits (shutdown is idempotent): drain all at once.
        stack.push_async_callback(_drain, workers[1:], draining)
        # After the workers started: the catalog workflow needs one to take the update.
        catalog = await register_deployment(
            client, registry, task_queue_prefix=task_queue_prefix, version=version
        )
        await sync_declared_schedules(
            client, catalog, task_queue_prefix=task_queue_prefix, version=version
        )
        yield workers


def _attempt_capacity(slots: AttemptSlots | None, bound: int) -> dict[str, Any]:
    """A task worker's activity slots: ``slots`` (shared with offered executions) on the
    pinned queue, a fixed ``bound`` on the version-less one."""
    if slots is None:
        return {"max_concurrent_activities": bound}
    fixed = FixedSizeSlotSupplier(DEFAULT_SLOTS)
    tuner = WorkerTuner.create_composite(
        workflow_supplier=fixed,
        activity_supplier=slots,
        local_activity_supplier=fixed,
        nexus_supplier=fixed,
    )
    return {"tuner": tuner}


async def _drain(task_workers: list[Worker], draining: asyncio.Event) -> None:
    """Shut the task workers down concurrently, so one grace period covers them all;
    the runs worker, still running workflows, refuses offered executions meanwhile."""
    draining.set()
    await asyncio.gather(*(worker.shutdown() for worker in task_workers))
