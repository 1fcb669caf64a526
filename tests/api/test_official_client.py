"""The unmodified official client, ``@trigger.dev/sdk`` 4.8.3 from npm, against a real
facade on a free port: ``tests/node/official_client.mjs`` triggers, batches, lists,
cancels, replays, reschedules and subscribes, and asserts on every answer.

The package comes from ``tests/node/package-lock.json`` (``make test`` runs
``npm ci --prefix tests/node``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from temporalio.client import Client

from durableruns.api import create_app
from durableruns.engine.worker import running_worker
from durableruns.task_definitions import TaskRegistry
from tests.cli.test_cli import free_port
from tests.helpers import EXAMPLE_MODULES, SECRET_KEY, new_settings, node_binary

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = "official_client.mjs"
SCRIPT_TIMEOUT_S = 90
REALTIME_HOLD_S = 2.0
"""A short long-poll hold, so that shutting the server down never waits on one."""


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers (pytest keeps its own)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving_facade(client: Client) -> AsyncIterator[str]:
    """A worker for the example tasks and the facade over HTTP; yields the base URL."""
    settings = new_settings()
    registry = TaskRegistry.from_modules(EXAMPLE_MODULES)
    async with running_worker(
        client, registry, task_queue_prefix=settings.task_queue_prefix, version="20261128.1"
    ):
        app = create_app(settings, client=client)
        app.state.realtime_hold_s = REALTIME_HOLD_S
        port = free_port()
        server = _Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5
            )
        )
        serving = asyncio.ensure_future(server.serve())
        try:
            while not server.started:
                if serving.done():
                    serving.result()
                    pytest.fail("the facade stopped before it started")
                await asyncio.sleep(0.02)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await serving


async def test_the_official_client_works_against_the_facade(client: Client) -> None:
    node = node_binary()
    if not (NODE_DIR / "node_modules" / "@trigger.dev" / "sdk").is_dir():
        pytest.fail("@trigger.dev/sdk is not installed: run `npm ci --prefix tests/node`")
    async with serving_facade(client) as api_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRIGGER_")}
        env |= {"TRIGGER_API_URL": api_url, "TRIGGER_SECRET_KEY": SECRET_KEY}
        process = await asyncio.create_subprocess_exec(
            node,
            SCRIPT,
            cwd=NODE_DIR,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            stdout, _ = await asyncio.wait_for(process.communicate(), SCRIPT_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            stdout, _ = await process.communicate()
            pytest.fail(f"{SCRIPT} did not finish within {SCRIPT_TIMEOUT_S} s:\n{stdout.decode()}")
    output = stdout.decode()
    assert process.returncode == 0, f"{SCRIPT} exited {process.returncode}:\n{output}"
    assert "FAIL" not in output, output
