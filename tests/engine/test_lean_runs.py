"""Runs whose workers do not announce attempt starts (``announce_attempts`` off): a no-op
run costs 3 Temporal Cloud actions and 12 history events, retrieve still reads it
EXECUTING from its pending attempt, and runs move between announcing and lean workers
mid-run (a run started on the old path finishes on the new one, and back)."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import AsyncIterator

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns.engine import search_attributes as sa
from durableruns.engine.workflows.run import CANCELED_OUTCOME_WAIT
from durableruns.service.run_changes import RunChanges
from durableruns.service.runs import RunService
from durableruns.status import RunStatus
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.helpers import (
    STACK_MODULES,
    Stack,
    eventually,
    open_stack,
    stop_process,
    worker_process,
)

E = EventType
REGISTRY = TaskRegistry.from_modules(STACK_MODULES)


def billable(events: list[object]) -> int:
    """Start, timers, upserts (not TemporalChangeVersion), signals, updates, activities."""
    count = 0
    for event in events:
        kind = event.event_type  # type: ignore[attr-defined]
        if kind == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = event.upsert_workflow_search_attributes_event_attributes  # type: ignore[attr-defined]
            count += bool(set(fields.search_attributes.indexed_fields) - {"TemporalChangeVersion"})
        elif kind in (
            E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            E.EVENT_TYPE_TIMER_STARTED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        ):
            count += 1
    return count


@contextlib.asynccontextmanager
async def worker(stack: Stack, *, announce: bool) -> AsyncIterator[None]:
    async with running_worker(
        stack.client,
        REGISTRY,
        task_queue_prefix=stack.settings.task_queue_prefix,
        version="20261128.1",
        short_wait_s=0.5,
        announce_attempts=announce,
        announce_after_s=0,  # the announcing path: every execution, before its code
    ):
        yield


@contextlib.asynccontextmanager
async def lean_stack(client: Client) -> AsyncIterator[Stack]:
    async with open_stack(client, REGISTRY, announce_attempts=False) as stack:
        yield stack


async def test_a_lean_no_op_run_costs_three_actions_and_twelve_events(client: Client) -> None:
    async with lean_stack(client) as stack:
        run_id = await stack.trigger("hello-world", {"name": "lean"})
        run = await stack.wait_final(run_id)
        history = await client.get_workflow_handle(run_id).fetch_history()
        description = await client.get_workflow_handle(run_id).describe()
    events = list(history.events)
    assert run["status"] == "COMPLETED" and run["startedAt"] and run["attempts"][0]["startedAt"]
    assert len(events) <= 12, [e.event_type for e in events]
    assert billable(events) <= 3
    assert not any(e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED for e in events)
    # The version the attempt ran is published with the final status.
    assert description.typed_search_attributes.get(sa.TRIGGER_VERSION) == "20261128.1"
    assert description.typed_search_attributes.get(sa.TRIGGER_STATUS) == "COMPLETED"


async def test_retrieve_reads_a_lean_run_executing_from_its_pending_attempt(
    client: Client,
) -> None:
    async with lean_stack(client) as stack:
        run_id = await stack.trigger("sleepy", {"seconds": 4})
        run = await stack.wait_status(run_id, "EXECUTING", timeout=30)
        assert run["attemptCount"] == 1 and run["attempts"][0]["startedAt"]
        assert run["startedAt"] == run["attempts"][0]["startedAt"]
        description = await client.get_workflow_handle(run_id).describe()
        # The list sees what the workflow published: no announce, no EXECUTING upsert.
        assert description.typed_search_attributes.get(sa.TRIGGER_STATUS) == "QUEUED"
        done = await stack.wait_final(run_id, timeout=30)
    assert done["status"] == "COMPLETED" and done["attempts"][0]["startedAt"]


async def _status(stack: Stack, run_id: str) -> str:
    return str((await stack.retrieve(run_id))["status"])


async def test_a_run_started_on_the_announcing_path_finishes_on_the_lean_one(
    client: Client,
) -> None:
    async with open_stack(client, REGISTRY, with_worker=False) as stack:
        async with worker(stack, announce=True):
            run_id = await stack.trigger("naps", {"seconds": 3})
            await eventually(lambda: _status(stack, run_id), lambda s: s == "WAITING", 30)
        async with worker(stack, announce=False):
            run = await stack.wait_final(run_id, timeout=60)
        history = await client.get_workflow_handle(run_id).fetch_history()
    assert run["status"] == "COMPLETED" and run["output"] == "rested"
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert signals == ["attempt_started"], "the first execution announced, the second not"
    assert run["attemptCount"] == 1 and run["attempts"][0]["continuations"] == 1


async def test_a_run_started_on_the_lean_path_finishes_on_the_announcing_one(
    client: Client,
) -> None:
    async with open_stack(client, REGISTRY, with_worker=False) as stack:
        async with worker(stack, announce=False):
            run_id = await stack.trigger("naps", {"seconds": 3})
            await eventually(lambda: _status(stack, run_id), lambda s: s == "WAITING", 30)
        async with worker(stack, announce=True):
            run = await stack.wait_final(run_id, timeout=60)
    assert run["status"] == "COMPLETED" and run["output"] == "rested"
    assert run["attemptCount"] == 1 and run["attempts"][0]["startedAt"]


async def test_a_watched_lean_run_turns_executing_in_its_realtime_feed(client: Client) -> None:
    """No history event marks a lean attempt's start: the feed re-reads the run from the
    moment the attempt is scheduled until it shows started."""
    async with lean_stack(client) as stack:
        changes = RunChanges(RunService(client, task_queue_prefix=stack.settings.task_queue_prefix))
        run_id = await stack.trigger("sleepy", {"seconds": 3})
        async with changes.watch(run_id) as feed:
            executing = await feed.wait_for(lambda r: r.status is RunStatus.EXECUTING, 20)
            assert executing is not None and executing.attempts[0].started_at is not None
            done = await feed.wait_for(lambda r: r.status is RunStatus.COMPLETED, 30)
        assert done is not None
        description = await client.get_workflow_handle(run_id).describe()
        signals = [
            e
            for e in (await client.get_workflow_handle(run_id).fetch_history()).events
            if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        ]
    assert not signals, "the feed saw the start without an announce"
    assert description.typed_search_attributes.get(sa.TRIGGER_STATUS) == "COMPLETED"


async def test_a_lean_run_canceled_with_its_worker_gone_closes_within_the_bounded_wait(
    client: Client, temporal_env: WorkflowEnvironment
) -> None:
    """A canceled run waits for the outcome of an execution whose start it does not
    know, but a SIGKILLed worker never answers: the run closes CANCELED after the
    bounded wait (not the 50 s heartbeat timeout). A run no worker ever picked up is
    canceled at once (the server cancels an execution that never started)."""
    modules = ["tests.helpers.tasks.worker_gone_tasks"]
    registry = TaskRegistry.from_modules(modules)
    async with open_stack(client, registry, with_worker=False) as stack:
        prefix = stack.settings.task_queue_prefix
        lean = {"DURABLERUNS_ANNOUNCE_ATTEMPTS": "false"}
        process = worker_process(temporal_env, prefix, modules, env=lean)
        resources = contextlib.AsyncExitStack()
        try:
            await eventually(stack.service_catalog, lambda c: bool(c.versions), timeout=30)
            running = await stack.trigger("marks-then-runs", {})
            await stack.wait_status(running, "EXECUTING", timeout=60)
            stop_process(process, signal.SIGKILL)
            # Workflows only (this worker has not the task): the run's side goes on.
            await resources.enter_async_context(worker(stack, announce=True))
            clock = time.monotonic()
            await stack.http.post(f"/api/v2/runs/{running}/cancel")
            run = await stack.wait_final(running, timeout=30)
            took = time.monotonic() - clock
            assert run["status"] == "CANCELED"
            assert took < CANCELED_OUTCOME_WAIT.total_seconds() + 10, took
            queued = await stack.trigger("marks-then-runs", {})
            await stack.wait_status(queued, "QUEUED", timeout=30)
            clock = time.monotonic()
            await stack.http.post(f"/api/v2/runs/{queued}/cancel")
            run = await stack.wait_final(queued, timeout=30)
            assert run["status"] == "CANCELED" and run["attempts"] == []
            assert time.monotonic() - clock < CANCELED_OUTCOME_WAIT.total_seconds(), "no wait"
        finally:
            await resources.aclose()
            stop_process(process)
