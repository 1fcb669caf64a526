"""The cost of error grouping: throughput of failing no-op runs with the worker's report
to the error groups on and off (alternating rounds, one dev server, one in-process
worker without task processes); then the errors list's response time at 100 groups x
1,000 runs each.

    .venv/bin/python bench/error_groups.py --runs 200 --rounds 2

With grouping, a failed run pays one signal-with-start from the worker (and its group
id rides on the FAILED upsert, which happens either way). The list reads the
error-groups workflow's state with one query; the 100,000 occurrences are recorded
into that state with the workflow's own pure rule (``record_occurrence``) and the
workflow is started from it, since counting 100,000 signals is not what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from durableruns.api import create_app
from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.engine.names import monitor_id, runs_queue
from durableruns.engine.workflows.monitor import (
    MonitorState,
    MonitorWorkflow,
)
from durableruns.error_group_models import ErrorOccurrence, record_occurrence
from durableruns.models import RunOptions
from durableruns.process import exit_process
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary
from durableruns.service.runs import RunService
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry, task
from durableruns.worker.assembly import running_worker

SECRET_KEY = "tr_dev_bench_secret_key"


@task(id="bench-fails", retry={"max_attempts": 1})
async def fails(payload: Any) -> None:
    """Fails at once, with a varying value in the message (one group)."""
    raise ValueError(f"bench failure {payload}")


async def _burst(client: Client, runs: int, concurrency: int, grouped: bool) -> float:
    """Runs per second of ``runs`` failing runs, ``concurrency`` in flight."""
    prefix = f"bench-eg-{uuid.uuid4().hex[:6]}"
    registry = TaskRegistry([fails])
    async with running_worker(
        client,
        registry,
        task_queue_prefix=prefix,
        version="1",
        isolation=False,
        error_groups=grouped,
    ):
        service = RunService(client, task_queue_prefix=prefix)
        todo = iter(range(runs))

        async def slot() -> None:
            for i in todo:
                triggered = await service.trigger("bench-fails", i, RunOptions())
                with contextlib.suppress(WorkflowFailureError):  # it fails, as it should
                    await client.get_workflow_handle(triggered.run_id).result()

        await asyncio.gather(*(slot() for _ in range(5)))  # warm-up
        todo = iter(range(runs))
        started = time.perf_counter()
        await asyncio.gather(*(slot() for _ in range(concurrency)))
        return runs / (time.perf_counter() - started)


async def _list_latency(client: Client, groups: int, per_group: int, calls: int) -> list[float]:
    """Seconds per ``GET /api/v1/errors`` (and one group's retrieve) over ``calls`` calls."""
    prefix = f"bench-eg-list-{uuid.uuid4().hex[:6]}"
    state = MonitorState()
    now = datetime.now(UTC)
    for g in range(groups):
        group_id = f"error_{g:016x}"
        for n in range(per_group):
            record_occurrence(
                state,
                ErrorOccurrence(
                    group_id=group_id,
                    fingerprint=group_id[6:],
                    task_id=f"task-{g % 7}",
                    error_type="ValueError",
                    message=f"failure kind {g}",
                    run_id=f"run_{g}_{n}",
                    version="1",
                    at=now - timedelta(minutes=(n * 7) % (48 * 60)),
                ),
            )
    settings = Settings(task_queue_prefix=prefix, secret_key=SECRET_KEY, api_url="http://bench")
    async with running_worker(client, TaskRegistry([]), task_queue_prefix=prefix, version="1"):
        await client.start_workflow(
            MonitorWorkflow.run,
            state,
            id=monitor_id(prefix),
            task_queue=runs_queue(prefix),
            id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
        )
        transport = httpx.ASGITransport(app=create_app(settings, client=client))
        headers = {"Authorization": f"Bearer {SECRET_KEY}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers
        ) as http:
            took = []
            for _ in range(calls):
                await asyncio.sleep(0.6)  # past the service's 0.5 s read cache: a real query
                started = time.perf_counter()
                response = await http.get("/api/v1/errors?filter[period]=7d&page[size]=100")
                took.append(time.perf_counter() - started)
                body = response.json()
                assert response.status_code == 200 and len(body["data"]) == groups, body
                assert sum(g["count"] for g in body["data"]) == groups * per_group
    return took


async def main(args: argparse.Namespace) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=dynamic_config_flags(),
    )
    rates: dict[str, list[float]] = {"grouped": [], "ungrouped": []}
    try:
        for round_ in range(args.rounds):
            order = ("grouped", "ungrouped") if round_ % 2 == 0 else ("ungrouped", "grouped")
            for name in order:
                rate = await _burst(env.client, args.runs, args.concurrency, name == "grouped")
                rates[name].append(rate)
                print(f"  round {round_ + 1} {name:9s} {rate:6.1f} failed runs/s", flush=True)
        took = await _list_latency(env.client, args.groups, args.per_group, args.calls)
    finally:
        await env.shutdown()
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(
        f"bench/error_groups.py --runs {args.runs} --rounds {args.rounds} "
        f"--concurrency {args.concurrency}; {datetime.now(UTC):%Y-%m-%d %H:%M}Z; "
        f"load {' '.join(load)}"
    )
    ratios = [g / u for g, u in zip(rates["grouped"], rates["ungrouped"], strict=True)]
    print(
        f"  failed runs/s: grouped {statistics.median(rates['grouped']):.1f}, "
        f"ungrouped {statistics.median(rates['ungrouped']):.1f}; "
        f"ratio per round {', '.join(f'{r:.2f}' for r in ratios)}"
    )
    ms = sorted(t * 1000 for t in took)
    print(
        f"  GET /api/v1/errors at {args.groups} groups x {args.per_group} runs: "
        f"p50 {statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms over {len(ms)} calls"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--per-group", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
    exit_process(0)
