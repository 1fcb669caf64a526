"""Idempotency keys: atomic on Temporal's workflow-id uniqueness, with Trigger.dev's
rules for when a key gives back its run and when it makes a new one."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

from durableruns import runs, tasks
from tests.helpers import Stack, eventually, never


def _key() -> str:
    return f"key-{uuid.uuid4().hex[:10]}"


async def _trigger(stack: Stack, task_id: str, payload: Any, **options: Any) -> dict[str, Any]:
    response = await stack.http.post(
        f"/api/v1/tasks/{task_id}/trigger", json={"payload": payload, "options": options}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_same_key_while_the_run_is_unfinished_returns_that_run(stack: Stack) -> None:
    key = _key()
    first = await _trigger(stack, "sleepy", {"seconds": 1}, idempotencyKey=key)
    second = await _trigger(stack, "sleepy", {"seconds": 1}, idempotencyKey=key)
    assert first == {"id": first["id"], "isCached": False}
    assert second == {"id": first["id"], "isCached": True}


async def test_a_completed_runs_key_returns_it_with_its_output(stack: Stack) -> None:
    key = _key()
    first = await _trigger(stack, "hello-world", {"name": "Once"}, idempotencyKey=key)
    await stack.wait_final(first["id"])
    again = await _trigger(stack, "hello-world", {"name": "Twice"}, idempotencyKey=key)
    assert again == {"id": first["id"], "isCached": True}
    assert (await stack.retrieve(again["id"]))["output"] == {"message": "Hello, Once!"}


async def test_a_failed_runs_key_makes_a_new_run(stack: Stack) -> None:
    key = _key()
    first = await _trigger(stack, "always-fails", {}, idempotencyKey=key)
    assert (await stack.wait_final(first["id"]))["status"] == "FAILED"
    again = await _trigger(stack, "always-fails", {}, idempotencyKey=key)
    assert again["id"] != first["id"] and not again["isCached"]


async def test_an_expired_key_makes_a_new_run(stack: Stack) -> None:
    key = _key()
    first = await _trigger(
        stack, "hello-world", {"name": "x"}, idempotencyKey=key, idempotencyKeyTTL="1s"
    )
    await stack.wait_final(first["id"])
    # the key's TTL has to pass (there is no clock to skip): until then it gives back the
    # first run, then a trigger makes a new one
    again = await eventually(
        lambda: _trigger(stack, "hello-world", {"name": "x"}, idempotencyKey=key),
        lambda answer: not answer["isCached"],
        timeout=5,
        interval=0.1,
    )
    assert again["id"] != first["id"]


async def test_keys_are_per_task(stack: Stack) -> None:
    key = _key()
    hello = await _trigger(stack, "hello-world", {"name": "x"}, idempotencyKey=key)
    sleepy = await _trigger(stack, "sleepy", {"seconds": 0}, idempotencyKey=key)
    assert hello["id"] != sleepy["id"]


async def test_fifty_concurrent_triggers_with_one_key_create_exactly_one_run(stack: Stack) -> None:
    key = _key()
    answers = await asyncio.gather(
        *(
            _trigger(stack, "hello-world", {"name": f"racer {i}"}, idempotencyKey=key)
            for i in range(50)
        )
    )
    assert len({a["id"] for a in answers}) == 1
    assert sum(not a["isCached"] for a in answers) == 1
    found = await eventually(
        lambda: stack.run_ids_where(f"TriggerIdempotencyKey = '{key}'"), lambda ids: len(ids) >= 1
    )
    assert found == [answers[0]["id"]]
    # no second run shows up while visibility has a second to catch up
    await never(
        lambda: stack.run_ids_where(f"TriggerIdempotencyKey = '{key}'"),
        lambda ids: ids != found,
        for_s=1,
    )


async def test_retrieve_shows_the_users_key_not_its_hash(stack: Stack) -> None:
    key = _key()
    hashed = hashlib.sha256(key.encode()).hexdigest()
    first = await _trigger(
        stack,
        "hello-world",
        {"name": "x"},
        idempotencyKey=hashed,
        idempotencyKeyOptions={"key": key, "scope": "global"},
    )
    assert (await stack.retrieve(first["id"]))["idempotencyKey"] == key


async def test_a_retried_request_returns_the_first_response(stack: Stack) -> None:
    headers = {"x-trigger-request-idempotency-key": str(uuid.uuid4())}
    body = {"payload": {"name": "retry"}}
    first = await stack.http.post("/api/v1/tasks/hello-world/trigger", json=body, headers=headers)
    second = await stack.http.post("/api/v1/tasks/hello-world/trigger", json=body, headers=headers)
    other = await stack.http.post("/api/v1/tasks/hello-world/trigger", json=body)
    assert first.json() == second.json() == {"id": first.json()["id"], "isCached": False}
    assert other.json()["id"] != first.json()["id"]


async def test_an_unparsable_key_ttl_is_refused(stack: Stack) -> None:
    response = await stack.http.post(
        "/api/v1/tasks/hello-world/trigger",
        json={"options": {"idempotencyKey": "k", "idempotencyKeyTTL": "forever"}},
    )
    assert response.status_code == 422
    assert response.json()["error"].startswith("options.idempotencyKeyTTL: ")


async def test_the_sdk_dedupes_on_its_key(sdk_stack: Stack) -> None:
    key = _key()
    first = await tasks.trigger("hello-world", {"name": "sdk"}, idempotency_key=key)
    second = await tasks.trigger("hello-world", {"name": "sdk"}, idempotency_key=key)
    assert second.id == first.id and second.is_cached and not first.is_cached
    run = await runs.poll(first)
    assert run.idempotency_key == key


async def test_run_scoped_keys_inside_a_task_dedupe_within_the_parent_only(stack: Stack) -> None:
    key = _key()
    one = await stack.wait_final(
        await stack.trigger("idempotent-parent", {"key": key, "scope": "run"})
    )
    two = await stack.wait_final(
        await stack.trigger("idempotent-parent", {"key": key, "scope": "run"})
    )
    assert one["output"][0] == one["output"][1], "one child per key within a run"
    assert two["output"][0] != one["output"][0], "another parent run gets its own child"
    child = await stack.retrieve(one["output"][0])
    assert child["idempotencyKey"] == key


async def test_global_keys_inside_a_task_dedupe_across_parents(stack: Stack) -> None:
    key = _key()
    one = await stack.wait_final(
        await stack.trigger("idempotent-parent", {"key": key, "scope": "global"})
    )
    two = await stack.wait_final(
        await stack.trigger("idempotent-parent", {"key": key, "scope": "global"})
    )
    assert len({*one["output"], *two["output"]}) == 1
