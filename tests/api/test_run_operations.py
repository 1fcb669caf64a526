"""Day-2 run operations at Trigger.dev's paths (issue 23): the run's events as the JSON
list ``listRunEvents`` reads (our server-sent stream moved to ``/events/stream``), trace
and spans, a run's and a batch's results, tags added from the API and from task code,
and idempotency-key resets."""

from __future__ import annotations

import json
import time
import uuid

from tests.helpers import Stack, eventually


async def test_run_events_are_a_json_list_for_a_running_and_a_finished_run(stack: Stack) -> None:
    running = await stack.trigger("sleepy", {"seconds": 3})
    await stack.wait_status(running, "EXECUTING")
    started = time.monotonic()
    response = await stack.http.get(f"/api/v1/runs/{running}/events", timeout=5)
    assert time.monotonic() - started < 1.0
    assert response.status_code == 200
    events = response.json()["events"]
    assert events[0]["runId"] == running and events[0]["isPartial"] is True
    assert any(e["kind"] == "ATTEMPT" for e in events)

    finished = await stack.trigger("hello-world", {"name": "x"})
    await stack.wait_final(finished)
    started = time.monotonic()
    response = await stack.http.get(f"/api/v1/runs/{finished}/events", timeout=5)
    assert time.monotonic() - started < 1.0
    events = response.json()["events"]
    assert events[0]["isPartial"] is False and not events[0]["isError"]
    assert {e["runId"] for e in events} == {finished}


async def test_run_events_of_an_unknown_run_are_404(stack: Stack) -> None:
    response = await stack.http.get("/api/v1/runs/run_unknown/events")
    assert response.status_code == 404


async def test_the_server_sent_stream_of_a_run_lives_at_events_stream(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "x"})
    await stack.wait_final(run_id)
    async with stack.http.stream("GET", f"/api/v1/runs/{run_id}/events/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = (await response.aread()).decode()
    assert body.startswith("event: run\n") and '"status":"COMPLETED"' in body


async def test_the_trace_is_a_tree_and_its_spans_can_be_read_one_by_one(stack: Stack) -> None:
    run_id = await stack.trigger("always-fails", {})
    await stack.wait_final(run_id)
    trace = (await stack.http.get(f"/api/v1/runs/{run_id}/trace")).json()["trace"]
    root = trace["rootSpan"]
    assert len(trace["traceId"]) == 32 and root["runId"] == run_id
    assert root["data"]["isError"] is True
    attempts = [c for c in root["children"] if c["data"]["properties"]["kind"] == "attempt"]
    assert len(attempts) == 2 and all(a["data"]["isError"] for a in attempts)

    page = (await stack.http.get(f"/api/v1/runs/{run_id}/trace?page[size]=2")).json()
    assert len(page["data"]) == 2 and page["pagination"]["next"] == "2"
    assert [f["attemptNumber"] for f in page["attemptFailures"]] == [1, 2]

    span_id = attempts[0]["id"]
    span = (await stack.http.get(f"/api/v1/runs/{run_id}/spans/{span_id}")).json()
    assert span["spanId"] == span_id and span["parentId"] == root["id"] and span["isError"]
    missing = await stack.http.get(f"/api/v1/runs/{run_id}/spans/nope")
    assert missing.status_code == 404


async def test_a_bad_trace_page_is_a_400_naming_the_parameter(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "x"})
    response = await stack.http.get(f"/api/v1/runs/{run_id}/trace?page[size]=zero")
    assert response.status_code == 400
    assert response.json()["error"].startswith("page[size]")


async def test_a_finished_runs_result_and_404_while_it_runs(stack: Stack) -> None:
    done = await stack.trigger("hello-world", {"name": "Ada"})
    await stack.wait_final(done)
    result = (await stack.http.get(f"/api/v1/runs/{done}/result")).json()
    assert result == {
        "ok": True,
        "id": done,
        "output": '{"message": "Hello, Ada!"}',
        "outputType": "application/json",
        "taskIdentifier": "hello-world",
    }
    failed = await stack.trigger("always-fails", {})
    await stack.wait_final(failed)
    result = (await stack.http.get(f"/api/v1/runs/{failed}/result")).json()
    assert result["ok"] is False and result["error"]["type"] == "BUILT_IN_ERROR"
    running = await stack.trigger("sleepy", {"seconds": 2})
    assert (await stack.http.get(f"/api/v1/runs/{running}/result")).status_code == 404


async def test_a_batchs_results_are_its_finished_runs_in_item_order(stack: Stack) -> None:
    created = await stack.http.post(
        "/api/v3/batches", json={"runCount": 3, "taskIdentifiers": ["hello-world"]}
    )
    batch_id = created.json()["id"]
    items = [
        {"index": i, "task": "hello-world", "payload": {"name": n}} for i, n in enumerate("abc")
    ]
    sent = await stack.http.post(
        f"/api/v3/batches/{batch_id}/items",
        content="\n".join(json.dumps(i) for i in items).encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert sent.status_code == 200, sent.text
    run_ids = (await stack.http.get(f"/api/v2/batches/{batch_id}")).json()["runs"]
    for run_id in run_ids:
        await stack.wait_final(run_id)
    results = (await stack.http.get(f"/api/v1/batches/{batch_id}/results")).json()
    assert results["id"] == batch_id
    assert [i["id"] for i in results["items"]] == run_ids
    assert [i["output"] for i in results["items"]] == [
        f'{{"message": "Hello, {n}!"}}' for n in "abc"
    ]
    unknown = await stack.http.get("/api/v1/batches/batch_unknown/results")
    assert unknown.status_code == 404


async def test_tags_added_through_the_api_are_on_the_run_and_searchable(stack: Stack) -> None:
    tag = f"added-{uuid.uuid4().hex[:8]}"
    run_id = await stack.trigger("sleepy", {"seconds": 3}, tags=["first"])
    response = await stack.http.post(f"/api/v1/runs/{run_id}/tags", json={"tags": [tag, "first"]})
    assert response.json() == {"message": "Successfully set 1 new tags."}
    assert (await stack.retrieve(run_id))["tags"] == sorted(["first", tag])
    found = await eventually(
        lambda: stack.run_ids_where(f"TriggerTags = '{tag}'"), lambda ids: ids == [run_id]
    )
    assert found == [run_id]
    single = await stack.http.post(f"/api/v1/runs/{run_id}/tags", json={"tags": "solo"})
    assert single.status_code == 200
    assert "solo" in (await stack.retrieve(run_id))["tags"]


async def test_tags_beyond_the_limits_are_refused_naming_the_field(stack: Stack) -> None:
    run_id = await stack.trigger("sleepy", {"seconds": 3}, tags=[f"t{n}" for n in range(8)])
    long = await stack.http.post(f"/api/v1/runs/{run_id}/tags", json={"tags": ["x" * 129]})
    assert long.status_code == 422 and "tags" in long.json()["error"]
    many = await stack.http.post(f"/api/v1/runs/{run_id}/tags", json={"tags": ["a", "b", "c"]})
    assert many.status_code == 400
    assert many.json()["error"] == "tags: a run has at most 10 tags; it would have 11"
    missing = await stack.http.post(f"/api/v1/runs/{run_id}/tags", json={})
    assert missing.status_code == 422 and "tags" in missing.json()["error"]
    unknown = await stack.http.post("/api/v1/runs/run_unknown/tags", json={"tags": ["a"]})
    assert unknown.status_code == 404


async def test_a_finished_run_takes_no_tags(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "x"})
    await stack.wait_final(run_id)
    response = await stack.http.post(f"/api/v1/runs/{run_id}/tags", json={"tags": ["late"]})
    assert response.status_code == 400
    assert "COMPLETED" in response.json()["error"]


async def test_task_code_adds_tags_once_across_a_resume_and_within_the_limit(
    stack: Stack,
) -> None:
    tag = f"self-{uuid.uuid4().hex[:8]}"
    run_id = await stack.trigger("tags-itself", {"tags": [tag, "b"], "wait_s": 0.6, "too_many": 9})
    run = await stack.wait_final(run_id)
    assert run["status"] == "COMPLETED", run
    assert run["tags"] == sorted([tag, "b"])
    assert len(run["output"]) == 1  # the 9 more were refused: 11 > 10
    found = await eventually(
        lambda: stack.run_ids_where(f"TriggerTags = '{tag}'"), lambda ids: ids == [run_id]
    )
    assert found == [run_id]


async def test_a_reset_idempotency_key_makes_the_next_trigger_a_new_run(stack: Stack) -> None:
    key = f"key-{uuid.uuid4().hex[:8]}"
    first = await stack.trigger("hello-world", {"name": "x"}, idempotencyKey=key)
    assert await stack.trigger("hello-world", {"name": "x"}, idempotencyKey=key) == first
    response = await stack.http.post(
        f"/api/v1/idempotencyKeys/{key}/reset", json={"taskIdentifier": "hello-world"}
    )
    assert response.status_code == 200 and response.json() == {"id": key}
    second = await stack.trigger("hello-world", {"name": "x"}, idempotencyKey=key)
    assert second != first
    assert await stack.trigger("hello-world", {"name": "x"}, idempotencyKey=key) == second


async def test_resetting_an_unknown_key_is_404_and_a_missing_task_is_422(stack: Stack) -> None:
    unknown = await stack.http.post(
        "/api/v1/idempotencyKeys/never-used/reset", json={"taskIdentifier": "hello-world"}
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"].startswith("idempotencyKey")
    missing = await stack.http.post("/api/v1/idempotencyKeys/k/reset", json={})
    assert missing.status_code == 422 and "taskIdentifier" in missing.json()["error"]
