"""A running run reads from Temporal alone (``run_state.py``): status, attempts, metadata
and waits exact with every worker stopped — running, waiting and queued runs — and no
query asked (a query is a Temporal Cloud action and needs a worker)."""

from __future__ import annotations

import signal
import time
from typing import Any

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns.engine.workflows.run import RunWorkflow
from durableruns.models import RunRecord
from durableruns.service.running_attempt import with_running_attempt
from durableruns.service.runs import RunService
from durableruns.task_definitions import TaskRegistry
from tests.helpers import eventually, open_stack, stop_process, worker_process

MODULES = ["tests.helpers.tasks.worker_gone_tasks"]


def _exact(record: RunRecord) -> dict[str, Any]:
    """What must read the same whether or not a worker is up."""
    return {
        "status": record.status,
        "metadata": record.metadata,
        "waits": record.waits,
        "version": record.version,
        "child_run_ids": record.child_run_ids,
        "attempts": [(a.id, a.number, a.status, a.finished_at) for a in record.attempts],
    }


async def _asked(client: Client, run_id: str) -> RunRecord:
    handle = client.get_workflow_handle(run_id)
    return with_running_attempt(await handle.query(RunWorkflow.get), await handle.describe())


def _starts(record: RunRecord) -> list[float]:
    return [a.started_at.timestamp() if a.started_at else 0 for a in record.attempts]


async def test_running_waiting_and_queued_runs_read_exactly_with_every_worker_stopped(
    client: Client, temporal_env: WorkflowEnvironment
) -> None:
    registry = TaskRegistry.from_modules(MODULES)
    async with open_stack(client, registry, with_worker=False) as stack:
        prefix = stack.settings.task_queue_prefix
        service = RunService(client, task_queue_prefix=prefix)
        worker = worker_process(temporal_env, prefix, MODULES)
        run_ids: list[str] = []
        try:
            await eventually(stack.service_catalog, lambda c: bool(c.versions), timeout=30)
            waiting = await stack.trigger("marks-then-waits", {})
            running = await stack.trigger("marks-then-runs", {})
            run_ids += [waiting, running]

            async def read(run_id: str) -> RunRecord:
                record = await service.retrieve(run_id)
                assert record is not None
                return record

            await eventually(
                lambda: read(waiting),
                lambda r: r.status.value == "WAITING" and bool(r.metadata),
                timeout=60,
            )
            await eventually(
                lambda: read(running),
                lambda r: r.status.value == "EXECUTING" and bool(r.metadata),
                timeout=60,
            )
            # With the worker up: what the workflow itself says (its query), with the
            # start of an attempt that has not announced it yet (describe) ...
            truth = {run_id: await _asked(client, run_id) for run_id in (waiting, running)}
            stop_process(worker, signal.SIGKILL)  # every worker gone, attempts mid-run
            queued = await stack.trigger("marks-then-runs", {}, metadata={"stage": "queued"})
            run_ids.append(queued)
            # ... and what retrieve reads with none: the same, at once.
            for run_id, expected in truth.items():
                asked = time.monotonic()
                record = await read(run_id)
                assert time.monotonic() - asked < 5
                assert _exact(record) == _exact(expected), run_id
                # the running attempt's start: the server's clock here, the worker's there
                for ours, theirs in zip(_starts(record), _starts(expected), strict=True):
                    assert abs(ours - theirs) < 2
            assert (await read(waiting)).waits[0].kind == "timer"
            assert (await read(running)).status.value == "EXECUTING"
            assert (await read(running)).metadata == {"stage": "running"}
            record = await read(queued)
            assert record.status.value == "QUEUED" and record.attempts == []
            assert record.metadata == {"stage": "queued"}
            # The same through the API (the facade reads through the service).
            body = await stack.retrieve(waiting)
            assert body["status"] == "WAITING" and body["metadata"] == {"stage": "before-wait"}
            assert body["attemptCount"] == 1
        finally:
            stop_process(worker)
            for run_id in run_ids:
                await client.get_workflow_handle(run_id).terminate("test over")


def test_the_memo_is_read_only_for_runs_that_keep_it() -> None:
    """Runs started before (no ``record_in_memo``) are still asked their query."""
    from durableruns.models import RunInput

    old = RunInput.model_validate(
        {
            "run_id": "run_x",
            "task_id": "t",
            "created_at": "2026-01-01T00:00:00Z",
            "task_queue_prefix": "p",
        }
    )
    assert not old.record_in_memo
