"""A planned restart costs no attempt: SIGTERM on a worker stops its polling and lets
the running attempt finish (within ``--drain-grace``) while another worker takes new
work; the run completes with one attempt. The worker's health file is fresh while it
serves and gone once it stopped."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from durableruns.api import create_app
from durableruns.settings import Settings
from tests.helpers import eventually
from tests.helpers.processes import Proc, start

KEY = "tr_dev_drain_test_key"


@pytest.fixture
async def facade(client: Client) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    prefix = f"drain-{uuid.uuid4().hex[:8]}"
    settings = Settings(task_queue_prefix=prefix, secret_key=KEY, api_url="http://facade")
    transport = httpx.ASGITransport(app=create_app(settings, client=client))
    async with httpx.AsyncClient(
        transport=transport, base_url=settings.api_url, headers={"Authorization": f"Bearer {KEY}"}
    ) as http:
        yield http, prefix


async def _run(http: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    response = await http.get(f"/api/v3/runs/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_sigterm_lets_the_running_attempt_finish_and_the_run_keeps_one_attempt(
    client: Client, facade: tuple[httpx.AsyncClient, str], tmp_path: Path
) -> None:
    http, prefix = facade
    address = client.service_client.config.target_host
    health = tmp_path / "a.healthy"
    workers: list[Proc] = []

    def worker(name: str, *extra: str) -> Proc:
        args = ["--tasks", "activities.sleepy", "--drain-grace", "20", *extra]
        proc = start(
            "worker", tmp_path, address=address, prefix=prefix, secret_key=KEY, args=args, name=name
        )
        workers.append(proc)
        return proc

    try:
        first = worker("a", "--health-file", str(health))
        await asyncio.to_thread(first.wait_joined)
        assert health.exists(), "a serving worker keeps its health file"
        response = await http.post("/api/v1/tasks/sleepy/trigger", json={"payload": {"seconds": 4}})
        run_id = response.json()["id"]
        await eventually(lambda: _run(http, run_id), lambda r: r["status"] == "EXECUTING", 30)
        second = worker("b")
        await asyncio.to_thread(second.wait_joined)

        first.process.send_signal(signal.SIGTERM)
        # New work goes to the other worker at once: the first one stopped polling.
        after = (
            await http.post("/api/v1/tasks/sleepy/trigger", json={"payload": {"seconds": 0}})
        ).json()["id"]
        done_after = await eventually(lambda: _run(http, after), lambda r: r["isCompleted"], 30)
        assert first.process.poll() is None, "still draining the long attempt"

        run = await eventually(lambda: _run(http, run_id), lambda r: r["isCompleted"], 30)
        status = await asyncio.to_thread(first.process.wait, 30)
    finally:
        for proc in workers:
            proc.stop(signal.SIGKILL if proc.process.poll() is None else signal.SIGTERM)
    assert run["status"] == "COMPLETED", first.output()
    assert run["attemptCount"] == 1, run["attempts"]
    assert run["output"] == {"slept": 4}
    assert done_after["status"] == "COMPLETED"
    assert status == 0, first.output()
    assert "Draining" in first.output()
    assert not health.exists(), "a stopped worker removes its health file"


async def test_an_attempt_still_running_when_the_grace_ends_is_handed_back_not_failed(
    client: Client, facade: tuple[httpx.AsyncClient, str], tmp_path: Path
) -> None:
    """Past the grace, the attempt is handed back: it resumes on the other worker as
    the same attempt (a continuation), so the run still completes with one attempt."""
    http, prefix = facade
    address = client.service_client.config.target_host
    workers: list[Proc] = []

    def worker(name: str) -> Proc:
        args = ["--tasks", "activities.sleepy", "--drain-grace", "0.5"]
        proc = start(
            "worker", tmp_path, address=address, prefix=prefix, secret_key=KEY, args=args, name=name
        )
        workers.append(proc)
        return proc

    try:
        first = worker("a")
        await asyncio.to_thread(first.wait_joined)
        response = await http.post(
            "/api/v1/tasks/sleepy/trigger", json={"payload": {"seconds": 10}}
        )
        run_id = response.json()["id"]
        await eventually(lambda: _run(http, run_id), lambda r: r["status"] == "EXECUTING", 30)
        first.process.send_signal(signal.SIGTERM)  # long before the attempt could finish
        status = await asyncio.to_thread(first.process.wait, 30)
        second = worker("b")  # the handed-back attempt waits on its queue for this one
        await asyncio.to_thread(second.wait_joined)
        run = await eventually(lambda: _run(http, run_id), lambda r: r["isCompleted"], 60)
    finally:
        for proc in workers:
            proc.stop(signal.SIGKILL if proc.process.poll() is None else signal.SIGTERM)
    assert status == 0, first.output()
    assert run["status"] == "COMPLETED", (run, first.output())
    assert run["attemptCount"] == 1 and run["attempts"][0]["status"] == "COMPLETED"
    assert "HANDED BACK" in first.output()
