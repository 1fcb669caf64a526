"""The official client (``@trigger.dev/sdk``, unmodified) drives ``queues.*`` and
``concurrencyLimits.*`` against the facade: tests/node/official_limits.mjs."""

from __future__ import annotations

from temporalio.client import Client

from tests.api.test_official_client import serving_facade
from tests.helpers import EXAMPLE_MODULES
from tests.helpers.processes import run_official_script

SCRIPT = "official_limits.mjs"
SCRIPT_TIMEOUT_S = 90


async def test_the_official_client_manages_queues_and_limits(client: Client) -> None:
    modules = [*EXAMPLE_MODULES, "tests.helpers.tasks.limit_tasks"]
    async with serving_facade(client, modules) as api_url:
        output = await run_official_script(SCRIPT, api_url, SCRIPT_TIMEOUT_S)
    assert "all 10 checks passed" in output, output
