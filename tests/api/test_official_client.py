"""The unmodified official client, ``@trigger.dev/sdk`` 4.8.3 from npm, against a real
facade on a free port: ``tests/node/official_client.mjs`` triggers, batches, lists,
cancels, replays, reschedules and subscribes, and asserts on every answer.

The package comes from ``tests/node/package-lock.json`` (``make test`` runs
``npm ci --prefix tests/node``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
import uvicorn
from temporalio.client import Client

from durableruns.api import create_app
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.cli.test_cli import free_port
from tests.helpers import EXAMPLE_MODULES, new_settings
from tests.helpers.processes import run_official_script

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
async def serving_facade(client: Client, modules: list[str] | None = None) -> AsyncIterator[str]:
    """A worker for the example tasks (or ``modules``) and the facade over HTTP; yields
    the base URL."""
    settings = new_settings()
    registry = TaskRegistry.from_modules(modules or EXAMPLE_MODULES)
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
    async with serving_facade(client) as api_url:
        await run_official_script(SCRIPT, api_url, SCRIPT_TIMEOUT_S)
