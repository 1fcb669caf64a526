"""``waitingReason`` on retrieve: why a run is not executing, each from a real situation."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from durableruns.service.catalog import register_deployment
from durableruns.task_definitions import TaskRegistry
from tests.helpers import Stack, eventually, open_stack

VERSION = "20261128.1"
OLD_VERSION = "20250101.1"


@pytest.fixture(scope="module")
async def stack(client: Client) -> AsyncIterator[Stack]:
    """A worker serving the observability tasks; the same tasks also "deployed" as an
    older version that has no worker, and one task deployed that no worker serves."""
    registry = TaskRegistry.from_modules(["tests.helpers.tasks.observability_tasks"])
    async with open_stack(client, registry, version=VERSION) as opened:
        prefix = opened.settings.task_queue_prefix
        await register_deployment(client, registry, task_queue_prefix=prefix, version=OLD_VERSION)
        unserved = TaskRegistry.from_modules(["tests.helpers.tasks.observability_unserved"])
        await register_deployment(client, unserved, task_queue_prefix=prefix, version=OLD_VERSION)
        yield opened


async def _reason(stack: Stack, run_id: str, code: str) -> dict[str, Any]:
    run = await eventually(
        lambda: stack.retrieve(run_id),
        lambda r: (r.get("waitingReason") or {}).get("code") == code,
        timeout=20,
    )
    reason: dict[str, Any] = run["waitingReason"]
    return reason


async def test_no_worker_polls_the_tasks_queue(stack: Stack) -> None:
    run_id = await stack.trigger("obs-unserved", {})
    reason = await _reason(stack, run_id, "NO_WORKER")
    assert reason["pollers"] == 0
    assert reason["taskQueue"].endswith(f"task/obs-unserved@{OLD_VERSION}")
    assert "No worker is polling" in reason["message"]
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")


async def test_no_worker_of_the_runs_version(stack: Stack) -> None:
    run_id = await stack.trigger("obs-sleeper", {}, lockToVersion=OLD_VERSION)
    reason = await _reason(stack, run_id, "NO_WORKER_FOR_VERSION")
    assert reason["version"] == OLD_VERSION
    assert reason["servingVersions"] == [VERSION]
    assert reason["message"] == (
        f"No worker of version {OLD_VERSION} is alive (workers serve {VERSION})"
    )
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")


async def test_a_full_queue_says_running_and_position(stack: Stack) -> None:
    holders = [await stack.trigger("obs-one-slot", {"seconds": 30}, lockToVersion=VERSION)]
    await stack.wait_status(holders[0], "EXECUTING")
    waiting = [await stack.trigger("obs-one-slot", {}, lockToVersion=VERSION) for _ in range(3)]
    reason = await _reason(stack, waiting[2], "QUEUE_AT_LIMIT")
    assert (reason["running"], reason["limit"], reason["position"]) == (1, 1, 3)
    assert reason["queue"] == "obs-one-slot"
    assert reason["message"] == "Queue obs-one-slot is at its limit: 1/1 running, position 3"
    for run_id in [*holders, *waiting]:
        await stack.http.post(f"/api/v2/runs/{run_id}/cancel")


async def test_delayed_until(stack: Stack) -> None:
    run_id = await stack.trigger("obs-sleeper", {}, delay="1h")
    run = await stack.retrieve(run_id)
    reason = run["waitingReason"]
    assert reason["code"] == "DELAYED"
    assert reason["until"] == run["delayedUntil"]
    assert reason["message"].startswith("Delayed until ")
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")


async def test_waiting_for_child_runs_with_the_done_count(stack: Stack) -> None:
    run_id = await stack.trigger("obs-waits-for-children", {"seconds": 30}, lockToVersion=VERSION)
    reason = await _reason(stack, run_id, "CHILD_RUNS")
    reason = await eventually(
        lambda: _reason(stack, run_id, "CHILD_RUNS"), lambda r: r["childRunsDone"] == 1
    )
    assert reason["childRuns"] == 2
    assert reason["message"] == "Waiting for 2 child runs (1 done)"
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")


async def test_a_timer(stack: Stack) -> None:
    run_id = await stack.trigger("obs-parent", {"seconds": 30}, lockToVersion=VERSION)
    reason = await _reason(stack, run_id, "TIMER")
    assert reason["message"].startswith("A timer until ")
    assert reason["until"]
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")


async def test_a_wait_token_named_with_its_timeout(stack: Stack) -> None:
    run_id = await stack.trigger("obs-waits-for-token", {"timeout": "2h"}, lockToVersion=VERSION)
    run = await eventually(
        lambda: stack.retrieve(run_id), lambda r: (r.get("metadata") or {}).get("tokenId")
    )
    token_id = run["metadata"]["tokenId"]
    reason = await _reason(stack, run_id, "TOKEN")
    token = (await stack.http.get(f"/api/v1/waitpoints/tokens/{token_id}")).json()
    assert reason["tokenId"] == token_id
    assert reason["until"] == token["timeoutAt"]
    assert reason["message"].startswith(f"Waiting for token {token_id} to be completed")
    assert "times out at " in reason["message"]
    await stack.http.post(f"/api/v1/waitpoints/tokens/{token_id}/complete", json={"data": 1})
    final = await stack.wait_final(run_id)
    assert final["status"] == "COMPLETED"
    assert "waitingReason" not in final


async def test_pending_version(stack: Stack) -> None:
    run_id = await stack.trigger("obs-not-deployed-anywhere", {})
    run = await stack.retrieve(run_id)
    assert run["status"] == "PENDING_VERSION"
    assert run["waitingReason"]["code"] == "PENDING_VERSION"
    assert "obs-not-deployed-anywhere" in run["waitingReason"]["message"]
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")


async def test_an_executing_or_finished_run_has_no_reason(stack: Stack) -> None:
    run_id = await stack.trigger("obs-sleeper", {"seconds": 0}, lockToVersion=VERSION)
    final = await stack.wait_final(run_id)
    assert "waitingReason" not in final


async def test_the_status_command_prints_workers_queues_and_queued_runs(
    stack: Stack, client: Client
) -> None:
    run_id = await stack.trigger("obs-unserved", {})
    await _reason(stack, run_id, "NO_WORKER")
    prefix = stack.settings.task_queue_prefix
    command = [str(Path(sys.executable).parent / "durableruns"), "status"]
    command += ["--temporal-address", client.service_client.config.target_host]
    command += ["--task-queue-prefix", prefix]
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Workers (1):" in out, out
    assert re.search(rf"{prefix}:task/obs-sleeper@{VERSION}\s+1\s", out), out
    assert re.search(rf"{prefix}:task/obs-unserved@{OLD_VERSION}\s+0\s", out), out
    assert re.search(rf"{run_id}\s+obs-unserved\s+QUEUED\s+No worker is polling", out), out
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")
