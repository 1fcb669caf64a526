"""A deploy crashes nothing, however the stop signal is sent.

Service managers rarely signal the worker alone: systemd's default
``KillMode=control-group`` sends SIGTERM to every process of the unit's cgroup,
supervisord's ``stopasgroup``, honcho/foreman and a terminal's job control signal the
process group. Task processes must not die of a signal meant for their worker: the
worker drains (running attempts finish within ``--drain-grace``) and tells them over
their socket when to stop. A second signal still forces the exit, and a real crash of a
task process (SIGKILL, as the OOM killer sends) still ends its run CRASHED.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
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

KEY = "tr_dev_drain_signals_key"
RUNS = 12
NAP_S = 3


@pytest.fixture
async def facade(client: Client) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    prefix = f"drainsig-{uuid.uuid4().hex[:8]}"
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


async def _finished(http: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    return await eventually(lambda: _run(http, run_id), lambda r: bool(r["isCompleted"]), 90)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren …), read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid …": comm may hold spaces and parentheses.
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def signal_like_a_service_manager(proc: Proc, how: str, sig: int = signal.SIGTERM) -> None:
    """``group``: the worker's process group (supervisord, honcho, job control);
    ``cgroup``: the worker, then every process under it (systemd's control-group mode)."""
    if how == "group":
        os.killpg(os.getpgid(proc.process.pid), sig)
        return
    targets = [proc.process.pid, *descendants(proc.process.pid)]
    for pid in targets:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


@pytest.mark.parametrize("how", ["group", "cgroup"])
async def test_a_stop_signal_to_the_whole_group_drains_and_crashes_no_run(
    client: Client, facade: tuple[httpx.AsyncClient, str], tmp_path: Path, how: str
) -> None:
    http, prefix = facade
    address = client.service_client.config.target_host
    workers: list[Proc] = []

    def worker(name: str) -> Proc:
        args = ["--tasks", "activities.sleepy", "--drain-grace", "30"]
        proc = start(
            "worker",
            tmp_path,
            address=address,
            prefix=prefix,
            secret_key=KEY,
            args=args,
            name=name,
            own_group=True,
        )
        workers.append(proc)
        return proc

    try:
        first = worker("a")
        await asyncio.to_thread(first.wait_joined)
        run_ids = []
        for _ in range(RUNS):
            response = await http.post(
                "/api/v1/tasks/sleepy/trigger", json={"payload": {"seconds": NAP_S}}
            )
            assert response.status_code == 200, response.text
            run_ids.append(response.json()["id"])
        await eventually(lambda: _run(http, run_ids[-1]), lambda r: r["status"] == "EXECUTING", 60)
        await asyncio.sleep(1)
        signal_like_a_service_manager(first, how)
        worker("b")  # takes whatever the first one hands back, if anything
        status = await asyncio.to_thread(first.process.wait, 60)
        runs = [await _finished(http, run_id) for run_id in run_ids]
    finally:
        for proc in workers:
            if proc.process.poll() is None:
                os.killpg(os.getpgid(proc.process.pid), signal.SIGKILL)
                proc.process.wait(30)
    statuses = [run["status"] for run in runs]
    assert statuses == ["COMPLETED"] * RUNS, (statuses, first.output())
    assert all(run["attemptCount"] == 1 for run in runs), [r["attempts"] for r in runs]
    assert status == 0, first.output()
    assert "Draining" in first.output()


async def test_a_second_group_signal_forces_the_exit(
    client: Client, facade: tuple[httpx.AsyncClient, str], tmp_path: Path
) -> None:
    """The long attempt would keep the drain going for 30 s; the second SIGTERM to the
    group ends the worker at once, and its task processes with it."""
    http, prefix = facade
    address = client.service_client.config.target_host
    args = ["--tasks", "activities.sleepy", "--drain-grace", "30"]
    proc = start(
        "worker",
        tmp_path,
        address=address,
        prefix=prefix,
        secret_key=KEY,
        args=args,
        own_group=True,
    )
    try:
        await asyncio.to_thread(proc.wait_joined)
        response = await http.post(
            "/api/v1/tasks/sleepy/trigger", json={"payload": {"seconds": 60}}
        )
        run_id = response.json()["id"]
        await eventually(lambda: _run(http, run_id), lambda r: r["status"] == "EXECUTING", 60)
        below = descendants(proc.process.pid)
        signal_like_a_service_manager(proc, "group")
        await eventually(lambda: asyncio.sleep(0, proc.output()), lambda out: "Draining" in out, 30)
        assert proc.process.poll() is None, "still draining the long attempt"
        signal_like_a_service_manager(proc, "group")
        status = await asyncio.to_thread(proc.process.wait, 30)
        # Its task processes see the worker's socket close and end too.
        await eventually(
            lambda: asyncio.sleep(0, [p for p in below if Path(f"/proc/{p}").exists()]),
            lambda alive: not alive,
            30,
        )
    finally:
        if proc.process.poll() is None:
            os.killpg(os.getpgid(proc.process.pid), signal.SIGKILL)
            proc.process.wait(30)
    assert status == 128 + signal.SIGTERM, proc.output()
    await http.post(f"/api/v2/runs/{run_id}/cancel")
