"""Runs waiting on wait tokens hold nothing on their worker: a worker SIGKILLed while
they wait loses none of them, and 200 of them waiting at once hold no task process."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns import wait
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.isolation import DEFAULT_MAX_IDLE, IDLE_TRIM_S
from tests.helpers import Stack, eventually, open_stack, stop_process, worker_process

MODULES = ["tests.helpers.tasks.token_tasks", "workflows", "activities"]
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


def _memory_mib(pids: list[int]) -> tuple[float, float]:
    """RSS and PSS (shared pages counted once across the tree) of ``pids``, in MiB."""
    rss_kib = pss_kib = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Rss:"):
                rss_kib += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss_kib += int(line.split()[1])
    return rss_kib / 1024, pss_kib / 1024


async def _token_waits(stack: Stack, run_id: str) -> list[str]:
    run = await stack.retrieve(run_id)
    if run["status"] != "WAITING":
        return []
    return [w["tokenId"] for w in run.get("waits", []) if w["kind"] == "token"]


async def test_runs_waiting_on_tokens_survive_a_sigkilled_worker(
    client: Client, temporal_env: WorkflowEnvironment
) -> None:
    registry = TaskRegistry.from_modules(MODULES)
    async with open_stack(client, registry, with_worker=False) as stack:
        prefix = stack.settings.task_queue_prefix
        tokens = [await wait.create_token(timeout="5m") for _ in range(3)]
        first = worker_process(temporal_env, prefix, MODULES)
        try:
            run_ids = [await stack.trigger("waits-on-token", {"token_id": t.id}) for t in tokens]
            for run_id, token in zip(run_ids, tokens, strict=True):
                await eventually(
                    lambda r=run_id: _token_waits(stack, r),
                    lambda ids, t=token.id: ids == [t],
                    timeout=30,
                )
        finally:
            stop_process(first, signal.SIGKILL)
        second = worker_process(temporal_env, prefix, MODULES)
        try:
            for n, token in enumerate(tokens):
                await wait.complete_token(token, {"n": n})
            done = [await stack.wait_final(run_id, timeout=60) for run_id in run_ids]
        finally:
            stop_process(second)
    for n, run in enumerate(done):
        assert run["status"] == "COMPLETED", run
        assert run["attemptCount"] == 1 and run["output"]["attempt"] == 1
        assert run["output"]["ok"] is True and run["output"]["output"] == {"n": n}


@pytest.mark.timeout(300)  # ~70 s idle; 200 runs and their tokens, more when loaded
async def test_two_hundred_runs_waiting_on_tokens_hold_no_task_process(
    client: Client, temporal_env: WorkflowEnvironment
) -> None:
    registry = TaskRegistry.from_modules(MODULES)
    async with open_stack(client, registry, with_worker=False) as stack:
        worker = worker_process(temporal_env, stack.settings.task_queue_prefix, MODULES)
        try:
            warmup = await stack.trigger("hello-world", {"name": "warm"})
            assert (await stack.wait_final(warmup, timeout=60))["status"] == "COMPLETED"
            idle_tree = _tree(worker.pid)
            idle = (len(idle_tree), *_memory_mib(idle_tree))
            gate = asyncio.Semaphore(20)

            async def trigger(_: int) -> str:
                async with gate:
                    return await stack.trigger("wait-for-approval", {"timeout": "10m"})

            run_ids = await asyncio.gather(*(trigger(i) for i in range(MANY)))

            async def all_waiting() -> list[str]:
                async with asyncio.TaskGroup() as group:
                    waits = [group.create_task(_token_waits(stack, r)) for r in run_ids]
                return [w.result()[0] for w in waits if w.result()]

            async def metadata_token_ids() -> list[str | None]:
                async def token_id(run_id: str) -> str | None:
                    async with gate:
                        run = await stack.retrieve(run_id)
                    return (run.get("metadata") or {}).get("tokenId")  # type: ignore[no-any-return]

                return list(await asyncio.gather(*(token_id(r) for r in run_ids)))

            token_ids = await eventually(all_waiting, lambda ids: len(ids) == MANY, timeout=240)
            # Metadata set just before the wait reached the run (none lost as the
            # execution ended: a heartbeat's canceled flush once dropped it).
            assert await metadata_token_ids() == token_ids
            waiting_tree = _tree(worker.pid)
            waiting = (len(waiting_tree), *_memory_mib(waiting_tree))
            print(
                f"\nworker tree idle: {idle[0]} processes, {idle[1]:.0f} MiB RSS "
                f"({idle[2]:.0f} MiB PSS); with {MANY} runs WAITING on tokens: "
                f"{waiting[0]} processes, {waiting[1]:.0f} MiB RSS ({waiting[2]:.0f} MiB PSS)"
            )
            # The pool keeps at most 16 idle processes after the burst (plus the worker, its
            # fork server and resource tracker): none is held by a waiting run (200 of them),
            # and once the pool trims its idle ones the tree is back to its idle size.
            assert waiting[0] <= 3 + DEFAULT_MAX_IDLE
            trimmed = await eventually(
                lambda: _count(worker.pid), lambda n: n <= idle[0], timeout=IDLE_TRIM_S + 20
            )
            print(f"after the pool's idle trim, with {MANY} runs still WAITING: {trimmed}")
            pending = await _pending_attempts(client, run_ids)
            assert pending == 0, f"{pending} waiting runs still have an attempt running"

            async def approve(token_id: str) -> None:
                async with gate:
                    await wait.complete_token(token_id, {"approved": True})

            await asyncio.gather(*(approve(t) for t in token_ids))
            for run_id in run_ids:
                run = await stack.wait_final(run_id, timeout=120)
                assert run["status"] == "COMPLETED" and run["output"] == {"approved": True}
                assert run["attemptCount"] == 1
        finally:
            stop_process(worker)


async def _pending_attempts(client: Client, run_ids: list[str]) -> int:
    """How many of the runs' workflows have an attempt activity scheduled or running."""

    async def pending(run_id: str) -> int:
        description = await client.get_workflow_handle(run_id).describe()
        activities: Any = description.raw_description.pending_activities
        return sum(1 for a in activities if a.activity_type.name == "durableruns.attempt")

    counts = await asyncio.gather(*(pending(r) for r in run_ids))
    return sum(counts)


async def _count(pid: int) -> int:
    return len(_tree(pid))
