"""Tags (searchable in Temporal) and metadata (set at trigger, changed by the task or
the API, bounded in size)."""

from __future__ import annotations

import uuid

from durableruns import runs, tasks
from tests.helpers import Stack, eventually


async def test_tags_are_a_search_attribute_the_temporal_ui_can_filter_on(stack: Stack) -> None:
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    run_id = await stack.trigger("hello-world", {"name": "x"}, tags=[tag, "other"])
    assert sorted((await stack.retrieve(run_id))["tags"]) == sorted([tag, "other"])
    found = await eventually(
        lambda: stack.run_ids_where(f"TriggerTags = '{tag}'"), lambda ids: ids == [run_id]
    )
    assert found == [run_id]


async def test_a_single_tag_string_is_one_tag(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "x"}, tags="solo")
    assert (await stack.retrieve(run_id))["tags"] == ["solo"]


async def test_a_tag_over_128_characters_is_refused(stack: Stack) -> None:
    response = await stack.http.post(
        "/api/v1/tasks/hello-world/trigger", json={"options": {"tags": ["x" * 129]}}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "options.tags: each tag must be 1-128 characters"


async def test_metadata_given_at_trigger_is_on_the_run(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "x"}, metadata={"customer": 7})
    assert (await stack.retrieve(run_id))["metadata"] == {"customer": 7}


async def test_task_code_changes_metadata_with_set_append_and_increment(stack: Stack) -> None:
    run_id = await stack.trigger("metadata-writer", {"pause": 1.5}, metadata={"initial": True})
    midway = await eventually(
        lambda: stack.retrieve(run_id),
        lambda r: (r.get("metadata") or {}).get("stage") == "started",
    )
    assert midway["metadata"] == {"initial": True, "stage": "started", "count": 2, "log": ["a"]}
    done = await stack.wait_final(run_id)
    final = {"initial": True, "stage": "done", "count": 3, "log": ["a", "b"]}
    assert done["metadata"] == final and done["output"] == final


async def test_the_api_replaces_a_running_runs_metadata(sdk_stack: Stack) -> None:
    handle = await tasks.trigger("sleepy", {"seconds": 1})
    assert await runs.update_metadata(handle, {"progress": 0.5}) == {"progress": 0.5}
    got = await sdk_stack.http.get(f"/api/v1/runs/{handle.id}/metadata")
    assert got.json() == {"metadata": {"progress": 0.5}}
    assert (await runs.poll(handle)).metadata == {"progress": 0.5}


async def test_metadata_over_the_limit_is_refused_at_trigger_and_update(stack: Stack) -> None:
    big = {"blob": "x" * 300_000}
    trigger = await stack.http.post(
        "/api/v1/tasks/hello-world/trigger", json={"options": {"metadata": big}}
    )
    assert trigger.status_code == 413  # as every value over its limit (issue 15)
    assert trigger.json()["error"].startswith("options.metadata: ")
    assert "256 KiB" in trigger.json()["error"]
    run_id = await stack.trigger("sleepy", {"seconds": 1})
    update = await stack.http.put(f"/api/v1/runs/{run_id}/metadata", json={"metadata": big})
    assert update.status_code == 413 and update.json()["error"].startswith("metadata: ")


async def test_oversized_metadata_from_task_code_fails_the_run_clearly(stack: Stack) -> None:
    run = await stack.wait_final(await stack.trigger("oversized-metadata", {}))
    assert run["status"] == "FAILED" and run["attemptCount"] == 1
    assert run["error"]["name"] == "MetadataTooLargeError"


async def test_metadata_of_a_finished_run_cannot_be_replaced(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "x"})
    await stack.wait_final(run_id)
    response = await stack.http.put(f"/api/v1/runs/{run_id}/metadata", json={"metadata": {}})
    assert response.status_code == 400
