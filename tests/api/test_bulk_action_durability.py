"""A bulk replay by filter survives SIGKILL of its facade and its worker midway (issue 23):
``durableruns api`` and ``durableruns worker`` processes, killed once the action has acted
on its first page, then started again; every failed run is replayed exactly once and the
counts are right.

500 runs, as the issue asks: create, fail, replay, the replays failing again — about
2 minutes on a shared 2-core machine (a ``chaos`` test: ``-m chaos`` selects it; CI runs it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from durableruns.bulk_models import PAGE_SIZE
from durableruns.worker.bulk_activities import replay_run_id
from tests.helpers import eventually
from tests.helpers.processes import Proc, start

KEY = "tr_dev_bulk_durability_key"
RUNS = 500
TASKS = ["--tasks", "tests.helpers.tasks.support_tasks"]


def _http(proc: Proc) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=proc.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60
    )


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def _fail_runs(http: httpx.AsyncClient, tag: str) -> None:
    """RUNS runs of ``fails-fast`` through the two-phase batch API."""
    created = await http.post(
        "/api/v3/batches", json={"runCount": RUNS, "taskIdentifiers": ["fails-fast"]}
    )
    assert created.status_code == 202, created.text
    items = [
        {"index": i, "task": "fails-fast", "payload": {"n": i}, "options": {"tags": [tag]}}
        for i in range(RUNS)
    ]
    sent = await http.post(
        f"/api/v3/batches/{created.json()['id']}/items",
        content="\n".join(json.dumps(i) for i in items).encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert sent.status_code == 200, sent.text


async def _action(http: httpx.AsyncClient, action_id: str) -> dict[str, Any]:
    response = await http.get(f"/api/v1/bulk-actions/{action_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.chaos
@pytest.mark.timeout(600)  # ~2-4 min on a loaded 2-core machine
async def test_a_bulk_replay_survives_killing_its_facade_and_worker_midway(
    client: Client, tmp_path: Path
) -> None:
    address = client.service_client.config.target_host
    prefix = f"bulk-{uuid.uuid4().hex[:8]}"
    common: dict[str, Any] = {"address": address, "prefix": prefix, "secret_key": KEY}
    tag = f"bulk-{uuid.uuid4().hex[:8]}"
    in_prefix = f"TaskQueue = '{prefix}:runs' AND WorkflowType = 'durableruns.run'"
    failed = f"{in_prefix} AND TriggerTags = '{tag}' AND TriggerStatus = 'FAILED'"
    began = time.monotonic()
    procs = [start("worker", tmp_path, args=TASKS, name="w1", **common)]
    procs.append(start("api", tmp_path, name="api1", **common))
    try:
        for proc in procs:
            await asyncio.to_thread(proc.wait_joined)
        async with _http(procs[1]) as http:
            await _fail_runs(http, tag)
            await eventually(lambda: _count(client, failed), lambda n: n == RUNS, 240)
            print(f"{RUNS} runs FAILED at {time.monotonic() - began:.1f} s")
            response = await http.post(
                "/api/v1/bulk-actions",
                json={"action": "replay", "filter": {"tag": tag, "status": "FAILED"}},
            )
            assert response.status_code == 200, response.text
            action_id = response.json()["id"]
            midway = await eventually(
                lambda: _action(http, action_id),
                lambda a: a["counts"]["success"] >= PAGE_SIZE,
                120,
            )
            assert midway["status"] == "PENDING" and midway["counts"]["total"] == RUNS
            print(f"killing at {midway['counts']} ({time.monotonic() - began:.1f} s)")
        for proc in procs:  # the facade and the worker die midway
            proc.stop(signal.SIGKILL)
        procs += [start("worker", tmp_path, args=TASKS, name="w2", **common)]
        procs.append(start("api", tmp_path, name="api2", **common))
        for proc in procs[2:]:
            await asyncio.to_thread(proc.wait_joined)
        async with _http(procs[3]) as http:
            done = await eventually(
                lambda: _action(http, action_id), lambda a: a["status"] != "PENDING", 300
            )
        print(f"done at {time.monotonic() - began:.1f} s: {done}")
        assert done["status"] == "COMPLETED"
        assert done["counts"] == {"total": RUNS, "success": RUNS, "failure": 0}
        # Exactly once: RUNS replays carry the action's id, and the task has 2 x RUNS runs.
        replays = f"{in_prefix} AND TriggerBulkActionId = '{action_id}'"
        await eventually(lambda: _count(client, replays), lambda n: n == RUNS, 60)
        all_runs = f"{in_prefix} AND TriggerTaskId = 'fails-fast'"
        assert await eventually(lambda: _count(client, all_runs), lambda n: n >= 2 * RUNS) == (
            2 * RUNS
        )
        made = {w.id async for w in client.list_workflows(replays)}
        sources = {w.id async for w in client.list_workflows(failed)} - made  # replays fail too
        assert len(sources) == RUNS
        assert made == {replay_run_id(client.namespace, prefix, action_id, s) for s in sources}
    finally:
        for proc in procs:
            with contextlib.suppress(Exception):
                proc.stop(signal.SIGKILL)
