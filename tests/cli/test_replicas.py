"""Many of each: two ``durableruns api`` and two ``durableruns worker`` processes on one
Temporal. Facades are stateless: a run triggered through one is retrieved, listed
(with cursors issued by the other) and followed over realtime through the other, and
its public token works on both, because tokens and cursors are signed with the shared
environment key, not a per-process secret. Workers share the load; SIGKILL one
mid-load and no run is lost."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from tests.helpers import eventually
from tests.helpers.processes import Proc, busiest_worker_pid, start

KEY = "tr_dev_replicas_shared_key"
RUNS = 12


@contextlib.asynccontextmanager
async def replicas(client: Client, tmp_path: Path) -> AsyncIterator[tuple[list[Proc], list[Proc]]]:
    address = client.service_client.config.target_host
    prefix = f"replicas-{uuid.uuid4().hex[:8]}"
    common: dict[str, Any] = {"address": address, "prefix": prefix, "secret_key": KEY}
    tasks = ["--tasks", "activities.sleepy", "--tasks", "activities.hello_world"]
    workers = [start("worker", tmp_path, args=tasks, name=f"w{i}", **common) for i in range(2)]
    facades = [start("api", tmp_path, name=f"api{i}", **common) for i in range(2)]
    try:
        for proc in [*workers, *facades]:
            await asyncio.to_thread(proc.wait_joined)
        yield facades, workers
    finally:
        for proc in [*facades, *workers]:
            with contextlib.suppress(Exception):
                proc.stop(signal.SIGKILL)


def http_for(proc: Proc, token: str = KEY) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=proc.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


async def _get(http: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_two_facades_two_workers_and_a_killed_worker_loses_nothing(
    client: Client, tmp_path: Path
) -> None:
    async with replicas(client, tmp_path) as (facades, workers):
        async with http_for(facades[0]) as one, http_for(facades[1]) as other:
            triggered = [
                await one.post("/api/v1/tasks/sleepy/trigger", json={"payload": {"seconds": 2}})
                for _ in range(RUNS)
            ]
            assert all(r.status_code == 200 for r in triggered)
            run_ids = [r.json()["id"] for r in triggered]
            token = triggered[0].headers["x-trigger-jwt"]

            # Load on both workers, then one disappears.
            await eventually(
                lambda: asyncio.gather(*(_get(other, f"/api/v3/runs/{r}") for r in run_ids)),
                lambda rs: sum(r["status"] == "EXECUTING" for r in rs) >= 2,
                timeout=30,
            )
            busiest = await busiest_worker_pid(client, run_ids)
            next(w for w in workers if w.process.pid == busiest).stop(signal.SIGKILL)

            # Followed through the other facade: realtime until the first run is final.
            final_event = await _follow(other, run_ids[0])
            assert final_event["status"] == "COMPLETED"

            runs = await eventually(
                lambda: asyncio.gather(*(_get(other, f"/api/v3/runs/{r}") for r in run_ids)),
                lambda rs: all(r["isCompleted"] for r in rs),
                timeout=120,
            )
            assert [r["status"] for r in runs] == ["COMPLETED"] * RUNS, "0 runs lost"
            for run in runs:
                statuses = [a["status"] for a in run["attempts"]]
                assert statuses.count("COMPLETED") == 1, statuses
            assert any(r["attemptCount"] == 2 for r in runs), "the killed worker had some"

            # Listed across replicas: a cursor from one facade pages on the other.
            await eventually(
                lambda: _list_alternating(one, other), lambda ids: set(run_ids) <= ids, 30
            )

        # The public token from facade one reads the run on facade two.
        async with http_for(facades[1], token) as public:
            body = await _get(public, f"/api/v3/runs/{run_ids[0]}")
            assert body["id"] == run_ids[0]


async def _list_alternating(one: httpx.AsyncClient, other: httpx.AsyncClient) -> set[str]:
    """Every sleepy run, four per page, each page fetched from the other facade."""
    seen: set[str] = set()
    params = {"filter[taskIdentifier]": "sleepy", "page[size]": "4"}
    clients = [one, other]
    for page in range(10):
        body = await _get(clients[page % 2], "/api/v1/runs", **params)
        seen |= {item["id"] for item in body["data"]}
        cursor = body["pagination"].get("next")
        if not cursor:
            break
        params = {**params, "page[after]": cursor}
    return seen


async def _follow(http: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    """Read the run's server-sent events until one says it is completed."""
    async with http.stream("GET", f"/api/v1/runs/{run_id}/events/stream", timeout=60) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                event: dict[str, Any] = json.loads(line[5:])
                if event.get("isCompleted"):
                    return event
    raise AssertionError("the stream ended before the run completed")
