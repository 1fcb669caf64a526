"""Waits that hold nothing: a waiting run's attempt suspends (its execution ends, its
slot and process are free) and resumes by re-running the task's code, its earlier
calls answered from the run's journal; durable steps; the resume guard."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns.task_definitions import TaskRegistry
from tests.helpers import Stack, eventually, open_stack, stop_process, worker_process

MODULES = ["tests.helpers.tasks.suspension_tasks", "activities"]


@pytest.fixture(scope="module")
async def two_slots(client: Client) -> AsyncIterator[Stack]:
    """A worker that runs at most 2 executions of task code at once per task queue."""
    registry = TaskRegistry.from_modules(MODULES)
    async with open_stack(client, registry, short_wait_s=0.5, max_concurrent_attempts=2) as s:
        yield s


async def _statuses(stack: Stack, run_ids: list[str]) -> list[str]:
    return [(await stack.retrieve(run_id))["status"] for run_id in run_ids]


async def test_twenty_waiting_runs_on_two_slots_all_wait_at_once_and_complete(
    two_slots: Stack,
) -> None:
    run_ids = [await two_slots.trigger("naps", {"seconds": 3}) for _ in range(20)]
    await eventually(
        lambda: _statuses(two_slots, run_ids),
        lambda statuses: statuses == ["WAITING"] * 20,
        timeout=20,
    )
    for run_id in run_ids:
        run = await two_slots.wait_final(run_id, timeout=30)
        assert run["status"] == "COMPLETED" and run["output"] == "rested"
        assert run["attemptCount"] == 1


async def test_parents_and_children_of_one_task_beyond_the_slots_all_complete(
    two_slots: Stack,
) -> None:
    parents = [await two_slots.trigger("recursive", {"depth": 1}) for _ in range(6)]
    for parent_id in parents:
        run = await two_slots.wait_final(parent_id, timeout=60)
        assert run["status"] == "COMPLETED" and run["output"]["ok"] is True
        [child] = run["relatedRuns"]["children"]
        assert child["status"] == "COMPLETED"


async def test_a_step_runs_once_across_a_wait_while_code_outside_it_runs_again(
    two_slots: Stack, tmp_path: Path
) -> None:
    counter = tmp_path / "counts"
    run = await two_slots.wait_final(
        await two_slots.trigger("checkout", {"counter": str(counter), "amount": 7}), timeout=30
    )
    assert run["status"] == "COMPLETED", run
    assert run["output"] == {
        "charge": {"id": "ch_1", "amount": 7},
        "receipt": "receipt for ch_1",
        "attempt": 1,
    }
    lines = counter.read_text().split()
    assert lines.count("charge") == 1 and lines.count("receipt") == 1
    assert lines.count("outside") == 2, "the code outside steps re-ran once, on resume"
    assert run["attempts"][0]["status"] == "COMPLETED" and run["attemptCount"] == 1


async def test_a_changed_call_at_a_recorded_position_fails_with_a_clear_error(
    two_slots: Stack, tmp_path: Path
) -> None:
    run_id = await two_slots.trigger("changes-its-calls", {"marker": str(tmp_path / "m")})
    run = await two_slots.wait_final(run_id, timeout=30)
    assert run["status"] == "FAILED"
    error = run["error"]
    assert error["name"] == "ResumeMismatchError"
    assert "position 0" in error["message"]
    assert "step.run('first')" in error["message"] and "wait.for_" in error["message"]
    assert run["attemptCount"] == 1, "not retried: it would fail the same way"


async def test_a_short_timer_stays_in_its_process(two_slots: Stack, tmp_path: Path) -> None:
    counter = tmp_path / "ran"
    run_id = await two_slots.trigger("short-naps", {"counter": str(counter), "seconds": 0.2})
    run = await two_slots.wait_final(run_id)
    assert run["output"] == "short" and counter.read_text().split() == ["ran"]
    history = await two_slots.client.get_workflow_handle(run_id).fetch_history()
    scheduled = {
        e.activity_task_scheduled_event_attributes.activity_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }  # (with 2 slots, both held by the queue's poll, the runs worker refuses the offer)
    assert scheduled == {"attempt-1"}, "one execution: no suspension"


async def test_canceling_a_suspended_parent_cancels_it_at_once_and_its_child(
    two_slots: Stack,
) -> None:
    parent_id = await two_slots.trigger("recursive", {"depth": 2})
    waiting = await eventually(
        lambda: two_slots.retrieve(parent_id),
        lambda r: r["status"] == "WAITING" and r["relatedRuns"].get("children"),
    )
    [child] = waiting["relatedRuns"]["children"]
    loop = asyncio.get_running_loop()
    asked = loop.time()
    await two_slots.http.post(f"/api/v2/runs/{parent_id}/cancel")
    canceled = await two_slots.wait_status(parent_id, "CANCELED", timeout=5)
    assert loop.time() - asked < 2
    assert canceled["attempts"][0]["status"] == "CANCELED"
    assert (await two_slots.wait_status(child["id"], "CANCELED", timeout=5))["isCancelled"]


@pytest.mark.timeout(300)  # 200 children, one after the other: ~80 s idle, more when loaded
async def test_two_hundred_sequential_children_complete(stack_for_many: Stack) -> None:
    run_id = await stack_for_many.trigger("many-children", {"count": 200})
    run = await stack_for_many.wait_final(run_id, timeout=240)
    assert run["status"] == "COMPLETED" and run["output"] == 200
    assert run["attemptCount"] == 1
    history = await stack_for_many.client.get_workflow_handle(run_id).fetch_history()
    events = len(history.events)
    started = {
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    }
    assert len(started) == 200, "one child per call, none twice"
    print(f"200 sequential trigger_and_wait: {events} history events")
    assert events < 10_240, "below Temporal's history warning threshold"


@pytest.fixture
async def stack_for_many(client: Client) -> AsyncIterator[Stack]:
    async with open_stack(client, TaskRegistry.from_modules(MODULES)) as stack:
        yield stack


async def test_runs_waiting_when_their_worker_is_killed_complete_on_a_new_one(
    client: Client, temporal_env: WorkflowEnvironment
) -> None:
    """Suspended runs hold nothing on the worker: SIGKILL it, start another, and each
    run completes in its first attempt with its one child."""
    registry = TaskRegistry.from_modules(MODULES)
    async with open_stack(client, registry, with_worker=False) as stack:
        prefix = stack.settings.task_queue_prefix
        first = worker_process(temporal_env, prefix, MODULES)
        try:
            run_ids = [
                await stack.trigger("survives-worker-loss-suspended", {"wait": 4}) for _ in range(3)
            ]

            async def suspended_at_the_timer(run_id: str) -> bool:
                run = await stack.retrieve(run_id)
                return run["status"] == "WAITING" and any(
                    w["kind"] == "timer" for w in run.get("waits", [])
                )

            for run_id in run_ids:
                await eventually(lambda r=run_id: suspended_at_the_timer(r), bool, timeout=30)
        finally:
            stop_process(first, signal.SIGKILL)
        second = worker_process(temporal_env, prefix, MODULES)
        try:
            done = [await stack.wait_final(run_id, timeout=60) for run_id in run_ids]
        finally:
            stop_process(second)
    for run in done:
        assert run["status"] == "COMPLETED" and run["attemptCount"] == 1
        assert run["output"]["attempt"] == 1
        assert [c["id"] for c in run["relatedRuns"]["children"]] == [run["output"]["child"]]
