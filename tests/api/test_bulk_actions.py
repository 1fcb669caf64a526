"""Bulk actions (issue 23): replay or cancel many runs by ids or by the ``runs.list``
filters, durably — a workflow that pages through the selection and acts at bounded
concurrency, each run once — polled, listed, aborted; bad input answered 4xx naming
the field."""

from __future__ import annotations

import uuid
from typing import Any

from durableruns.bulk_models import MAX_RUN_IDS
from tests.helpers import Stack, eventually

UNKNOWN_RUN = "run_0000000000000000000000000z"


async def _create(stack: Stack, body: dict[str, Any]) -> str:
    response = await stack.http.post("/api/v1/bulk-actions", json=body)
    assert response.status_code == 200, response.text
    action_id: str = response.json()["id"]
    assert action_id.startswith("bulk_")
    return action_id


async def _get(stack: Stack, action_id: str) -> dict[str, Any]:
    response = await stack.http.get(f"/api/v1/bulk-actions/{action_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _finished(stack: Stack, action_id: str, timeout: float = 60) -> dict[str, Any]:
    return await eventually(
        lambda: _get(stack, action_id), lambda a: a["status"] != "PENDING", timeout
    )


async def _failed_runs(stack: Stack, count: int, tag: str) -> list[str]:
    run_ids = [await stack.trigger("fails-fast", {"n": n}, tags=[tag]) for n in range(count)]
    for run_id in run_ids:
        await stack.wait_final(run_id)
    return run_ids


async def test_a_bulk_replay_by_ids_replays_each_run_once(stack: Stack) -> None:
    tag = f"bulk-{uuid.uuid4().hex[:8]}"
    sources = await _failed_runs(stack, 3, tag)
    action_id = await _create(
        stack, {"action": "replay", "runIds": [*sources, UNKNOWN_RUN], "name": "retry them"}
    )
    action = await _finished(stack, action_id)
    assert action["status"] == "COMPLETED" and action["type"] == "REPLAY"
    assert action["name"] == "retry them" and "completedAt" in action
    assert action["counts"] == {"total": 4, "success": 3, "failure": 1}
    listed = await eventually(
        lambda: stack.http.get("/api/v1/runs", params={"filter[bulkAction]": action_id}),
        lambda r: len(r.json()["data"]) == 3,
    )
    replays = [await stack.retrieve(r["id"]) for r in listed.json()["data"]]
    assert sorted(r["replayedFrom"] for r in replays) == sorted(sources)


async def test_a_bulk_replay_by_filter_selects_by_tag_and_status(stack: Stack) -> None:
    tag = f"bulk-{uuid.uuid4().hex[:8]}"
    sources = await _failed_runs(stack, 4, tag)
    other = await stack.trigger("hello-world", {"name": "x"}, tags=[tag])
    await stack.wait_final(other)
    await eventually(
        lambda: stack.run_ids_where(f"TriggerTags = '{tag}' AND TriggerStatus = 'FAILED'"),
        lambda ids: len(ids) == 4,
    )
    action_id = await _create(
        stack, {"action": "replay", "filter": {"tag": tag, "status": ["FAILED"], "period": "1h"}}
    )
    action = await _finished(stack, action_id)
    assert action["counts"] == {"total": 4, "success": 4, "failure": 0}
    replayed = await eventually(
        lambda: stack.run_ids_where(f"TriggerBulkActionId = '{action_id}'"),
        lambda ids: len(ids) == 4,
    )
    assert len(set(replayed) - set(sources)) == 4


async def test_a_bulk_cancel_of_running_waiting_and_finished_runs(stack: Stack) -> None:
    running = await stack.trigger("sleepy", {"seconds": 30})
    waiting = await stack.trigger("waits-until", {"seconds": 60})
    delayed = await stack.trigger("hello-world", {"name": "x"}, delay="1h")
    finished = await stack.trigger("hello-world", {"name": "y"})
    await stack.wait_status(running, "EXECUTING")
    await stack.wait_status(waiting, "WAITING")
    await stack.wait_final(finished)
    action_id = await _create(
        stack, {"action": "cancel", "runIds": [running, waiting, delayed, finished]}
    )
    action = await _finished(stack, action_id)
    assert action["type"] == "CANCEL"
    assert action["counts"] == {"total": 4, "success": 3, "failure": 1}
    for run_id in (running, waiting, delayed):
        assert (await stack.wait_final(run_id))["status"] == "CANCELED"
    assert (await stack.retrieve(finished))["status"] == "COMPLETED"


async def test_an_abort_stops_a_bulk_action_and_aborting_again_is_no_error(stack: Stack) -> None:
    ids = [f"run_{n:026d}" for n in range(MAX_RUN_IDS)]
    action_id = await _create(stack, {"action": "cancel", "runIds": ids})
    response = await stack.http.post(f"/api/v1/bulk-actions/{action_id}/abort")
    assert response.status_code == 200 and response.json() == {"id": action_id}
    action = await _finished(stack, action_id)
    assert action["status"] == "ABORTED"
    counts = action["counts"]
    assert counts["total"] == MAX_RUN_IDS and counts["success"] + counts["failure"] < MAX_RUN_IDS
    again = await stack.http.post(f"/api/v1/bulk-actions/{action_id}/abort")
    assert again.status_code == 200
    done = await _create(stack, {"action": "cancel", "runIds": [UNKNOWN_RUN]})
    assert (await _finished(stack, done))["status"] == "COMPLETED"
    late = await stack.http.post(f"/api/v1/bulk-actions/{done}/abort")
    assert late.status_code == 200
    assert (await _get(stack, done))["status"] == "COMPLETED"


async def test_bulk_actions_are_listed_newest_first_with_pagination(stack: Stack) -> None:
    created = [
        await _create(stack, {"action": "cancel", "runIds": [UNKNOWN_RUN]}) for _ in range(3)
    ]
    first = await eventually(
        lambda: stack.http.get("/api/v1/bulk-actions", params={"page[size]": "2"}),
        lambda r: [a["id"] for a in r.json()["data"]] == created[::-1][:2],
    )
    after = first.json()["pagination"]["next"]
    second = await stack.http.get(
        "/api/v1/bulk-actions", params={"page[size]": "2", "page[after]": after}
    )
    assert second.json()["data"][0]["id"] == created[0]


async def test_bad_bulk_actions_are_4xx_naming_the_field(stack: Stack) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"action": "replay"}, "filter"),
        ({"action": "replay", "runIds": [UNKNOWN_RUN], "filter": {"tag": "x"}}, "filter"),
        ({"action": "replay", "filter": {}}, "filter"),
        ({"action": "replay", "filter": {"tag": ["  "]}}, "filter"),
        ({"action": "replay", "runIds": []}, "runIds"),
        ({"action": "replay", "runIds": ["r"] * (MAX_RUN_IDS + 1)}, "runIds"),
        ({"action": "replay", "filter": {"status": "NOPE"}}, "filter.status"),
        ({"action": "replay", "filter": {"period": "soon"}}, "filter.period"),
        ({"action": "delete", "runIds": [UNKNOWN_RUN]}, "action"),
    ]
    for body, field in cases:
        response = await stack.http.post("/api/v1/bulk-actions", json=body)
        assert 400 <= response.status_code < 500, (body, response.text)
        assert field in response.json()["error"], (body, response.text)
    missing = await stack.http.get("/api/v1/bulk-actions/bulk_00000000000000000000000000")
    assert missing.status_code == 404
    assert (await stack.http.post("/api/v1/bulk-actions/nope/abort")).status_code == 404
    page = await stack.http.get("/api/v1/bulk-actions", params={"page[size]": "0"})
    assert page.status_code == 400 and "page[size]" in page.json()["error"]
