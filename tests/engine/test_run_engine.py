"""The run workflow's behaviour on Temporal: attempts, final statuses, and what a user
can see of a run in Temporal itself."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from durableruns import AbortTaskRunError, TaskContext, task
from durableruns.engine import search_attributes as sa
from durableruns.task_definitions import TaskRegistry
from tests.helpers import Stack, eventually, open_stack


class Strict(BaseModel):
    count: int


@task(id="returns-unserializable", retry={"max_attempts": 3, "min_timeout_ms": 10})
async def returns_unserializable(payload: Any) -> Any:
    return {"when": object()}


@task(id="aborts", retry={"max_attempts": 3, "min_timeout_ms": 10})
async def aborts(payload: Any, ctx: TaskContext) -> None:
    raise AbortTaskRunError(f"giving up on attempt {ctx.attempt.number}")


@task(id="strict-payload", retry={"max_attempts": 3, "min_timeout_ms": 10})
async def strict_payload(payload: Strict) -> int:
    return payload.count


@task(id="knows-its-context")
def knows_its_context(payload: Any, ctx: TaskContext) -> dict[str, Any]:
    return {"run": ctx.run.id, "attempt": ctx.attempt.number, "task": ctx.task.id}


ENGINE_TASKS = TaskRegistry([returns_unserializable, aborts, strict_payload, knows_its_context])


async def test_an_output_that_cannot_be_serialized_is_a_system_failure(client: Client) -> None:
    async with open_stack(client, ENGINE_TASKS) as stack:
        run = await stack.wait_final(await stack.trigger("returns-unserializable", {}))
    assert run["status"] == "SYSTEM_FAILURE"
    assert run["attemptCount"] == 1, "not retried"
    assert run["error"]["name"] == "OutputSerializationError"


async def test_abort_task_run_error_fails_the_run_without_retrying(client: Client) -> None:
    async with open_stack(client, ENGINE_TASKS) as stack:
        run = await stack.wait_final(await stack.trigger("aborts", {}))
    assert run["status"] == "FAILED"
    assert run["attemptCount"] == 1
    assert run["error"] == {
        "message": "giving up on attempt 1",
        "name": "AbortTaskRunError",
        "stackTrace": run["error"]["stackTrace"],
    }


async def test_a_payload_that_does_not_fit_a_deployed_task_is_refused_at_trigger(
    client: Client,
) -> None:
    async with open_stack(client, ENGINE_TASKS) as stack:
        response = await stack.http.post(
            "/api/v1/tasks/strict-payload/trigger", json={"payload": {"count": "lots"}}
        )
        good = await stack.wait_final(await stack.trigger("strict-payload", {"count": 3}))
    assert response.status_code == 422
    assert response.json() == {"error": 'payload.count: expected an integer, got "lots"'}
    assert good["output"] == 3


async def test_a_sync_task_gets_its_context(client: Client) -> None:
    async with open_stack(client, ENGINE_TASKS) as stack:
        run_id = await stack.trigger("knows-its-context", None)
        run = await stack.wait_final(run_id)
    assert run["output"] == {"run": run_id, "attempt": 1, "task": "knows-its-context"}


async def test_max_attempts_given_at_trigger_overrides_the_task(stack: Stack) -> None:
    run = await stack.wait_final(await stack.trigger("flaky", {"fail_times": 3}, maxAttempts=2))
    assert run["status"] == "FAILED" and run["attemptCount"] == 2


async def test_each_attempt_is_one_activity_execution_in_the_run_workflow(stack: Stack) -> None:
    run_id = await stack.trigger("flaky", {"fail_times": 2})
    await stack.wait_final(run_id)
    history = await stack.client.get_workflow_handle(run_id).fetch_history()
    scheduled = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    fired = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
    assert len(scheduled) == 3
    assert len(fired) == 2, "one durable backoff timer between attempts"
    assert {e.activity_task_scheduled_event_attributes.activity_type.name for e in scheduled} == {
        "durableruns.attempt"
    }


async def test_status_and_task_are_search_attributes_temporal_can_filter_on(stack: Stack) -> None:
    run_id = await stack.trigger("always-fails", {})
    await stack.wait_final(run_id)
    description = await stack.client.get_workflow_handle(run_id).describe()
    assert description.typed_search_attributes.get(sa.TRIGGER_STATUS) == "FAILED"
    assert description.typed_search_attributes.get(sa.TRIGGER_TASK_ID) == "always-fails"
    query = (
        f"TriggerStatus = 'FAILED' AND TriggerTaskId = 'always-fails' AND WorkflowId = '{run_id}'"
    )

    async def found() -> list[str]:
        return [w.id async for w in stack.client.list_workflows(query)]

    assert await eventually(found, lambda ids: ids == [run_id]) == [run_id]


async def test_a_task_no_worker_serves_is_accepted_and_waits_pending_version(
    stack: Stack,
) -> None:
    run_id = await stack.trigger("nobody-serves-this", {"x": 1})
    run = await stack.wait_status(run_id, "PENDING_VERSION")
    assert run["isQueued"]
    assert run["payload"] == {"x": 1} and run["attemptCount"] == 0
    await stack.client.get_workflow_handle(run_id).terminate("test cleanup")


async def test_a_finished_run_is_retrievable_with_no_worker_running(client: Client) -> None:
    registry = TaskRegistry.from_modules(["activities"])
    async with open_stack(client, registry) as stack:
        run_id = await stack.trigger("hello-world", {"name": "Offline"})
        await stack.wait_final(run_id)
    async with open_stack(client, registry, with_worker=False) as offline:
        run = await offline.retrieve(run_id)
    assert run["status"] == "COMPLETED"
    assert run["output"] == {"message": "Hello, Offline!"}
    assert run["attemptCount"] == 1


async def test_a_queued_run_is_retrievable_with_no_worker_running(client: Client) -> None:
    async with open_stack(client, TaskRegistry(), with_worker=False) as stack:
        run_id = await stack.trigger("hello-world", {"name": "Nobody"})
        run = await stack.retrieve(run_id)
    assert run["status"] == "PENDING_VERSION", "nothing is deployed"
    assert run["payload"] == {"name": "Nobody"}
    await client.get_workflow_handle(run_id).terminate("test cleanup")
