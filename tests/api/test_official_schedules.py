"""The unmodified official client's ``schedules.*`` (``@trigger.dev/sdk`` 4.8.3) against
a real facade on a free port: ``tests/node/official_schedules.mjs`` creates, retrieves,
lists, updates, deactivates, activates and deletes schedules, reads the time zones, and
reads a run a tick made (which this driver makes first, through Temporal's trigger).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from tests.api.test_official_client import NODE_DIR, serving_facade
from tests.helpers import SECRET_KEY, eventually, node_binary

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
    node = node_binary()
    if not (NODE_DIR / "node_modules" / "@trigger.dev" / "sdk").is_dir():
        pytest.fail("@trigger.dev/sdk is not installed: run `npm ci --prefix tests/node`")
    async with serving_facade(client) as api_url:
        headers = {"Authorization": f"Bearer {SECRET_KEY}"}
        async with httpx.AsyncClient(base_url=api_url, headers=headers) as http:
            schedule_id, run_id = await _ticked_run(client, http)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRIGGER_")}
        env |= {
            "TRIGGER_API_URL": api_url,
            "TRIGGER_SECRET_KEY": SECRET_KEY,
            "SCHEDULED_RUN_ID": run_id,
            "SCHEDULE_ID": schedule_id,
        }
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
    assert process.returncode == 0, f"{SCRIPT} exited {process.returncode}:\n{output}"
    assert "FAIL" not in output, output
    assert "all 9 checks passed" in output, output
