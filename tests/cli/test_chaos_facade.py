"""Chaos (marker ``chaos``): the facade SIGKILLed in the middle of a 500-item batch
trigger. The client sees its connection drop; it retries on another facade with the
same idempotency key and the same items, and gets the same batch, whole: 500 runs, each
item once (run ids derive from the batch and the item's index)."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.helpers import eventually
from tests.helpers.processes import Proc, start

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]

KEY = "tr_dev_chaos_facade_key"
ITEMS = 500


def _items() -> bytes:
    lines = [
        {
            "index": index,
            "task": "hello-world",
            "payload": json.dumps({"json": {"name": f"n{index}"}}),
            "options": {"payloadType": "application/super+json"},
        }
        for index in range(ITEMS)
    ]
    return "\n".join(json.dumps(line) for line in lines).encode()


async def _create(http: httpx.AsyncClient, idempotency_key: str) -> str:
    created = await http.post(
        "/api/v3/batches",
        json={
            "runCount": ITEMS,
            "taskIdentifiers": ["hello-world"],
            "idempotencyKey": idempotency_key,
        },
    )
    assert created.status_code == 202, created.text
    return str(created.json()["id"])


async def _send(http: httpx.AsyncClient, batch_id: str) -> httpx.Response:
    return await http.post(
        f"/api/v3/batches/{batch_id}/items",
        content=_items(),
        headers={"Content-Type": "application/x-ndjson"},
    )


def _http(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=120)


async def test_a_facade_killed_mid_batch_leaves_a_batch_the_retry_makes_whole(
    client: Client, tmp_path: Path
) -> None:
    prefix = f"chaosbatch-{uuid.uuid4().hex[:8]}"
    # The batch workflows' worker (no task's: the items' runs just wait for a version).
    async with running_worker(
        client, TaskRegistry.from_modules([]), task_queue_prefix=prefix, version="1"
    ):
        await _kill_mid_batch_and_retry(client, tmp_path, prefix)


async def _kill_mid_batch_and_retry(client: Client, tmp_path: Path, prefix: str) -> None:
    address = client.service_client.config.target_host
    key = f"batch-{uuid.uuid4().hex}"
    facades: list[Proc] = []

    def facade(name: str) -> Proc:
        proc = start("api", tmp_path, address=address, prefix=prefix, secret_key=KEY, name=name)
        facades.append(proc)
        return proc

    try:
        first = facade("first")
        await asyncio.to_thread(first.wait_joined)
        async with _http(first.url) as http:
            batch_id = await _create(http, key)
            sending = asyncio.ensure_future(_send(http, batch_id))
            # Kill it once its runs are being created, before the last one is.
            await eventually(
                lambda: _created(client, batch_id), lambda n: n > 0 or sending.done(), 60, 0.02
            )
            first.process.send_signal(signal.SIGKILL)
            try:
                await sending
                interrupted = False
            except httpx.HTTPError:
                interrupted = True
        created_before = await _created(client, batch_id)
        second = facade("second")
        await asyncio.to_thread(second.wait_joined)
        async with _http(second.url) as http:  # the client's retry, same key, same items
            assert await _create(http, key) == batch_id, "the same batch again"
            sent = await _send(http, batch_id)
            assert sent.status_code == 200, sent.text
            assert sent.json()["itemsAccepted"] == ITEMS
            batch = (await http.get(f"/api/v2/batches/{batch_id}")).json()
        counted = await eventually(
            lambda: _created(client, batch_id), lambda n: n >= ITEMS, 60, interval=0.5
        )
    finally:
        for proc in facades:
            proc.stop(signal.SIGKILL)
    print(f"killed mid-request: {interrupted}; runs before the retry: {created_before}")
    assert batch["runCount"] == ITEMS
    assert len(batch["runs"]) == ITEMS and len(set(batch["runs"])) == ITEMS
    assert counted == ITEMS, "each item's run once"


async def _created(client: Client, batch_id: str) -> int:
    return (await client.count_workflows(f"TriggerBatchId = '{batch_id}'")).count
