"""The ``durableruns`` command end to end, as a subprocess: ``dev`` serves hello-world
and leaves no process behind on SIGINT, SIGTERM or even SIGKILL; ``worker`` and ``api``
join an existing Temporal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from durableruns.api import create_app
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.helpers import EXAMPLE_MODULES, eventually

REPO_ROOT = Path(__file__).resolve().parents[2]
DURABLERUNS = str(Path(sys.executable).parent / "durableruns")
KEY = "tr_dev_cli_test_key"


# --- processes --------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def children_of(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (from /proc: the ppid follows the ``(comm)`` field)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie waiting for a reaper does not count."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def command_env(**extra: str) -> dict[str, str]:
    """This environment without DURABLERUNS_* variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DURABLERUNS_")}
    return {**env, **extra}


def start(args: list[str], tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Run ``durableruns ARGS`` from the repo root (where the example tasks import from)."""
    return subprocess.Popen(
        [DURABLERUNS, *args],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=(tmp_path / "stdout").open("wb"),
        stderr=(tmp_path / "stderr").open("wb"),
    )


def output(tmp_path: Path) -> str:
    return (tmp_path / "stdout").read_text() + (tmp_path / "stderr").read_text()


def stop(process: subprocess.Popen[bytes], sig: signal.Signals, tmp_path: Path) -> int:
    """Send ``sig``; the exit status, which must come within 15 s."""
    process.send_signal(sig)
    try:
        return process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"no exit within 15 s of {sig.name}:\n{output(tmp_path)}")


@dataclass
class Dev:
    """A running ``durableruns dev``."""

    process: subprocess.Popen[bytes]
    api_url: str
    key: str
    tmp_path: Path


@contextlib.contextmanager
def running_dev(tmp_path: Path) -> Iterator[Dev]:
    """``durableruns dev --in-memory`` on free ports, ready to serve; killed if left."""
    state_dir = tmp_path / "state"
    api_port = free_port()
    ports = ["--api-port", str(api_port), "--temporal-port", str(free_port())]
    process = start(
        ["dev", "--in-memory", *ports, "--ui-port", str(free_port())],
        tmp_path,
        command_env(DURABLERUNS_STATE_DIR=str(state_dir)),
    )
    try:
        key = wait_for_banner(process, tmp_path)
        assert key == (state_dir / "dev-secret-key").read_text().strip()
        yield Dev(process, f"http://127.0.0.1:{api_port}", key, tmp_path)
    finally:
        leftovers = children_of(process.pid)
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def wait_for_banner(process: subprocess.Popen[bytes], tmp_path: Path) -> str:
    """The secret key the banner prints, once everything serves."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, f"dev exited early:\n{output(tmp_path)}"
        for line in (tmp_path / "stdout").read_text().splitlines():
            if line.strip().startswith("Secret key:"):
                return line.split(":", 1)[1].strip()
        time.sleep(0.05)
    pytest.fail(f"no banner within 20 s:\n{output(tmp_path)}")


def run_hello_world(api_url: str, key: str) -> dict[str, Any]:
    """Trigger hello-world over HTTP and poll the run until it is final."""
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}) as http:
        triggered = http.post(
            "/api/v1/tasks/hello-world/trigger", json={"payload": {"name": "CLI"}}
        )
        assert triggered.status_code == 200, triggered.text
        run_id = triggered.json()["id"]
        deadline = time.monotonic() + 10
        while True:
            run: dict[str, Any] = http.get(f"/api/v3/runs/{run_id}").json()
            if run.get("isCompleted") or time.monotonic() > deadline:
                return run
            time.sleep(0.05)


# --- durableruns dev ----------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_dev_serves_hello_world_and_a_signal_stops_the_whole_tree(
    tmp_path: Path, sig: signal.Signals
) -> None:
    with running_dev(tmp_path) as dev:
        assert httpx.get(f"{dev.api_url}/docs").status_code == 200
        run = run_hello_world(dev.api_url, dev.key)
        assert run["status"] == "COMPLETED"
        assert run["output"] == {"message": "Hello, CLI!"}

        children = children_of(dev.process.pid)
        names = [Path(f"/proc/{pid}/comm").read_text().strip() for pid in children]
        assert "temporal" in names
        assert stop(dev.process, sig, tmp_path) == 0, output(tmp_path)
        assert [pid for pid in children if is_alive(pid)] == []


def test_dev_prints_where_everything_is(tmp_path: Path) -> None:
    with running_dev(tmp_path) as dev:
        banner = (tmp_path / "stdout").read_text()
        assert f"Facade:      {dev.api_url}\n" in banner
        assert f"{dev.api_url}/docs" in banner
        assert "Temporal UI: http://127.0.0.1:" in banner
        assert f"Bearer {dev.key}" in banner and "hello-world/trigger" in banner
        assert stop(dev.process, signal.SIGINT, tmp_path) == 0


def test_the_temporal_child_dies_even_when_dev_is_sigkilled(tmp_path: Path) -> None:
    with running_dev(tmp_path) as dev:
        children = children_of(dev.process.pid)
        assert children
        dev.process.kill()
        dev.process.wait()
        deadline = time.monotonic() + 10  # the dev server stops gracefully in ~3 s
        while any(is_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in children if is_alive(pid)] == []


def test_dev_refuses_contradicting_flags_before_starting_anything(tmp_path: Path) -> None:
    process = start(["dev", "--db", "x.db", "--in-memory"], tmp_path, command_env())
    assert process.wait(timeout=15) == 1
    assert "exclude each other" in output(tmp_path)


# --- durableruns worker / api against an existing Temporal ------------------------------
def _address(client: Client) -> str:
    return client.service_client.config.target_host


async def test_worker_joins_an_existing_temporal_and_stops_on_sigterm(
    client: Client, tmp_path: Path
) -> None:
    prefix = f"cli-{uuid.uuid4().hex[:8]}"
    args = ["worker", "--temporal-address", _address(client), "--task-queue-prefix", prefix]
    process = start(args, tmp_path, command_env())
    try:
        settings = Settings(task_queue_prefix=prefix, secret_key=KEY, api_url="http://facade")
        transport = httpx.ASGITransport(app=create_app(settings, client=client))
        async with httpx.AsyncClient(
            transport=transport,
            base_url=settings.api_url,
            headers={"Authorization": f"Bearer {KEY}"},
        ) as http:
            response = await http.post(
                "/api/v1/tasks/hello-world/trigger", json={"payload": {"name": "CLI"}}
            )
            run_id = response.json()["id"]
            run = await eventually(
                lambda: _json(http.get(f"/api/v3/runs/{run_id}")),
                lambda r: r["isCompleted"],
                timeout=15,
            )
        assert run["status"] == "COMPLETED", output(tmp_path)
        assert run["output"] == {"message": "Hello, CLI!"}
        assert await asyncio.to_thread(stop, process, signal.SIGTERM, tmp_path) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_api_joins_an_existing_temporal_and_stops_on_sigint(
    client: Client, tmp_path: Path
) -> None:
    prefix = f"cli-{uuid.uuid4().hex[:8]}"
    port = free_port()
    args = ["api", "--temporal-address", _address(client), "--api-port", str(port)]
    env = command_env(DURABLERUNS_TASK_QUEUE_PREFIX=prefix, DURABLERUNS_SECRET_KEY=KEY)
    process = start(args, tmp_path, env)
    registry = TaskRegistry.from_modules(EXAMPLE_MODULES)
    try:
        async with (
            running_worker(client, registry, task_queue_prefix=prefix, version="20261128.1"),
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {KEY}"}
            ) as http,
        ):
            await eventually(lambda: _answers(http), bool, timeout=15)
            response = await http.post(
                "/api/v1/tasks/hello-world/trigger", json={"payload": {"name": "CLI"}}
            )
            run_id = response.json()["id"]
            run = await eventually(
                lambda: _json(http.get(f"/api/v3/runs/{run_id}")),
                lambda r: r["isCompleted"],
                timeout=15,
            )
        assert run["output"] == {"message": "Hello, CLI!"}
        assert await asyncio.to_thread(stop, process, signal.SIGINT, tmp_path) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def _json(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = (await response).json()
    return body


async def _answers(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/docs")).status_code == 200
    except httpx.TransportError:
        return False
