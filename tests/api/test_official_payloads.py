"""Big payloads through the unmodified official client (``@trigger.dev/sdk`` 4.8.3):
``tests/node/official_payloads.mjs`` against a facade on a free port whose worker and
facade keep large values in payload storage. The client offloads payloads of 128 KiB
or more itself, through ``/api/v2/packets`` (``api/routes/packets.py``)."""

from __future__ import annotations

import asyncio
import os

import pytest
import uvicorn
from temporalio.testing import WorkflowEnvironment

from durableruns.api import create_app
from durableruns.engine.worker import running_worker
from durableruns.task_definitions import TaskRegistry
from tests.api.test_official_client import NODE_DIR, _Server
from tests.api.test_payloads import storage_client
from tests.cli.test_cli import free_port
from tests.helpers import SECRET_KEY, new_settings, node_binary

SCRIPT = "official_payloads.mjs"
SCRIPT_TIMEOUT_S = 150


@pytest.mark.timeout(SCRIPT_TIMEOUT_S + 30)
async def test_the_official_client_offloads_and_reads_big_payloads(
    temporal_env: WorkflowEnvironment,
) -> None:
    node = node_binary()
    if not (NODE_DIR / "node_modules" / "@trigger.dev" / "sdk").is_dir():
        pytest.fail("@trigger.dev/sdk is not installed: run `npm ci --prefix tests/node`")
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
            env = {k: v for k, v in os.environ.items() if not k.startswith("TRIGGER_")}
            env |= {"TRIGGER_API_URL": settings.api_url, "TRIGGER_SECRET_KEY": SECRET_KEY}
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
                pytest.fail(f"{SCRIPT} did not finish in {SCRIPT_TIMEOUT_S} s:\n{stdout.decode()}")
        finally:
            server.should_exit = True
            await serving
    output = stdout.decode()
    assert process.returncode == 0, f"{SCRIPT} exited {process.returncode}:\n{output}"
    assert "FAIL" not in output and "all payload checks passed" in output, output
