"""Heartbeats cost an action each on Temporal Cloud, so attempts beat rarely (2 a
minute); what the beats used to buy still holds: cancel reaches running code within
2 s (through the run's history, ``worker/cancel_watch.py``) and a worker lost
mid-attempt is noticed within a minute."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns.engine.workflows.run import HEARTBEAT_TIMEOUT
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.attempt_activity import DEFAULT_HEARTBEAT_EVERY_S, heartbeat_cadence
from tests.helpers import Stack, eventually, open_stack, stop_process, worker_process

HEARTBEAT_TASKS = ["tests.helpers.tasks.heartbeat_tasks"]


def test_the_default_cadence_is_two_beats_a_minute_within_the_timeout() -> None:
    every = heartbeat_cadence(DEFAULT_HEARTBEAT_EVERY_S, HEARTBEAT_TIMEOUT)
    assert every == 30 and 60 / every <= 2
    assert timedelta(seconds=60) >= HEARTBEAT_TIMEOUT
    assert every < HEARTBEAT_TIMEOUT.total_seconds()
    # Executions scheduled by earlier code (10 s timeout) still beat in time.
    assert heartbeat_cadence(30, timedelta(seconds=10)) == 6
    assert heartbeat_cadence(30, timedelta(0)) == 30


async def test_cancel_reaches_running_code_within_two_seconds(
    either_stack: Stack, tmp_path: Path
) -> None:
    stack = either_stack
    ticks_file = tmp_path / "ticks"
    run_id = await stack.trigger("cancel-probe", {"seconds": 60, "ticks_file": str(ticks_file)})

    async def ticks() -> int:
        return len(ticks_file.read_text()) if ticks_file.exists() else 0

    await eventually(ticks, lambda n: n > 0, timeout=30)  # the code runs
    await asyncio.sleep(3)  # past the start: no beat is due for another ~27 s
    asked = time.time()
    response = await stack.http.post(f"/api/v2/runs/{run_id}/cancel")
    assert response.status_code == 200
    # Stopped: no tick for 1 s (the probe ticks every 50 ms).
    last = await ticks()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        now = await ticks()
        if now == last:
            break
        last = now
    stopped_at = ticks_file.stat().st_mtime
    print(f"cancel reached the code {stopped_at - asked:.2f} s after it was asked")
    assert stopped_at - asked <= 2.0, f"code ran {stopped_at - asked:.2f} s after the cancel"
    run = await stack.wait_status(run_id, "CANCELED", timeout=5)
    assert run["attempts"][0]["status"] == "CANCELED"


async def test_a_lost_worker_is_noticed_within_a_minute(
    client: Client, temporal_env: WorkflowEnvironment
) -> None:
    registry = TaskRegistry.from_modules(HEARTBEAT_TASKS)
    async with open_stack(client, registry, with_worker=False) as stack:
        prefix = stack.settings.task_queue_prefix
        first = worker_process(temporal_env, prefix, HEARTBEAT_TASKS)
        second = None
        try:
            await eventually(stack.service_catalog, lambda c: bool(c.versions), timeout=30)
            run_id = await stack.trigger("lost-then-quick", {})
            await eventually(
                lambda: client.get_workflow_handle(run_id).describe(),
                lambda d: any(p.last_worker_identity for p in d.raw_description.pending_activities),
                timeout=60,
            )
            await asyncio.sleep(2)  # the attempt beats as it would mid-run
            stop_process(first, signal.SIGKILL)
            killed = time.time()
            second = worker_process(temporal_env, prefix, HEARTBEAT_TASKS)
            run = await stack.wait_final(run_id, timeout=120)
        finally:
            stop_process(first)
            if second is not None:
                stop_process(second)
    assert run["status"] == "COMPLETED" and run["output"] == 2
    lost = run["attempts"][0]
    assert lost["error"]["name"] == "WorkerLost"
    noticed = datetime.fromisoformat(lost["completedAt"].replace("Z", "+00:00")).timestamp()
    print(f"lost worker noticed {noticed - killed:.1f} s after the kill")
    assert noticed - killed <= 60, f"noticed {noticed - killed:.1f} s after the kill"
