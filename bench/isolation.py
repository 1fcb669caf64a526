"""What crash isolation costs: no-op runs with and without task processes.

Two parts, both in this process:

1. **Pool only** (no Temporal): one no-op attempt at a time through
   ``ProcessPool.process()`` + ``TaskProcess.run`` (a warm process: one round trip of
   pickled messages over a socket), against calling the same task function in-process;
   and a cold attempt (a pool that keeps no process, so each attempt forks one from the
   fork server and waits for it to be ready).
2. **End to end** on one in-memory dev server (the tests' flags): two workers serving
   the ``bench-noop`` task, one with isolation on and one off, each on its own task
   queues. Each round runs ``--runs`` no-op runs per side through ``--concurrency``
   closed-loop slots (trigger through the run service, await the run workflow's
   result), alternating which side goes first; then ``--idle-runs`` one at a time.
   Reported per round and side: runs/s, p50/p95 trigger→completed; and the ratios.

Run: ``.venv/bin/python bench/isolation.py [--runs 200] [--rounds 4] [--concurrency 8]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
import traceback
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns.context import AttemptInfo, RunInfo, TaskContext, TaskInfo
from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.engine.workflows.run import RunWorkflow
from durableruns.models import ChildRunResult, ChildRunSpec, RunOptions
from durableruns.process import exit_process
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary
from durableruns.service.runs import RunService
from durableruns.status import RunStatus
from durableruns.task_definitions import TaskRegistry, task
from durableruns.worker.assembly import running_worker
from durableruns.worker.isolation import ProcessPool, attempt_spec, task_modules
from durableruns.worker.task_executor import Completed

VERSION = "bench.1"
ISOLATED = "isolated"
IN_PROCESS = "in-process"


@task(id="bench-noop")
async def noop(payload: Any) -> dict[str, Any]:
    """Does nothing."""
    return {}


REGISTRY = TaskRegistry([noop])


class BenchError(Exception):
    """A run did not end as expected: the figures would be meaningless."""


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in [0, 100]."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- 1. the pool alone --------------------------------------------------------------------
class _NoRuntime:
    """A no-op task never calls its runtime."""

    async def trigger(self, task_id: str, payload: Any, options: RunOptions) -> tuple[str, bool]:
        raise BenchError("unexpected runtime call")

    async def wait_for_runs(
        self, items: list[ChildRunSpec], *, batch: bool
    ) -> list[ChildRunResult]:
        raise BenchError("unexpected runtime call")

    async def wait_until(self, until: datetime) -> None:
        raise BenchError("unexpected runtime call")

    def metadata_changed(self, metadata: dict[str, Any]) -> None:
        pass


def _context() -> TaskContext:
    now = datetime.now(UTC)
    return TaskContext(
        task=TaskInfo(id=noop.id),
        run=RunInfo(id="run_bench", created_at=now),
        attempt=AttemptInfo(id="attempt_bench", number=1, started_at=now),
        version=VERSION,
    )


async def _attempts_ms(pool: ProcessPool, n: int) -> list[float]:
    spec = attempt_spec(noop, {}, _context())
    runtime = _NoRuntime()
    times = []
    for _ in range(n):
        begin = time.perf_counter()
        async with pool.process() as process:
            outcome = await process.run(spec, runtime)
        times.append((time.perf_counter() - begin) * 1000)
        if not isinstance(outcome, Completed):
            raise BenchError(f"no-op attempt ended {outcome}")
    return times


async def pool_only(n: int) -> None:
    print(f"pool only: {n} sequential no-op attempts each", flush=True)
    in_process = []
    for _ in range(n):
        begin = time.perf_counter()
        await noop.fn({})
        in_process.append((time.perf_counter() - begin) * 1000)
    async with ProcessPool(preload=task_modules(REGISTRY)) as pool:
        await _attempts_ms(pool, 20)  # warm-up
        warm = await _attempts_ms(pool, n)
    async with ProcessPool(preload=task_modules(REGISTRY), warm=0, max_idle=0) as pool:
        cold = await _attempts_ms(pool, max(10, n // 20))
    for name, values in (("in-process call", in_process), ("warm process", warm), ("cold", cold)):
        print(
            f"  {name:<16} p50 {percentile(values, 50):8.3f} ms  "
            f"p95 {percentile(values, 95):8.3f} ms  mean {statistics.fmean(values):8.3f} ms",
            flush=True,
        )


# --- 2. end to end -----------------------------------------------------------------------
@dataclass(frozen=True)
class Side:
    name: str
    service: RunService
    client: Client

    async def run_one(self, i: int) -> float:
        """Trigger a no-op run and await its end; the trigger→completed milliseconds."""
        begin = time.perf_counter()
        triggered = await self.service.trigger(noop.id, {"i": i}, RunOptions())
        handle = self.client.get_workflow_handle_for(RunWorkflow.run, triggered.run_id)
        record = await handle.result()
        if record.status is not RunStatus.COMPLETED:
            raise BenchError(f"{self.name} run {triggered.run_id} ended {record.status}")
        return (time.perf_counter() - begin) * 1000


@contextlib.asynccontextmanager
async def side(client: Client, name: str) -> AsyncIterator[Side]:
    prefix = f"bench-{name}-{uuid.uuid4().hex[:6]}"
    async with running_worker(
        client, REGISTRY, task_queue_prefix=prefix, version=VERSION, isolation=name == ISOLATED
    ):
        yield Side(name, RunService(client, task_queue_prefix=prefix), client)


async def closed_loop(runner: Side, n: int, concurrency: int) -> tuple[float, list[float]]:
    numbers = iter(range(n))
    latencies: list[float] = []

    async def slot() -> None:
        for i in numbers:  # shared: each number is taken by exactly one slot
            latencies.append(await runner.run_one(i))

    begin = time.perf_counter()
    await asyncio.gather(*(slot() for _ in range(min(concurrency, n))))
    return time.perf_counter() - begin, latencies


async def end_to_end(client: Client, args: argparse.Namespace) -> None:
    print(
        f"end to end: {args.rounds} rounds x {args.runs} runs per side, "
        f"concurrency {args.concurrency}; then {args.idle_runs} idle runs",
        flush=True,
    )
    throughput: dict[str, list[float]] = {ISOLATED: [], IN_PROCESS: []}
    latency: dict[str, list[float]] = {ISOLATED: [], IN_PROCESS: []}
    idle: dict[str, list[float]] = {ISOLATED: [], IN_PROCESS: []}
    async with side(client, ISOLATED) as isolated, side(client, IN_PROCESS) as in_process:
        sides = {ISOLATED: isolated, IN_PROCESS: in_process}
        for runner in sides.values():
            await closed_loop(runner, args.warmup, args.concurrency)
        for round_no in range(1, args.rounds + 1):
            order = [ISOLATED, IN_PROCESS] if round_no % 2 else [IN_PROCESS, ISOLATED]
            for name in order:
                seconds, latencies = await closed_loop(sides[name], args.runs, args.concurrency)
                throughput[name].append(args.runs / seconds)
                latency[name] += latencies
                for i in range(args.idle_runs):
                    idle[name].append(await sides[name].run_one(i))
                print(
                    f"  round {round_no} {name:<10} {args.runs / seconds:6.1f} runs/s  "
                    f"p50 {percentile(latencies, 50):6.1f} ms  "
                    f"p95 {percentile(latencies, 95):6.1f} ms",
                    flush=True,
                )
    print("summary (all rounds)")
    for name in (ISOLATED, IN_PROCESS):
        print(
            f"  {name:<10} {statistics.fmean(throughput[name]):6.1f} runs/s  "
            f"burst p50 {percentile(latency[name], 50):6.1f} ms p95 "
            f"{percentile(latency[name], 95):6.1f} ms  idle p50 "
            f"{percentile(idle[name], 50):6.1f} ms p95 {percentile(idle[name], 95):6.1f} ms"
        )
    ratios = [a / b for a, b in zip(throughput[ISOLATED], throughput[IN_PROCESS], strict=True)]
    print(
        f"  throughput isolated/in-process per round: {', '.join(f'{r:.2f}' for r in ratios)}"
        f"  (mean {statistics.fmean(ratios):.2f})\n"
        f"  idle p50 isolated - in-process: "
        f"{percentile(idle[ISOLATED], 50) - percentile(idle[IN_PROCESS], 50):+.1f} ms",
        flush=True,
    )


async def main(args: argparse.Namespace) -> None:
    await pool_only(args.pool_attempts)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=dynamic_config_flags(),
    )
    try:
        await end_to_end(env.client, args)
    finally:
        await env.shutdown()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per side per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--idle-runs", type=int, default=20, help="one at a time, per round")
    parser.add_argument("--pool-attempts", type=int, default=500)
    return parser.parse_args()


if __name__ == "__main__":  # task processes re-import this module: keep the guard
    status = 0
    try:
        asyncio.run(main(parse_args()))
    except Exception:
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    exit_process(status)
