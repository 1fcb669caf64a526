"""Chaos (marker ``chaos``; CI runs it with the rest): Temporal paused with SIGSTOP for
20 s right after a burst of triggers, timer waits and child runs, then continued.

While it is paused the facade answers 503 with a clear JSON error within its engine
deadline instead of hanging, and ``/readyz`` says unready; once it continues the facade
recovers by itself and every run of the burst completes: none lost, none duplicated,
none stuck. A dev server of its own (the session's is shared), bounded in time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from durableruns.api import create_app
from durableruns.engine import search_attributes as sa
from durableruns.service.dev_server import (
    DevServerProcess,
    dynamic_config_flags,
    environment_namespace_flags,
    temporal_binary,
)
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.helpers import SECRET_KEY, eventually
from tests.helpers.processes import free_port
from tests.helpers.stack import TEST_SHORT_WAIT_S

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]

PAUSE_S = 20.0
DEADLINE_S = 4.0
"""The facade's engine deadline here (30 s by default): a paused Temporal is answered
503 within it."""
MODULES = ["activities", "tests.helpers.tasks.suspension_tasks"]


@pytest.fixture
async def pausable(tmp_path: Path) -> AsyncIterator[tuple[DevServerProcess, Client]]:
    """A dev server of our own, with our search attributes and namespaces."""
    port = free_port()
    command = [
        temporal_binary(),
        "server",
        "start-dev",
        "--headless",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "error",
        *sa.dev_server_flags(),
        *dynamic_config_flags(),
        *environment_namespace_flags(),
    ]
    server = DevServerProcess.start(command, tmp_path / "temporal.log")
    try:
        client = await server.wait_ready(Settings(temporal_address=f"127.0.0.1:{port}"))
        yield server, client
    finally:
        with_signal(server, signal.SIGCONT)
        await asyncio.to_thread(server.stop)


def with_signal(server: DevServerProcess, sig: int) -> None:
    if server.process.poll() is None:
        os.kill(server.pid, sig)


async def _trigger(http: httpx.AsyncClient, task: str, payload: Any, tag: str) -> httpx.Response:
    return await http.post(
        f"/api/v1/tasks/{task}/trigger", json={"payload": payload, "options": {"tags": [tag]}}
    )


async def test_temporal_paused_under_a_burst_loses_duplicates_and_strands_nothing(
    pausable: tuple[DevServerProcess, Client],
) -> None:
    server, client = pausable
    prefix = f"chaos-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        task_queue_prefix=prefix,
        secret_key=SECRET_KEY,
        api_url="http://facade",
        engine_deadline_s=DEADLINE_S,
    )
    registry = TaskRegistry.from_modules(MODULES)
    tag = f"burst-{uuid.uuid4().hex[:8]}"
    burst = [
        *[("hello-world", {"name": f"h{i}"}) for i in range(4)],
        *[("naps", {"seconds": 3}) for _ in range(4)],  # timers that suspend their attempt
        *[("recursive", {"depth": 1}) for _ in range(4)],  # a child each
    ]
    async with running_worker(
        client, registry, task_queue_prefix=prefix, version="1", short_wait_s=TEST_SHORT_WAIT_S
    ):
        transport = httpx.ASGITransport(app=create_app(settings, client=client))
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://facade",
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        ) as http:
            run_ids = []
            for task, payload in burst:
                response = await _trigger(http, task, payload, tag)
                assert response.status_code == 200, response.text
                run_ids.append(response.json()["id"])

            with_signal(server, signal.SIGSTOP)
            paused_at = time.monotonic()
            try:
                began = time.monotonic()
                refused = await _trigger(http, "hello-world", {"name": "paused"}, f"{tag}-paused")
                took = time.monotonic() - began
                ready = await http.get("/readyz")
                await asyncio.sleep(max(0.0, PAUSE_S - (time.monotonic() - paused_at)))
            finally:
                with_signal(server, signal.SIGCONT)

            assert took < DEADLINE_S + 5, f"answered after {took:.1f} s: {refused.text}"
            assert refused.status_code == 503, refused.text
            assert refused.json() == {
                "error": f"The run engine did not answer within {DEADLINE_S:g} s; try again"
            }
            assert ready.status_code == 503, ready.text

            # The facade recovers by itself: a trigger after the pause is served.
            after = await eventually(
                lambda: _trigger(http, "hello-world", {"name": "after"}, f"{tag}-after"),
                lambda r: r.status_code == 200,
                60,
                interval=1,
            )
            runs = [await _final(http, run_id) for run_id in [*run_ids, after.json()["id"]]]
            listed = await eventually(
                lambda: _listed(http, tag), lambda ids: len(ids) >= len(run_ids), 60
            )

    statuses = {run["id"]: run["status"] for run in runs}
    assert set(statuses.values()) == {"COMPLETED"}, statuses
    assert sorted(listed) == sorted(run_ids), "each run of the burst once, none added"
    children = [run["output"]["child"] for run in runs if run["taskIdentifier"] == "recursive"]
    assert len(set(children)) == 4, "one child per parent"


async def _final(http: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    async def get() -> dict[str, Any]:
        response = await http.get(f"/api/v3/runs/{run_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return await eventually(get, lambda r: bool(r["isCompleted"]), 180, interval=0.5)


async def _listed(http: httpx.AsyncClient, tag: str) -> list[str]:
    response = await http.get("/api/v1/runs", params={"filter[tag]": tag, "page[size]": 100})
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["data"]]
