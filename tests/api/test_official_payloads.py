"""Big payloads through the unmodified official client (``@trigger.dev/sdk`` 4.8.3):
``tests/node/official_payloads.mjs`` against a facade on a free port whose worker and
facade keep large values in payload storage. The client offloads payloads of 128 KiB
or more itself, through ``/api/v2/packets`` (``api/routes/packets.py``)."""

from __future__ import annotations

import asyncio

import pytest
import uvicorn
from temporalio.testing import WorkflowEnvironment

from durableruns.api import create_app
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.api.test_official_client import _Server
from tests.api.test_payloads import storage_client
from tests.cli.test_cli import free_port
from tests.helpers import new_settings
from tests.helpers.processes import run_official_script

SCRIPT = "official_payloads.mjs"
SCRIPT_TIMEOUT_S = 150


@pytest.mark.timeout(SCRIPT_TIMEOUT_S + 30)
async def test_the_official_client_offloads_and_reads_big_payloads(
    temporal_env: WorkflowEnvironment,
) -> None:
    port = free_port()
    settings = new_settings(payload_storage="file").model_copy(
        update={"api_url": f"http://127.0.0.1:{port}"}
    )
    client = await storage_client(temporal_env, settings)
    registry = TaskRegistry.from_modules(["tests.helpers.tasks.payload_tasks"])
    async with running_worker(
        client, registry, task_queue_prefix=settings.task_queue_prefix, version="20261128.1"
    ):
        server = _Server(
            uvicorn.Config(
                create_app(settings, client=client),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                timeout_graceful_shutdown=5,
            )
        )
        serving = asyncio.ensure_future(server.serve())
        try:
            while not server.started:
                assert not serving.done(), "the facade stopped before it started"
                await asyncio.sleep(0.02)
            output = await run_official_script(SCRIPT, settings.api_url, SCRIPT_TIMEOUT_S)
        finally:
            server.should_exit = True
            await serving
    assert "all 4 checks passed" in output, output
