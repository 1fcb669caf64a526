"""Batch trigger: the official client's two-phase API and the SDK's batch_trigger."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from activities.hello_world import hello_world
from durableruns import RunStatus, runs, tasks
from durableruns.in_task import BatchItem
from durableruns.sdk import batch
from tests.helpers import Stack, eventually


def _ndjson(items: list[dict[str, Any]]) -> bytes:
    return "\n".join(json.dumps(i) for i in items).encode()


async def _create(stack: Stack, run_count: int) -> dict[str, Any]:
    response = await stack.http.post(
        "/api/v3/batches", json={"runCount": run_count, "taskIdentifiers": ["hello-world"]}
    )
    assert response.status_code == 202, response.text
    assert "x-trigger-jwt" in response.headers
    body: dict[str, Any] = response.json()
    return body


async def _send(stack: Stack, batch_id: str, body: bytes) -> Any:
    return await stack.http.post(
        f"/api/v3/batches/{batch_id}/items",
        content=body,
        headers={"Content-Type": "application/x-ndjson"},
    )


def _item(index: int, name: str) -> dict[str, Any]:
    return {
        "index": index,
        "task": "hello-world",
        "payload": json.dumps({"json": {"name": name}}),
        "options": {"payloadType": "application/super+json"},
    }


async def test_the_two_phase_batch_api_creates_one_run_per_item_in_order(stack: Stack) -> None:
    created = await _create(stack, 3)
    assert created["id"].startswith("batch_") and created == {
        "id": created["id"],
        "runCount": 3,
        "isCached": False,
    }
    sent = await _send(stack, created["id"], _ndjson([_item(i, f"n{i}") for i in range(3)]))
    assert sent.status_code == 200, sent.text
    assert sent.json()["itemsAccepted"] == 3 and sent.json()["sealed"] is True
    got = (await stack.http.get(f"/api/v2/batches/{created['id']}")).json()
    assert got["status"] == "COMPLETED" and got["runCount"] == 3 and len(got["runs"]) == 3
    for index, run_id in enumerate(got["runs"]):
        run = await stack.wait_final(run_id)
        assert run["output"] == {"message": f"Hello, n{index}!"}
        assert run["batchId"] == created["id"] and run["triggerFunction"] == "batchTrigger"


async def test_a_resent_item_stream_creates_nothing_twice(stack: Stack) -> None:
    created = await _create(stack, 2)
    first = await _send(stack, created["id"], _ndjson([_item(0, "a")]))
    assert first.json()["sealed"] is False
    again = await _send(stack, created["id"], _ndjson([_item(0, "a"), _item(1, "b")]))
    assert again.json() | {"enqueuedCount": 0} == {
        "id": created["id"],
        "itemsAccepted": 1,
        "itemsDeduplicated": 1,
        "sealed": True,
        "enqueuedCount": 0,
        "expectedCount": 2,
    }
    runs_of_batch = (await stack.http.get(f"/api/v2/batches/{created['id']}")).json()["runs"]
    assert len(set(runs_of_batch)) == 2


async def test_a_malformed_line_is_refused_and_creates_nothing(stack: Stack) -> None:
    created = await _create(stack, 3)
    body = _ndjson([_item(0, "a")]) + b"\n{not json\n" + _ndjson([_item(2, "c")])
    response = await _send(stack, created["id"], body)
    assert response.status_code == 400
    assert response.json()["error"].startswith("items line 2: not valid JSON")
    bad_field = await _send(stack, created["id"], _ndjson([{"index": -1, "task": "hello-world"}]))
    assert bad_field.status_code == 400 and bad_field.json()["error"].startswith(
        "items line 1: index"
    )
    out_of_range = await _send(stack, created["id"], _ndjson([_item(7, "x")]))
    assert out_of_range.status_code == 400
    got = (await stack.http.get(f"/api/v2/batches/{created['id']}")).json()
    assert got["runs"] == [] and got["status"] == "PENDING"


async def test_a_batch_over_1000_items_is_refused(stack: Stack) -> None:
    response = await stack.http.post("/api/v3/batches", json={"runCount": 1001})
    assert response.status_code == 422
    assert response.json()["error"].startswith("runCount: ")


async def test_an_unknown_batch_is_404(stack: Stack) -> None:
    response = await stack.http.get("/api/v2/batches/batch_0000000000aaaaaaaaaaaaaaaa")
    assert response.status_code == 404


async def test_a_200_item_batch_completes_with_its_batch_id_on_every_run(sdk_stack: Stack) -> None:
    handle = await tasks.batch_trigger("hello-world", [{"name": f"p{i}"} for i in range(200)])
    assert len(handle.runs) == 200 and handle.id.startswith("batch_")

    async def all_done() -> list[Any]:
        return list(await asyncio.gather(*(runs.retrieve(r) for r in handle.runs)))

    done = await eventually(all_done, lambda rs: all(r.is_completed for r in rs), timeout=60)
    assert [r.output["message"] for r in done] == [f"Hello, p{i}!" for i in range(200)]
    assert {r.batch_id for r in done} == {handle.id}
    batch_runs = await sdk_stack.run_ids_where(f"TriggerBatchId = '{handle.id}'")
    assert len(batch_runs) <= 200


async def test_task_batch_trigger_with_per_item_options(sdk_stack: Stack) -> None:
    handle = await hello_world.batch_trigger(
        [BatchItem(payload={"name": "tagged"}, options={"tags": ["t1"]}), {"name": "plain"}]
    )
    first, second = [await runs.poll(r) for r in handle.runs]
    assert first.status is RunStatus.COMPLETED and first.tags == ["t1"]
    assert second.output is not None and second.output.message == "Hello, plain!"
    assert (await batch.retrieve(handle.id)).runs == [r.id for r in handle.runs]
