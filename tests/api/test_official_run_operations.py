"""The unmodified official client, ``@trigger.dev/sdk`` 4.8.3, with day-2 run operations
(issue 23): ``tests/node/official_run_operations.mjs`` adds tags, resets an idempotency
key, reads run and batch results, a run's trace, one span and its events, against a real
facade on a free port."""

from __future__ import annotations

from temporalio.client import Client

from tests.api.test_official_client import serving_facade
from tests.helpers.processes import run_official_script

SCRIPT = "official_run_operations.mjs"
SCRIPT_TIMEOUT_S = 120


async def test_the_official_client_drives_tags_resets_results_and_traces(client: Client) -> None:
    async with serving_facade(client) as api_url:
        await run_official_script(SCRIPT, api_url, SCRIPT_TIMEOUT_S)
