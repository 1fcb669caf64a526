"""Executions offered on the runs queue (``RunWorkflow._offered_outcome``): Temporal hands
them to the worker completing the run's workflow task in the same round trip (eager
activity dispatch). A worker that cannot run one — another version, or an earlier
release without the attempt activity on its runs worker — refuses it, and the execution
runs on the task's own queue as before: one attempt, nothing lost, the timeline shows one
execution."""

from __future__ import annotations

import contextlib

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from durableruns.engine.names import ATTEMPT_ACTIVITY, runs_queue, task_queue
from durableruns.engine.workflows.catalog import CatalogWorkflow
from durableruns.engine.workflows.run import RunWorkflow
from durableruns.service.catalog import register_deployment
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import WORKFLOW_RUNNER, build_workers
from durableruns.worker.queue_activities import enqueue
from tests.helpers import STACK_MODULES, Stack, open_stack

E = EventType
REGISTRY = TaskRegistry.from_modules(STACK_MODULES)
SERVING = "20261205.1"
"""The version whose task workers serve the runs."""


def scheduled_queues(events: list[object]) -> list[str]:
    """The task queue of each attempt execution scheduled, in order."""
    return [
        attrs.task_queue.name
        for event in events
        if event.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED  # type: ignore[attr-defined]
        and (attrs := event.activity_task_scheduled_event_attributes).activity_type.name  # type: ignore[attr-defined]
        == ATTEMPT_ACTIVITY
    ]


async def test_an_execution_runs_from_the_runs_queue_where_its_worker_serves_it(
    stack: Stack,
) -> None:
    run_id = await stack.trigger("hello-world", {"name": "offered"})
    run = await stack.wait_final(run_id)
    history = await stack.client.get_workflow_handle(run_id).fetch_history()
    assert run["status"] == "COMPLETED" and run["attemptCount"] == 1
    assert scheduled_queues(list(history.events)) == [runs_queue(stack.settings.task_queue_prefix)]


async def _refused_then_run(stack: Stack, runs_worker: Worker) -> None:
    prefix = stack.settings.task_queue_prefix
    serving = build_workers(stack.client, REGISTRY, task_queue_prefix=prefix, version=SERVING)
    async with runs_worker, contextlib.AsyncExitStack() as workers:
        for worker in serving[1:]:  # its task workers only
            await workers.enter_async_context(worker)
        await register_deployment(stack.client, REGISTRY, task_queue_prefix=prefix, version=SERVING)
        run_id = await stack.trigger("hello-world", {"name": "elsewhere"})
        run = await stack.wait_final(run_id)
        history = await stack.client.get_workflow_handle(run_id).fetch_history()
        timeline = (await stack.http.get(f"/api/v1/runs/{run_id}/timeline")).json()
    events = list(history.events)
    assert run["status"] == "COMPLETED", run
    assert run["attemptCount"] == 1 and run["version"] == SERVING
    assert scheduled_queues(events) == [
        runs_queue(prefix),
        task_queue(prefix, "hello-world", SERVING),
    ]
    failed = [e for e in events if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_FAILED]
    assert len(failed) == 1  # the refusal, not an attempt
    executions = [s for s in timeline["data"] if s.get("kind") == "execution"]
    assert len(executions) == 1, executions


async def another_client(client: Client) -> Client:
    """A second connection: a client holds one worker per task queue, and the runs
    worker under test polls the queue beside the serving version's (unused) one."""
    return await Client.connect(
        client.service_client.config.target_host,
        namespace=client.namespace,
        data_converter=client.data_converter,
    )


async def test_a_worker_of_another_version_refuses_an_offered_execution(client: Client) -> None:
    async with open_stack(client, REGISTRY, with_worker=False) as stack:
        other = build_workers(
            await another_client(client),
            REGISTRY,
            task_queue_prefix=stack.settings.task_queue_prefix,
            version="other.1",
        )
        await _refused_then_run(stack, other[0])


async def test_a_runs_worker_of_an_earlier_release_lets_it_go_to_the_task_queue(
    client: Client,
) -> None:
    async with open_stack(client, REGISTRY, with_worker=False) as stack:
        earlier = Worker(  # as before the offer: no attempt activity on the runs queue
            await another_client(client),
            task_queue=runs_queue(stack.settings.task_queue_prefix),
            workflows=[RunWorkflow, CatalogWorkflow],
            activities=[enqueue],
            workflow_runner=WORKFLOW_RUNNER,
        )
        await _refused_then_run(stack, earlier)
