"""The unmodified official client, ``@trigger.dev/sdk`` 4.8.3, on streams from task code:
``tests/node/official_streams.mjs`` reads the example ``streams-tokens`` run's stream
with ``streams.read`` (live, after the run, from a ``startIndex``), with
``runs.subscribeToRun(id).withStreams()``, and with a public token scoped to the run,
against a real facade on a free port."""

from __future__ import annotations

from temporalio.client import Client

from tests.api.test_official_client import serving_facade
from tests.helpers.processes import run_official_script

SCRIPT = "official_streams.mjs"
SCRIPT_TIMEOUT_S = 120


async def test_the_official_client_reads_streams_from_task_code(client: Client) -> None:
    async with serving_facade(client) as api_url:
        await run_official_script(SCRIPT, api_url, SCRIPT_TIMEOUT_S)
