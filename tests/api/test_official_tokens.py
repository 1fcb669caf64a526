"""The unmodified official client, ``@trigger.dev/sdk`` 4.8.3, with wait tokens:
``tests/node/official_tokens.mjs`` creates, retrieves, lists and completes tokens (and
the ``wait-for-approval`` example through them) against a real facade on a free port."""

from __future__ import annotations

from temporalio.client import Client

from tests.api.test_official_client import serving_facade
from tests.helpers.processes import run_official_script

SCRIPT = "official_tokens.mjs"
SCRIPT_TIMEOUT_S = 90


async def test_the_official_client_creates_lists_retrieves_and_completes_tokens(
    client: Client,
) -> None:
    async with serving_facade(client) as api_url:
        await run_official_script(SCRIPT, api_url, SCRIPT_TIMEOUT_S)
