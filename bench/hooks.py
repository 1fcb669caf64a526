"""What lifecycle hooks cost: no-op runs with one global no-op hook of each kind, against
none.

Each side runs in a child process of its own (global hooks are per process, task
processes included), with its own in-memory dev server (the tests' flags) and a worker
with crash isolation, as ``durableruns dev`` runs: ``--warmup`` untimed runs, then
``--runs`` no-op runs through ``--concurrency`` closed-loop slots (trigger through the run
service, await the run workflow's result). Rounds alternate which side goes first. The
``hooks`` side registers ``on_start_attempt``, ``on_success``, ``on_failure``,
``on_complete``, ``on_wait``, ``on_resume``, ``on_cancel``, ``catch_error`` and a
middleware, all no-ops: each run pays the in-attempt hooks and the hooks activity
(``on_success`` + ``on_complete``). Also reported: activities scheduled per run.

Run: ``.venv/bin/python bench/hooks.py [--runs 150] [--rounds 2] [--concurrency 8]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from durableruns import tasks
from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.engine.workflows.run import RunWorkflow
from durableruns.models import RunOptions
from durableruns.process import exit_process
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary
from durableruns.service.runs import RunService
from durableruns.status import RunStatus
from durableruns.task_definitions import TaskRegistry, task
from durableruns.worker.assembly import running_worker

HOOKS_ENV = "DURABLERUNS_BENCH_HOOKS"
"""Set in the ``hooks`` side's process (and so in its task processes, which re-import
this script): register the global hooks."""


@task(id="bench-noop")
async def noop(payload: Any) -> dict[str, Any]:
    """Does nothing."""
    return {}


def _nothing() -> None:
    """A no-op hook."""


async def _pass_through(next: Any) -> None:
    await next()


if os.environ.get(HOOKS_ENV):
    for register in (
        tasks.on_start_attempt,
        tasks.on_success,
        tasks.on_failure,
        tasks.on_complete,
        tasks.on_wait,
        tasks.on_resume,
        tasks.on_cancel,
        tasks.catch_error,
    ):
        register(_nothing)
    tasks.middleware("bench", _pass_through)


async def one_side(args: argparse.Namespace) -> dict[str, Any]:
    """This process's side: warmup, then the timed closed loop; runs/s and activities."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=dynamic_config_flags(),
    )
    try:
        client = env.client
        prefix = f"bench-hooks-{uuid.uuid4().hex[:6]}"
        async with running_worker(
            client, TaskRegistry([noop]), task_queue_prefix=prefix, version="bench.1"
        ):
            service = RunService(client, task_queue_prefix=prefix)
            run_ids: list[str] = []

            async def run_one(i: int) -> None:
                triggered = await service.trigger(noop.id, {"i": i}, RunOptions())
                handle = client.get_workflow_handle_for(RunWorkflow.run, triggered.run_id)
                record = await handle.result()
                if record.status is not RunStatus.COMPLETED:
                    raise RuntimeError(f"run {triggered.run_id} ended {record.status}")
                run_ids.append(triggered.run_id)

            async def loop(n: int) -> float:
                numbers = iter(range(n))

                async def slot() -> None:
                    for i in numbers:
                        await run_one(i)

                begin = time.perf_counter()
                await asyncio.gather(*(slot() for _ in range(min(args.concurrency, n))))
                return time.perf_counter() - begin

            await loop(args.warmup)
            run_ids.clear()
            seconds = await loop(args.runs)
            history = await client.get_workflow_handle(run_ids[-1]).fetch_history()
            activities = sum(
                e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED for e in history.events
            )
            return {
                "runs_per_s": args.runs / seconds,
                "activities_per_run": activities,
                "events_per_run": len(history.events),
            }
    finally:
        await env.shutdown()


def run_side(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """One side in a child process (its own global hooks, dev server and worker)."""
    env = {**os.environ, HOOKS_ENV: "1" if name == "hooks" else ""}
    command = [
        sys.executable,
        __file__,
        "--side",
        name,
        f"--runs={args.runs}",
        f"--warmup={args.warmup}",
        f"--concurrency={args.concurrency}",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"side {name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def compare(args: argparse.Namespace) -> None:
    with open("/proc/loadavg") as loadavg:
        print(f"load average before: {loadavg.read().strip()}", flush=True)
    rates: dict[str, list[float]] = {"none": [], "hooks": []}
    for round_no in range(1, args.rounds + 1):
        order = ["none", "hooks"] if round_no % 2 else ["hooks", "none"]
        for name in order:
            result = run_side(name, args)
            rates[name].append(result["runs_per_s"])
            print(
                f"  round {round_no} {name:<5} {result['runs_per_s']:6.1f} runs/s  "
                f"{result['activities_per_run']} activities, "
                f"{result['events_per_run']} history events per run",
                flush=True,
            )
    ratios = [h / n for h, n in zip(rates["hooks"], rates["none"], strict=True)]
    print(
        f"throughput hooks/none per round: {', '.join(f'{r:.2f}' for r in ratios)}"
        f" (mean {statistics.fmean(ratios):.2f})"
    )
    with open("/proc/loadavg") as loadavg:
        print(f"load average after: {loadavg.read().strip()}", flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=150, help="timed runs per side per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (sides alternate order)")
    parser.add_argument("--concurrency", type=int, default=8, help="runs in flight")
    parser.add_argument("--warmup", type=int, default=10, help="untimed runs before each side")
    parser.add_argument("--side", choices=["none", "hooks"], help="(internal) run one side")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.side:
        print(json.dumps(asyncio.run(one_side(arguments))), flush=True)
    else:
        compare(arguments)
    exit_process(0)
