"""The unmodified official client's ``schedules.*`` (``@trigger.dev/sdk`` 4.8.3) against
a real facade on a free port: ``tests/node/official_schedules.mjs`` creates, retrieves,
lists, updates, deactivates, activates and deletes schedules, reads the time zones, and
reads a run a tick made (which this driver makes first, through Temporal's trigger).
"""

from __future__ import annotations

from typing import Any

import httpx
from temporalio.client import Client

from tests.api.test_official_client import serving_facade
from tests.helpers import SECRET_KEY, eventually
from tests.helpers.processes import run_official_script

SCRIPT = "official_schedules.mjs"
SCRIPT_TIMEOUT_S = 60


async def _ticked_run(client: Client, http: httpx.AsyncClient) -> tuple[str, str]:
    """A schedule and the run its one tick made: (schedule id, run id)."""
    created = await http.post(
        "/api/v1/schedules",
        json={"task": "every-minute", "cron": "0 0 1 1 *", "deduplicationKey": "ticked"},
    )
    assert created.status_code == 200, created.text
    schedule_id: str = created.json()["id"]

    async def temporal_ids() -> list[str]:
        return [s.id async for s in await client.list_schedules()]

    ids = await eventually(temporal_ids, lambda found: any(i.endswith(schedule_id) for i in found))
    await client.get_schedule_handle(next(i for i in ids if i.endswith(schedule_id))).trigger()

    async def runs() -> list[dict[str, Any]]:
        listed = await http.get("/api/v1/runs", params={"filter[schedule]": schedule_id})
        data: list[dict[str, Any]] = listed.json()["data"]
        return data

    [run] = await eventually(runs, lambda found: len(found) == 1)
    return schedule_id, str(run["id"])


async def test_the_official_client_manages_schedules(client: Client) -> None:
    async with serving_facade(client) as api_url:
        headers = {"Authorization": f"Bearer {SECRET_KEY}"}
        async with httpx.AsyncClient(base_url=api_url, headers=headers) as http:
            schedule_id, run_id = await _ticked_run(client, http)
        ids = {"SCHEDULED_RUN_ID": run_id, "SCHEDULE_ID": schedule_id}
        output = await run_official_script(SCRIPT, api_url, SCRIPT_TIMEOUT_S, ids)
    assert "all 9 checks passed" in output, output
