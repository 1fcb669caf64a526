"""The cost of error grouping: throughput of failing no-op runs with the worker's report
to the error groups on and off (alternating rounds, one dev server, one in-process
worker without task processes); then the errors list's response time at 100 groups x
1,000 runs each.

    .venv/bin/python bench/error_groups.py --runs 200 --rounds 2 [--attempts 3]

With grouping, every failed attempt is reported (``worker/error_reports.py``): a run's
final failure in a signal-with-start sent before its attempt ends (reports that arrive
while one is under way go out together in the next), a retried attempt's with the next
one this worker sends or after a 2 s linger. ``--attempts N`` makes every run fail N
attempts (N-1 retried), and each grouped round prints the monitor's signals per failed
run and the occurrences it counted. The group id rides on the FAILED upsert, which
happens either way. The list reads the monitor workflow's state with one query; the
100,000 occurrences are recorded into that state with the workflow's own pure rule
(``record_occurrence``) and the workflow is started from it, since counting 100,000
signals is not what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import httpx
from temporalio.api.enums.v1 import EventType
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
from durableruns.service.error_groups import ErrorGroupService
from durableruns.service.runs import RunService
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry, task
from durableruns.worker.assembly import running_worker
from durableruns.worker.error_reports import LINGER_S

SECRET_KEY = "tr_dev_bench_secret_key"


@task(
    id="bench-fails",
    retry={"max_attempts": 1, "min_timeout_ms": 50, "max_timeout_ms": 200, "randomize": False},
)
async def fails(payload: Any) -> None:
    """Fails at once, with a varying value in the message (one group)."""
    raise ValueError(f"bench failure {payload}")


class Burst(NamedTuple):
    """One round: failed runs per second; with grouping, the monitor's signals and the
    occurrences it counted (None without)."""

    rate: float
    runs: int
    signals: int | None
    occurrences: int | None


async def _burst(
    client: Client, runs: int, concurrency: int, grouped: bool, attempts: int
) -> Burst:
    """``runs`` failing runs (``attempts`` failed attempts each), ``concurrency`` in
    flight, after 5 warm-up runs."""
    prefix = f"bench-eg-{uuid.uuid4().hex[:6]}"
    registry = TaskRegistry([fails])
    options = RunOptions(max_attempts=attempts)
    async with running_worker(
        client,
        registry,
        task_queue_prefix=prefix,
        version="1",
        isolation=False,
        error_groups=grouped,
    ):
        service = RunService(client, task_queue_prefix=prefix)

        async def drain(todo: Iterator[int], slots: int) -> None:
            async def slot() -> None:
                for i in todo:
                    triggered = await service.trigger("bench-fails", i, options)
                    with contextlib.suppress(WorkflowFailureError):  # it fails, as it should
                        await client.get_workflow_handle(triggered.run_id).result()

            await asyncio.gather(*(slot() for _ in range(slots)))

        await drain(iter(range(5)), 5)  # warm-up
        started = time.perf_counter()
        await drain(iter(range(runs)), concurrency)
        rate = runs / (time.perf_counter() - started)
        occurrences = None
        if grouped:
            await asyncio.sleep(LINGER_S + 1)  # the last retried reports go out
            groups = ErrorGroupService(client, task_queue_prefix=prefix)
            occurrences = (await groups.state()).occurrences
    signals = await _monitor_signals(client, prefix) if grouped else None
    return Burst(rate, runs + 5, signals, occurrences)


async def _monitor_signals(client: Client, prefix: str) -> int:
    """Signals the prefix's monitor received, over its continue-as-new chain."""
    signaled = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    total = 0
    async for execution in client.list_workflows(f"WorkflowId = '{monitor_id(prefix)}'"):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        total += sum(1 for e in history.events if e.event_type == signaled)
    return total


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
                burst = await _burst(
                    env.client, args.runs, args.concurrency, name == "grouped", args.attempts
                )
                rates[name].append(burst.rate)
                cost = ""
                if burst.signals is not None:
                    cost = (
                        f"; {burst.signals} monitor signals for {burst.runs} failed runs "
                        f"({burst.signals / burst.runs:.2f} per run), "
                        f"{burst.occurrences} occurrences counted"
                    )
                print(
                    f"  round {round_ + 1} {name:9s} {burst.rate:6.1f} failed runs/s{cost}",
                    flush=True,
                )
        took = await _list_latency(env.client, args.groups, args.per_group, args.calls)
    finally:
        await env.shutdown()
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(
        f"bench/error_groups.py --runs {args.runs} --rounds {args.rounds} "
        f"--concurrency {args.concurrency} --attempts {args.attempts} "
        f"--groups {args.groups} --per-group {args.per_group}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M}Z; "
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
    parser.add_argument("--attempts", type=int, default=1, help="failed attempts per run")
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--per-group", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
    exit_process(0)
