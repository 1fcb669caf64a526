"""A run's workflow closes with the Temporal status that matches the run's: Completed,
Failed (with the run's status and error in the message) or Canceled — and retrieve
still gives the exact Trigger status, with no worker needed."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowExecutionStatus

from durableruns.task_definitions import TaskRegistry
from tests.helpers import Stack, open_stack

CASES = [
    ("hello-world", {"name": "x"}, {}, "COMPLETED", WorkflowExecutionStatus.COMPLETED),
    ("always-fails", {}, {}, "FAILED", WorkflowExecutionStatus.FAILED),
    ("too-slow", {}, {}, "TIMED_OUT", WorkflowExecutionStatus.FAILED),
    ("crash-me", {}, {}, "CRASHED", WorkflowExecutionStatus.FAILED),
    ("no-worker-serves-this", {}, {"ttl": "1s"}, "EXPIRED", WorkflowExecutionStatus.FAILED),
]


@pytest.mark.parametrize(
    ("task_id", "payload", "options", "status", "closed"), CASES, ids=[c[3] for c in CASES]
)
async def test_the_workflow_closes_as_the_run_ended(
    stack: Stack,
    task_id: str,
    payload: dict[str, object],
    options: dict[str, object],
    status: str,
    closed: WorkflowExecutionStatus,
) -> None:
    run = await stack.wait_final(await stack.trigger(task_id, payload, **options), timeout=40)
    assert run["status"] == status
    description = await stack.client.get_workflow_handle(run["id"]).describe()
    assert description.status is closed
    if closed is WorkflowExecutionStatus.FAILED:
        history = await stack.client.get_workflow_handle(run["id"]).fetch_history()
        failure = history.events[-1].workflow_execution_failed_event_attributes.failure
        assert failure.message.startswith(f"Run {status}: {run['error']['name']}")


async def test_a_canceled_run_closes_canceled_and_keeps_its_record(either_stack: Stack) -> None:
    stack = either_stack
    run_id = await stack.trigger("sleepy", {"seconds": 30})
    await stack.wait_status(run_id, "EXECUTING")
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")
    run = await stack.wait_final(run_id)
    assert run["status"] == "CANCELED" and run["attempts"][0]["status"] == "CANCELED"
    description = await stack.client.get_workflow_handle(run_id).describe()
    assert description.status is WorkflowExecutionStatus.CANCELED


async def test_failed_and_canceled_runs_are_retrieved_with_no_worker_running(
    stack: Stack,
) -> None:
    registry = TaskRegistry.from_modules(["activities"])
    async with open_stack(stack.client, registry) as served:
        failed = await served.wait_final(await served.trigger("always-fails", {}))
        canceled_id = await served.trigger("sleepy", {"seconds": 30})
        await served.wait_status(canceled_id, "EXECUTING")
        await served.http.post(f"/api/v2/runs/{canceled_id}/cancel")
        canceled = await served.wait_final(canceled_id)
    async with open_stack(stack.client, TaskRegistry(), with_worker=False) as bare:
        again = await bare.retrieve(failed["id"])
        assert again["status"] == "FAILED" and again["attempts"] == failed["attempts"]
        assert again["error"] == failed["error"]
        assert (await bare.retrieve(canceled_id))["attempts"] == canceled["attempts"]
