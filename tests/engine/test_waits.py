"""Waits: trigger_and_wait and batch_trigger_and_wait as child workflows, wait.for_ and
wait.until as durable timers, and the WAITING state. (Suspension, resume, steps and a
killed worker: test_suspension.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType

from durableruns import tasks, wait
from durableruns.errors import OutsideTaskError
from tests.helpers import Stack, eventually

ROOT = Path(__file__).resolve().parents[2]


async def test_the_parent_is_waiting_while_its_child_runs_as_a_child_workflow(stack: Stack) -> None:
    parent_id = await stack.trigger("waits-for-a-sleepy-child", {"child": {"seconds": 1.5}})
    waiting = await stack.wait_status(parent_id, "WAITING")
    assert waiting["isWaiting"] and not waiting["isExecuting"]
    [child] = waiting["relatedRuns"]["children"]
    assert child["status"] in ("QUEUED", "EXECUTING")
    assert child["triggerFunction"] == "triggerAndWait" and child["depth"] == 1
    description = await stack.client.get_workflow_handle(child["id"]).describe()
    assert description.parent_id == parent_id, "a Temporal child workflow of the parent"
    done = await stack.wait_final(parent_id)
    assert done["status"] == "COMPLETED"
    assert done["output"] == {"ok": True, "child": child["id"], "status": "COMPLETED"}
    child_run = await stack.retrieve(child["id"])
    assert child_run["relatedRuns"]["parent"]["id"] == parent_id
    assert child_run["relatedRuns"]["root"]["id"] == parent_id
    history = await stack.client.get_workflow_handle(parent_id).fetch_history()
    started = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]
    assert [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id for e in started
    ] == [child["id"]]


async def test_parent_waits_greets_twenty_names_in_order(stack: Stack) -> None:
    names = [f"n{i:02d}" for i in range(20)]
    run = await stack.wait_final(await stack.trigger("parent-waits", {"names": names}), timeout=60)
    assert run["status"] == "COMPLETED"
    assert run["output"] == {"messages": [f"Hello, {n}!" for n in names]}
    children = run["relatedRuns"]["children"]
    assert len(children) == 20 and {c["triggerFunction"] for c in children} == {
        "batchTriggerAndWait"
    }


async def test_pipeline_runs_a_child_waits_then_runs_another(stack: Stack) -> None:
    run = await stack.wait_final(await stack.trigger("pipeline", {"name": "P", "seconds": 0.2}))
    assert run["output"] == {"greeting": "Hello, P!", "nap": {"slept": 0.2}}
    assert len(run["relatedRuns"]["children"]) == 2


async def test_a_failed_child_is_a_result_not_an_exception(stack: Stack) -> None:
    run = await stack.wait_final(await stack.trigger("parent-child-fails", {}))
    assert run["status"] == "COMPLETED"
    assert run["output"] == {"child_ok": False, "error": "boom"}


async def test_the_by_id_batch_form_mixes_tasks(stack: Stack) -> None:
    run = await stack.wait_final(await stack.trigger("fans-out-by-id", {}))
    assert run["output"] == [{"message": "Hello, one!"}, {"attempts": 1}]


async def test_canceling_a_waiting_parent_cancels_its_child(stack: Stack) -> None:
    parent_id = await stack.trigger("waits-for-a-sleepy-child", {"child": {"seconds": 30}})
    waiting = await stack.wait_status(parent_id, "WAITING")
    [child] = waiting["relatedRuns"]["children"]
    await stack.wait_status(child["id"], "EXECUTING")
    await stack.http.post(f"/api/v2/runs/{parent_id}/cancel")
    assert (await stack.wait_status(parent_id, "CANCELED", timeout=5))["isCancelled"]
    assert (await stack.wait_status(child["id"], "CANCELED", timeout=5))["isCancelled"]


async def test_a_canceled_child_gives_the_parent_a_failed_result(stack: Stack) -> None:
    parent_id = await stack.trigger("waits-for-a-sleepy-child", {"child": {"seconds": 30}})
    [child] = (await stack.wait_status(parent_id, "WAITING"))["relatedRuns"]["children"]
    await stack.http.post(f"/api/v2/runs/{child['id']}/cancel")
    parent = await stack.wait_final(parent_id)
    assert parent["output"] == {"ok": False, "child": child["id"], "status": "CANCELED"}


async def test_a_child_of_an_undeployed_task_leaves_the_parent_waiting_and_cancel_works(
    stack: Stack,
) -> None:
    parent_id = await stack.trigger(
        "waits-for-a-sleepy-child", {"task": "not-deployed", "child": {}}
    )
    waiting = await stack.wait_status(parent_id, "WAITING")
    [child] = waiting["relatedRuns"]["children"]
    assert child["status"] in ("QUEUED", "PENDING_VERSION")
    assert child["taskIdentifier"] == "not-deployed"
    assert (await stack.wait_status(child["id"], "PENDING_VERSION"))["isQueued"]
    await stack.http.post(f"/api/v2/runs/{parent_id}/cancel")
    await stack.wait_status(parent_id, "CANCELED")
    await stack.wait_status(child["id"], "CANCELED")


async def test_time_spent_waiting_does_not_count_towards_max_duration(stack: Stack) -> None:
    run = await stack.wait_final(await stack.trigger("waits-past-max-duration", {}))
    assert run["status"] == "COMPLETED" and run["output"] == "finished"


async def test_wait_until_is_waiting_then_continues(stack: Stack) -> None:
    run_id = await stack.trigger("waits-until", {"seconds": 1.5})  # suspends: above 0.5 s
    assert (await stack.wait_status(run_id, "WAITING"))["isWaiting"]
    history = await stack.client.get_workflow_handle(run_id).fetch_history()
    assert any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events)
    assert (await stack.wait_final(run_id))["output"] == "woke"


async def test_children_can_be_found_by_their_parent(stack: Stack) -> None:
    parent_id = await stack.trigger("parent-waits", {"names": ["a", "b", "c"]})
    await stack.wait_final(parent_id)
    children = await eventually(
        lambda: stack.run_ids_where(f"TriggerParentRunId = '{parent_id}'"),
        lambda ids: len(ids) == 3,
    )
    assert len(children) == 3


@pytest.mark.parametrize(
    "call",
    [
        lambda: wait.for_(seconds=1),
        lambda: tasks.trigger_and_wait("hello-world", {}),
        lambda: tasks.batch_trigger_and_wait([]),
    ],
    ids=["wait.for_", "trigger_and_wait", "batch_trigger_and_wait"],
)
async def test_wait_helpers_outside_a_task_say_so(call: Any) -> None:
    with pytest.raises(OutsideTaskError, match="can only be used from inside a task"):
        await call()
