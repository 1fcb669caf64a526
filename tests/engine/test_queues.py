"""Queues: concurrency limits that hold across worker processes, per concurrency key,
FIFO with priority, slots given back while WAITING and reclaimed from dead runs."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime
from typing import Any

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns.task_definitions import TaskRegistry
from tests.helpers import Stack, eventually, open_stack, stop_process, worker_process
from tests.helpers.processes import busiest_worker_pid

QUEUE_TASKS = TaskRegistry.from_modules(["tests.helpers.tasks.queue_tasks", "activities.limited"])


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _max_overlap(runs: list[dict[str, Any]]) -> int:
    """The most runs whose (only) attempts were executing at the same instant."""
    edges = []
    for run in runs:
        for attempt in run["attempts"]:
            edges += [(_iso(attempt["startedAt"]), 1), (_iso(attempt["completedAt"]), -1)]
    current = peak = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        current += step
        peak = max(peak, current)
    return peak


async def _all_final(stack: Stack, run_ids: list[str], timeout: float = 60) -> list[dict[str, Any]]:
    return [await stack.wait_final(run_id, timeout=timeout) for run_id in run_ids]


async def test_a_limit_of_two_holds_across_two_worker_processes(
    client: Client, temporal_env: WorkflowEnvironment
) -> None:
    async with open_stack(client, QUEUE_TASKS, with_worker=False) as stack:
        prefix = stack.settings.task_queue_prefix
        workers = [worker_process(temporal_env, prefix, ["activities.limited"]) for _ in range(2)]
        try:
            await eventually(stack.service_catalog, lambda c: bool(c.versions), timeout=30)
            # The first two hold the two slots long enough to be seen holding them on a
            # loaded machine (reading 20 runs can take seconds); the rest are short.
            naps = [6.0, 6.0] + [0.4] * 18
            run_ids = [await stack.trigger("limited", {"seconds": s}) for s in naps]
            queued = await eventually(
                lambda: asyncio.gather(*(stack.retrieve(r) for r in run_ids)),
                lambda rs: sum(r["status"] == "EXECUTING" for r in rs) == 2,
            )
            others = {r["status"] for r in queued} - {"EXECUTING", "COMPLETED"}
            assert others <= {"QUEUED", "DEQUEUED"} and "QUEUED" in others
            runs = await _all_final(stack, run_ids)
        finally:
            for process in workers:
                stop_process(process)
    assert {r["status"] for r in runs} == {"COMPLETED"}
    assert _max_overlap(runs) == 2


async def test_each_concurrency_key_gets_its_own_limit(stack: Stack) -> None:
    run_ids = [
        await stack.trigger("limited", {"seconds": 0.5}, concurrencyKey=tenant)
        for tenant in ("acme", "globex")
        for _ in range(4)
    ]
    runs = await _all_final(stack, run_ids)
    assert _max_overlap(runs[:4]) <= 2 and _max_overlap(runs[4:]) <= 2
    assert _max_overlap(runs) > 2, "two tenants run side by side"


async def test_a_waiting_parent_gives_its_slot_to_its_child(stack: Stack) -> None:
    run = await stack.wait_final(await stack.trigger("solo-parent", {}), timeout=30)
    assert run["status"] == "COMPLETED" and run["output"] == "child done"


async def test_runs_start_in_trigger_order_and_priority_jumps_the_line(stack: Stack) -> None:
    blocker = await stack.trigger("one-at-a-time", {"seconds": 1, "label": "blocker"})
    await stack.wait_status(blocker, "EXECUTING")
    ordered = [await stack.trigger("one-at-a-time", {"label": f"r{i}"}) for i in range(3)]
    urgent = await stack.trigger("one-at-a-time", {"label": "urgent"}, priority=60)
    runs = await _all_final(stack, [blocker, *ordered, urgent])
    by_start = sorted(runs, key=lambda r: r["startedAt"])
    assert [r["output"] for r in by_start] == ["blocker", "urgent", "r0", "r1", "r2"]


async def test_the_limit_changes_at_runtime_through_the_api(stack: Stack) -> None:
    path = "/api/v1/queues/one-at-a-time/concurrency-limit"
    raised = await stack.http.put(path, json={"concurrencyLimit": 3})
    assert raised.status_code == 200, raised.text
    assert raised.json()["concurrencyLimit"] == 3
    run_ids = [await stack.trigger("one-at-a-time", {"seconds": 0.6}) for _ in range(6)]
    runs = await _all_final(stack, run_ids)
    assert _max_overlap(runs) == 3
    state = (await stack.http.get("/api/v1/queues/one-at-a-time/state")).json()
    assert state == {"name": "one-at-a-time", "concurrencyLimit": 3, "running": 0, "queued": 0}
    await stack.http.put(path, json={"concurrencyLimit": 1})


async def test_bad_limit_updates_are_refused(stack: Stack) -> None:
    zero = await stack.http.put(
        "/api/v1/queues/limited/concurrency-limit", json={"concurrencyLimit": 0}
    )
    unknown = await stack.http.put(
        "/api/v1/queues/nope/concurrency-limit", json={"concurrencyLimit": 2}
    )
    assert zero.status_code == 422 and zero.json()["error"].startswith("concurrencyLimit: ")
    assert unknown.status_code == 404 and unknown.json() == {"error": "queue: unknown queue 'nope'"}


async def test_a_slot_held_by_a_terminated_run_is_reclaimed(stack: Stack) -> None:
    holder = await stack.trigger("one-at-a-time", {"seconds": 60, "label": "holder"})
    await stack.wait_status(holder, "EXECUTING")
    waiting = await stack.trigger("one-at-a-time", {"label": "next"})
    assert (await stack.retrieve(waiting))["status"] == "QUEUED"
    await stack.client.get_workflow_handle(holder).terminate("from the Temporal UI")
    done = await stack.wait_final(waiting, timeout=20)
    assert done["output"] == "next"


async def test_a_killed_worker_loses_no_run_and_none_completes_twice(
    client: Client, temporal_env: WorkflowEnvironment
) -> None:
    """A worker that disappears is not a crash of the task: its attempts time out on
    their heartbeat and run again on the other worker."""
    async with open_stack(client, QUEUE_TASKS, with_worker=False) as stack:
        prefix = stack.settings.task_queue_prefix
        workers = [worker_process(temporal_env, prefix, ["activities.sleepy"]) for _ in range(2)]
        try:
            await eventually(stack.service_catalog, lambda c: bool(c.versions), timeout=30)
            # Long enough that all ten are seen executing at once on a loaded machine.
            run_ids = [await stack.trigger("sleepy", {"seconds": 8}) for _ in range(10)]
            await eventually(
                lambda: asyncio.gather(*(stack.retrieve(r) for r in run_ids)),
                lambda rs: all(r["status"] == "EXECUTING" for r in rs),
                timeout=60,
            )
            # Kill the worker running the most attempts (Temporal names it on each pending
            # activity): on a loaded machine one worker may have taken all ten.
            busiest = await busiest_worker_pid(client, run_ids)
            victim = next(w for w in workers if w.pid == busiest)
            stop_process(victim, signal.SIGKILL)
            runs = await _all_final(stack, run_ids, timeout=90)
        finally:
            for process in workers:
                stop_process(process)
    assert [r["status"] for r in runs] == ["COMPLETED"] * 10
    for run in runs:
        statuses = [a["status"] for a in run["attempts"]]
        assert statuses.count("COMPLETED") == 1, statuses
        assert set(statuses) <= {"COMPLETED", "FAILED"}
    lost = [r for r in runs if r["attemptCount"] == 2]
    assert lost, "the killed worker was running some of them"
    assert {r["attempts"][0]["error"]["name"] for r in lost} == {"WorkerLost"}


async def test_a_concurrency_key_too_long_for_a_workflow_id_still_gets_its_queue(
    stack: Stack,
) -> None:
    key = "k" * 1024
    run = await stack.wait_final(await stack.trigger("limited", {"seconds": 0}, concurrencyKey=key))
    assert run["status"] == "COMPLETED"
