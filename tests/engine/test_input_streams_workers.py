"""Input streams with real worker processes: values reach the code in order and once
across a resume and a SIGKILLed worker (sent while no worker runs at all), and 200 runs
waiting on an input stream hold no task process."""

from __future__ import annotations

import asyncio
import signal
import tempfile
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns.task_definitions import TaskRegistry
from durableruns.worker.isolation import DEFAULT_MAX_IDLE
from tests.helpers import Stack, eventually, open_stack, stop_process, worker_process
from tests.helpers.tasks.input_tasks import messages

MODULES = ["tests.helpers.tasks.input_tasks", "workflows", "activities"]
MANY = 200


def _tree(root: int) -> list[int]:
    """``root`` and every process descended from it (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


async def _input_wait(stack: Stack, run_id: str) -> int | None:
    """The position of the input wait the run is suspended at, if it is."""
    run = await stack.retrieve(run_id)
    waits = [w for w in run.get("waits", []) if w["kind"] == "input"]
    return waits[0]["position"] if run["status"] == "WAITING" and waits else None


async def _pending_attempts(client: Client, run_ids: list[str]) -> int:
    async def pending(run_id: str) -> int:
        description = await client.get_workflow_handle(run_id).describe()
        activities: Any = description.raw_description.pending_activities
        return sum(1 for a in activities if a.activity_type.name == "durableruns.attempt")

    return sum(await asyncio.gather(*(pending(r) for r in run_ids)))


@pytest.mark.timeout(180)
async def test_each_value_once_in_order_across_a_resume_and_a_sigkilled_worker(
    client: Client, temporal_env: WorkflowEnvironment
) -> None:
    registry = TaskRegistry.from_modules(MODULES)
    async with open_stack(client, registry, with_worker=False) as stack:
        prefix = stack.settings.task_queue_prefix
        first = worker_process(temporal_env, prefix, MODULES)
        try:
            marker = Path(tempfile.mkdtemp()) / "slow-step-started"
            run_id = await stack.trigger("input-mixed", {"slow_s": 5, "marker": str(marker)})
            await messages.send(run_id, "a")  # once(), in the process
            await eventually(lambda: _input_wait(stack, run_id), lambda p: p == 1, timeout=60)
            await messages.send(run_id, "b")  # resumes the run: the slow step runs
            await eventually(lambda: asyncio.sleep(0, marker.exists()), bool, timeout=60)
        finally:
            stop_process(first, signal.SIGKILL)
        await messages.send(run_id, "c")  # no worker at all: kept by the run
        await messages.send(run_id, "d")
        second = worker_process(temporal_env, prefix, MODULES)
        try:
            run = await stack.wait_final(run_id, timeout=120)
        finally:
            stop_process(second)
    assert run["status"] == "COMPLETED", run
    assert run["output"]["values"] == ["a", "b", "c", "d"]
    print(f"\nafter the SIGKILL the run went on as attempt {run['output']['attempt']}")


@pytest.mark.timeout(420)
async def test_two_hundred_runs_waiting_on_an_input_stream_hold_no_task_process(
    client: Client, temporal_env: WorkflowEnvironment
) -> None:
    registry = TaskRegistry.from_modules(MODULES)
    async with open_stack(client, registry, with_worker=False) as stack:
        worker = worker_process(temporal_env, stack.settings.task_queue_prefix, MODULES)
        try:
            warmup = await stack.trigger("hello-world", {"name": "warm"})
            assert (await stack.wait_final(warmup, timeout=60))["status"] == "COMPLETED"
            idle = len(_tree(worker.pid))
            gate = asyncio.Semaphore(20)

            async def trigger(_: int) -> str:
                async with gate:
                    return await stack.trigger("input-wait", {"timeout": "10m"})

            run_ids = await asyncio.gather(*(trigger(i) for i in range(MANY)))

            async def waiting() -> int:
                async def one(run_id: str) -> bool:
                    async with gate:
                        return await _input_wait(stack, run_id) == 0

                return sum(await asyncio.gather(*(one(r) for r in run_ids)))

            await eventually(waiting, lambda n: n == MANY, timeout=300)
            processes = len(_tree(worker.pid))
            print(f"\nworker tree idle: {idle} processes; {MANY} runs WAITING: {processes}")
            assert processes <= 3 + DEFAULT_MAX_IDLE
            assert await _pending_attempts(client, run_ids) == 0

            async def send(n: int, run_id: str) -> None:
                async with gate:
                    await messages.send(run_id, n)

            await asyncio.gather(*(send(n, r) for n, r in enumerate(run_ids)))
            for n, run_id in enumerate(run_ids):
                run = await stack.wait_final(run_id, timeout=120)
                assert run["status"] == "COMPLETED" and run["output"]["output"] == n
        finally:
            stop_process(worker)
