"""Wire compatibility with the official client (``@trigger.dev/sdk`` 4.8.3), at the
HTTP level: the regressions ``tests/node/official_client.mjs`` found, and the rules its
zod schemas enforce (no ``null`` for optional fields, ISO dates, the 13 statuses)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from tests.helpers import Stack, eventually

STATUSES = {
    "PENDING_VERSION", "QUEUED", "DEQUEUED", "EXECUTING", "WAITING", "COMPLETED", "CANCELED",
    "FAILED", "CRASHED", "SYSTEM_FAILURE", "DELAYED", "EXPIRED", "TIMED_OUT",
}  # fmt: skip
DATE_FIELDS = {"createdAt", "updatedAt", "startedAt", "finishedAt", "delayedUntil", "expiredAt"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def superjson(value: Any) -> str:
    """A payload packet as the official client sends it."""
    return json.dumps({"json": value})


def nulls(value: Any, path: str = "$") -> Iterator[str]:
    """The JSON paths of every ``null`` in ``value``."""
    if value is None:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from nulls(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nulls(item, f"{path}[{index}]")


def runs_in(body: Any) -> Iterator[dict[str, Any]]:
    """Every run object in an answer: the run, its related runs, list items."""
    if isinstance(body, dict):
        if "taskIdentifier" in body and "status" in body:
            yield body
        for key, item in body.items():
            if key not in ("payload", "output", "metadata"):
                yield from runs_in(item)
    elif isinstance(body, list):
        for item in body:
            yield from runs_in(item)


def check_answer(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body, checked against what the official client's schemas accept."""
    assert response.status_code == status, response.text
    body = json.loads(response.content)
    assert list(nulls(body)) == [], f"{response.request.url.path}: {response.text}"
    for run in runs_in(body):
        assert run["status"] in STATUSES, run
        for field in DATE_FIELDS & run.keys():
            assert ISO_UTC.match(run[field]), (field, run[field])
    return body


async def test_no_null_anywhere_in_what_the_client_parses(stack: Stack) -> None:
    http = stack.http
    key = tag = f"wire-{uuid.uuid4().hex}"
    triggered = await http.post(
        "/api/v1/tasks/hello-world/trigger",
        json={
            "payload": superjson({"name": "Wire"}),
            "options": {
                "payloadType": "application/super+json",
                "tags": [tag],
                "ttl": "1h",
                "metadata": {"step": 1},
                "idempotencyKey": key,
                "idempotencyKeyOptions": {"key": key, "scope": "global"},
            },
        },
    )
    run_id = check_answer(triggered)["id"]
    assert triggered.headers["x-trigger-jwt"]
    check_answer(await http.get(f"/api/v3/runs/{run_id}"))
    final = await stack.wait_final(run_id)
    check_answer(await http.get(f"/api/v3/runs/{run_id}"))
    assert final["status"] == "COMPLETED" and final["idempotencyKey"] == key

    failed = await stack.trigger(
        "always-fails", superjson({}), payloadType="application/super+json"
    )
    await stack.wait_final(failed)
    assert check_answer(await http.get(f"/api/v3/runs/{failed}"))["error"]["message"] == "boom"

    parent = await stack.trigger("parent-waits", {"names": ["A"]})
    await stack.wait_final(parent)
    family = check_answer(await http.get(f"/api/v3/runs/{parent}"))
    child = family["relatedRuns"]["children"][0]["id"]
    check_answer(await http.get(f"/api/v3/runs/{child}"))

    delayed = await stack.trigger("hello-world", {"name": "Later"}, delay="1h")
    await stack.wait_status(delayed, "DELAYED")
    moved = await http.post(f"/api/v1/runs/{delayed}/reschedule", json={"delay": "1s"})
    assert check_answer(moved)["delayedUntil"]
    check_answer(await http.post(f"/api/v1/runs/{run_id}/replay"))
    replayed = await http.post(
        f"/api/v1/runs/{run_id}/replay",
        json={"payload": superjson({"name": "Again"}), "payloadType": "application/super+json"},
    )
    check_answer(replayed)
    check_answer(await http.post(f"/api/v2/runs/{delayed}/cancel"))

    listed = await eventually(
        lambda: http.get("/api/v1/runs", params={"filter[tag]": tag, "page[size]": "5"}),
        lambda response: len(response.json().get("data", [])) == 3,  # the run and 2 replays
    )
    assert run_id in [item["id"] for item in check_answer(listed)["data"]]

    created = await http.post(
        "/api/v3/batches", json={"runCount": 1, "taskIdentifiers": ["hello-world"]}
    )
    batch_id = check_answer(created, 202)["id"]
    assert created.headers["x-trigger-jwt"]
    line = {"index": 0, "task": "hello-world", "payload": superjson({"name": "B"})}
    streamed = await http.post(
        f"/api/v3/batches/{batch_id}/items",
        content=json.dumps(line | {"options": {"payloadType": "application/super+json"}}),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert check_answer(streamed)["sealed"] is True
    check_answer(await http.get(f"/api/v2/batches/{batch_id}"))


async def test_keyed_batch_items_list_the_runs_they_created(stack: Stack) -> None:
    """An item with an idempotency key runs as that key's run: the batch must list that
    run, not an id derived from its index that no run has (it answered 404)."""
    unique = uuid.uuid4().hex

    async def keyed_batch() -> list[str]:
        created = await stack.http.post("/api/v3/batches", json={"runCount": 2})
        batch_id = check_answer(created, 202)["id"]
        lines = [
            {
                "index": index,
                "task": "hello-world",
                "payload": superjson({"name": name}),
                "options": {
                    "payloadType": "application/super+json",
                    "idempotencyKey": f"{unique}-{name}",
                    "idempotencyKeyOptions": {"key": f"{unique}-{name}", "scope": "global"},
                },
            }
            for index, name in enumerate(["K0", "K1"])
        ]
        streamed = await stack.http.post(
            f"/api/v3/batches/{batch_id}/items",
            content="\n".join(json.dumps(line) for line in lines),
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert check_answer(streamed)["sealed"] is True
        run_ids: list[str] = check_answer(await stack.http.get(f"/api/v2/batches/{batch_id}"))[
            "runs"
        ]
        return run_ids

    first = await keyed_batch()
    for index, run_id in enumerate(first):
        run = await stack.wait_final(run_id)
        assert run["output"] == {"message": f"Hello, K{index}!"}
        assert run["idempotencyKey"] == f"{unique}-K{index}"
    assert await keyed_batch() == first
