"""The unmodified official client, ``@trigger.dev/sdk`` 4.8.3, on streams from task code:
``tests/node/official_streams.mjs`` reads the example ``streams-tokens`` run's stream
with ``streams.read`` (live, after the run, from a ``startIndex``), with
``runs.subscribeToRun(id).withStreams()``, and with a public token scoped to the run,
against a real facade on a free port."""

from __future__ import annotations

import asyncio
import os

import pytest
from temporalio.client import Client

from tests.api.test_official_client import NODE_DIR, serving_facade
from tests.helpers import SECRET_KEY, node_binary

SCRIPT = "official_streams.mjs"
SCRIPT_TIMEOUT_S = 120


async def test_the_official_client_reads_streams_from_task_code(client: Client) -> None:
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
    print(output)
    assert process.returncode == 0, f"{SCRIPT} exited {process.returncode}:\n{output}"
    assert "FAIL" not in output, output
