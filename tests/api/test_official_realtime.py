"""The unmodified official client, ``@trigger.dev/sdk`` 4.8.3, on realtime beyond one
run and on public tokens: ``tests/node/official_realtime.mjs`` subscribes to the runs
with a tag and to a batch, and mints tokens with ``auth.createPublicToken`` (scoped to a
tag, a run, a batch; expiring; the wrong scope) to read through retrieve and every
realtime subscription, against a real facade on a free port."""

from __future__ import annotations

from temporalio.client import Client

from tests.api.test_official_client import serving_facade
from tests.helpers.processes import run_official_script

SCRIPT = "official_realtime.mjs"
SCRIPT_TIMEOUT_S = 120


async def test_the_official_client_subscribes_to_tags_and_batches_with_public_tokens(
    client: Client,
) -> None:
    async with serving_facade(client) as api_url:
        await run_official_script(SCRIPT, api_url, SCRIPT_TIMEOUT_S)
