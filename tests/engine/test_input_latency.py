"""Benchmark: a value sent to an input stream → the task's code holding it, p50/p95, for
a run suspended in ``wait`` (the send resumes it: a new execution in a task process) and
for one listening with ``on`` (the execution polls the run). Printed with ``-s``:

    .venv/bin/pytest tests/engine/test_input_latency.py -s -p no:cacheprovider
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from durableruns.task_definitions import TaskRegistry
from tests.helpers import EXAMPLE_MODULES, Stack, eventually, open_stack
from tests.helpers.tasks.input_tasks import bench

MODULES = [*EXAMPLE_MODULES, "tests.helpers.tasks.input_tasks"]
COUNT = 20


@pytest.fixture(scope="module")
async def bench_stack(client: Client) -> AsyncIterator[Stack]:
    async with open_stack(client, TaskRegistry.from_modules(MODULES)) as opened:
        yield opened


def _report(label: str, pairs: list[list[float]]) -> tuple[float, float]:
    latencies = sorted((held - sent) * 1000 for sent, held in pairs)
    p50 = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[0]
    print(
        f"\n{label}: send → code holds it, {len(latencies)} values: "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (load average {load})"
    )
    return p50, p95


@pytest.mark.timeout(300)
async def test_latency_of_a_value_to_a_run_suspended_in_wait(bench_stack: Stack) -> None:
    run_id = await bench_stack.trigger("input-latency-wait", {"count": COUNT})
    for position in range(0, 2 * COUNT, 2):  # wait, step, wait, step …
        await eventually(
            lambda: bench_stack.retrieve(run_id),
            lambda r, p=position: (
                r["status"] == "WAITING"
                and any(w["kind"] == "input" and w["position"] == p for w in r["waits"])
            ),
            timeout=60,
        )
        await bench.send(run_id, time.time())
    run = await bench_stack.wait_final(run_id, timeout=120)
    assert run["status"] == "COMPLETED", run
    _, p95 = _report("wait (suspended)", run["output"])
    assert p95 < 30_000


@pytest.mark.timeout(300)
async def test_latency_of_a_value_to_an_on_handler(bench_stack: Stack) -> None:
    run_id = await bench_stack.trigger("input-latency-on", {"count": COUNT})
    await bench_stack.wait_status(run_id, "EXECUTING", timeout=60)
    for _ in range(COUNT):
        await bench.send(run_id, time.time())
        await asyncio.sleep(0.3)
    run = await bench_stack.wait_final(run_id, timeout=120)
    assert run["status"] == "COMPLETED", run
    _, p95 = _report("on (listening)", run["output"])
    assert p95 < 30_000
