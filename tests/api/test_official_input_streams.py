"""The unmodified official client, ``@trigger.dev/sdk`` 4.8.3, with input streams:
``tests/node/official_input_streams.mjs`` sends with ``streams.input({id}).send`` (also
with the run's public access token) to the ``chat-agent`` example on a real facade, and
checks the sends that must be refused."""

from __future__ import annotations

from temporalio.client import Client

from tests.api.test_official_client import serving_facade
from tests.helpers.processes import run_official_script

SCRIPT = "official_input_streams.mjs"
SCRIPT_TIMEOUT_S = 120


async def test_the_official_client_sends_to_input_streams(client: Client) -> None:
    async with serving_facade(client) as api_url:
        await run_official_script(SCRIPT, api_url, SCRIPT_TIMEOUT_S)
