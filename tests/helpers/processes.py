"""Real processes for the tests: ``durableruns worker`` serving test modules
(``worker_process``), and ``durableruns worker``/``api``/``dev`` for the production tests
(drain, replicas: ``start``), ready once they print their "joined" line, their output
kept in a log file for failure messages; and the ``node`` the official client needs."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.helpers.stack import SECRET_KEY, TEST_SHORT_WAIT_S

ROOT = Path(__file__).resolve().parents[2]
"""The repository's root (tests run from it, with it on ``PYTHONPATH``)."""
DURABLERUNS = str(Path(sys.executable).parent / "durableruns")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Proc:
    """One started command and its log."""

    process: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_joined(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(word in self.output() for word in ("joined", "is running")):
            if self.process.poll() is not None:
                raise AssertionError(f"exited {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not joined within {timeout}s:\n{self.output()}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start(
    command: str,
    log_dir: Path,
    *,
    address: str,
    prefix: str,
    secret_key: str | None,
    args: list[str] = (),  # type: ignore[assignment]
    name: str | None = None,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    own_group: bool = False,
) -> Proc:
    """``durableruns <command>`` on ``prefix``, with the given key shared by replicas
    (None: the dev key kept in ``<log_dir>/state``). ``own_group`` starts it in a
    session (process group) of its own, as a service manager does, so a test can signal
    the whole group without signalling itself."""
    port = free_port() if command in ("api", "dev") else None
    full = [DURABLERUNS, command, "--temporal-address", address]
    if command != "dev":
        full += ["--task-queue-prefix", prefix]
    if port is not None:
        full += ["--api-port", str(port)]
    log = log_dir / f"{name or command}-{port or os.getpid()}-{time.monotonic_ns()}.log"
    variables = {
        k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "DURABLERUNS_"))
    }
    variables.update(
        PYTHONPATH=str(ROOT),
        DURABLERUNS_TASK_QUEUE_PREFIX=prefix,
        DURABLERUNS_STATE_DIR=str(log_dir / "state"),
        TEMPORAL_CONFIG_FILE="/nonexistent/temporal.toml",
    )
    variables.update(env or {})
    if secret_key is not None:
        variables["DURABLERUNS_SECRET_KEY"] = secret_key
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*full, *args],
            cwd=cwd,
            env=variables,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=own_group,
        )
    return Proc(process=process, log=log, port=port)


def worker_process(
    temporal_env: WorkflowEnvironment,
    prefix: str,
    modules: list[str],
    version: str = "20261128.1",
    *,
    stderr: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """``durableruns worker`` in its own process, serving ``modules`` under ``prefix``
    (``env``: more settings, e.g. ``DURABLERUNS_ANNOUNCE_ATTEMPTS``)."""
    address = temporal_env.client.service_client.config.target_host
    command = [str(Path(sys.executable).parent / "durableruns"), "worker"]
    command += ["--temporal-address", address, "--task-queue-prefix", prefix, "--version", version]
    for module in modules:
        command += ["--tasks", module]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DURABLERUNS_SHORT_WAIT_S": str(TEST_SHORT_WAIT_S),
            **(env or {}),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if stderr else None,
    )


async def busiest_worker_pid(client: Client, run_ids: list[str]) -> int:
    """The pid of the worker process running the most of these runs' attempts now
    (Temporal names it on each pending activity: identity ``pid@host``). A test that
    kills a worker mid-load kills this one: on a loaded machine one worker may have
    taken every attempt."""
    pids: Counter[int] = Counter()
    for run_id in run_ids:
        description = await client.get_workflow_handle(run_id).describe()
        for pending in description.raw_description.pending_activities:
            pids[int(pending.last_worker_identity.split("@")[0])] += 1
    assert pids, "no attempt is running"
    return pids.most_common(1)[0][0]


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal a worker process and reap it."""
    if process.poll() is None:
        process.send_signal(sig)
    process.wait(timeout=30)


OFFICIAL_CLIENT_DIR = ROOT / "tests" / "node"
"""The official client's scripts and their ``node_modules`` (``npm ci --prefix tests/node``)."""


async def run_official_script(
    script: str, api_url: str, timeout_s: float, extra_env: dict[str, str] | None = None
) -> str:
    """Run ``tests/node/<script>`` (the unmodified ``@trigger.dev/sdk``) against the facade
    at ``api_url`` with the test secret key; its output, once it exited 0 with no FAIL."""
    node = node_binary()
    if not (OFFICIAL_CLIENT_DIR / "node_modules" / "@trigger.dev" / "sdk").is_dir():
        pytest.fail("@trigger.dev/sdk is not installed: run `npm ci --prefix tests/node`")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIGGER_")}
    env |= {"TRIGGER_API_URL": api_url, "TRIGGER_SECRET_KEY": SECRET_KEY, **(extra_env or {})}
    process = await asyncio.create_subprocess_exec(
        node,
        script,
        cwd=OFFICIAL_CLIENT_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        stdout, _ = await process.communicate()
        pytest.fail(f"{script} did not finish within {timeout_s} s:\n{stdout.decode()}")
    output = stdout.decode()
    print(output)
    assert process.returncode == 0, f"{script} exited {process.returncode}:\n{output}"
    assert "FAIL" not in output, output
    return output


def node_binary() -> str:
    """The ``node`` that runs the official client's scripts: skipped where it is missing,
    except under CI (CI=true), where a missing node must fail, not pass unseen."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed, and CI needs the official client's tests")
        pytest.skip("node is not installed")
    return node
