"""An alert being delivered when its worker and the facade are SIGKILLed is delivered
anyway, by the next worker, with the same delivery id (the receiver's idempotency
key): ``durableruns worker`` and ``durableruns api`` as real processes, a receiver that
holds the first request open until they are dead."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from tests.helpers import eventually
from tests.helpers.processes import Proc, start
from tests.helpers.receivers import http_receiver

KEY = "tr_dev_alert_kill_key"
TASKS = ["--tasks", "tests.helpers.tasks.error_tasks"]


async def test_a_delivery_survives_its_worker_and_facade_being_killed(
    client: Client, tmp_path: Path
) -> None:
    common: dict[str, Any] = {
        "address": client.service_client.config.target_host,
        "prefix": f"alert-kill-{uuid.uuid4().hex[:8]}",
        "secret_key": KEY,
    }
    procs: list[Proc] = []

    async def launch(command: str, **extra: Any) -> Proc:
        proc = start(command, tmp_path, **common, **extra)
        procs.append(proc)
        await asyncio.to_thread(proc.wait_joined)
        return proc

    try:
        async with http_receiver(hang_first=1) as receiver:
            worker = await launch("worker", args=TASKS, name="w1")
            api = await launch("api", name="api1")
            headers = {"Authorization": f"Bearer {KEY}"}
            async with httpx.AsyncClient(base_url=api.url, headers=headers, timeout=30) as http:
                created = await http.post(
                    "/api/v1/alerts",
                    json={
                        "name": "kill",
                        "events": ["run.failed"],
                        "channel": {
                            "type": "webhook",
                            "url": receiver.url,
                            "secret": "s3cret-s3cret",
                        },
                    },
                )
                assert created.status_code == 200, created.text
                alert_id = created.json()["id"]
                triggered = await http.post(
                    "/api/v1/tasks/err-divide/trigger", json={"payload": None}
                )
                assert triggered.status_code == 200, triggered.text

            async def received() -> int:
                return len(receiver.received)

            await eventually(received, lambda n: n >= 1, 60)  # the first try is in flight
            worker.stop(signal.SIGKILL)
            api.stop(signal.SIGKILL)
            receiver.release.set()  # the held request ends (its worker is gone anyway)

            await launch("worker", args=TASKS, name="w2")
            api2 = await launch("api", name="api2")
            await eventually(received, lambda n: n >= 2, 90)
            first, second = receiver.received[0], receiver.received[1]
            assert first.json["id"] == second.json["id"]
            assert second.signed_with("s3cret-s3cret")

            async with httpx.AsyncClient(base_url=api2.url, headers=headers, timeout=30) as http:

                async def records() -> list[dict[str, Any]]:
                    response = await http.get(f"/api/v1/alerts/{alert_id}/deliveries")
                    data: list[dict[str, Any]] = response.json()["data"]
                    return data

                done = await eventually(
                    records, lambda d: bool(d) and d[0]["status"] == "delivered", 60
                )
            tries = done[0]["attempts"]
            assert done[0]["id"] == first.json["id"]
            assert [t["ok"] for t in tries][-1] is True and len(tries) >= 2
    finally:
        for proc in procs:
            with contextlib.suppress(Exception):
                proc.stop(signal.SIGKILL)
