"""The cost of admission: no-op runs through a concurrency limit against the same runs
without one, and admission latency with many distinct concurrency keys.

One in-memory dev server (started here with the stack's ``dynamic_config_flags()``), one
in-process worker and facade (ASGI transport, no sockets). Three tasks:

* ``bench-free``: no limit (no limit workflow in its path);
* ``bench-limited``: ``concurrency={"total": <limit>}`` (default 1,000): every run asks
  the limit's workflow for a slot, is granted it at once (the bound is never reached at
  this concurrency), and releases it;
* ``bench-keyed``: ``concurrency={"per_key": 1}``: each run with its own key, so the
  limit keeps ``--keys`` pools.

Measured:

1. **Throughput** (``--runs`` per side per round, ``--concurrency`` in flight, rounds
   alternating which side goes first): runs/s of each side, and the per-round ratio
   limited ÷ free — the cost of admission.
2. **Admission latency** at ``--keys`` distinct keys, triggered ``--concurrency`` at a
   time: p50/p95 of created→started (``startedAt - createdAt`` from retrieve) for keyed
   runs against the same figure for free runs triggered the same way; the difference is
   what admission adds.
3. **Temporal actions per run**: the events of one limited and one free run's history
   that Temporal Cloud bills (signals sent and received, timers, activities, local
   activities), and the difference.

Run: ``.venv/bin/python bench/limits.py [--runs 1000] [--keys 1000] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from durableruns.api import create_app
from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.engine.workflows.run import RunWorkflow
from durableruns.process import exit_process
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry, task
from durableruns.worker.assembly import running_worker

SECRET_KEY = "tr_dev_bench_secret_key"
BILLED = {
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "signal sent",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signal received",
    EventType.EVENT_TYPE_TIMER_STARTED: "timer",
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activity",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "update",
}
"""History events that stand for a billed Temporal Cloud action (local activities are
counted from their markers)."""


def registry(limit: int) -> TaskRegistry:
    @task(id="bench-free")
    async def free(payload: Any) -> None:
        return None

    @task(id="bench-limited", concurrency={"total": limit})
    async def limited(payload: Any) -> None:
        return None

    @task(id="bench-keyed", concurrency={"per_key": 1})
    async def keyed(payload: Any) -> None:
        return None

    return TaskRegistry([free, limited, keyed])


async def burst(
    http: httpx.AsyncClient, client: Client, task_id: str, n: int, concurrency: int
) -> tuple[float, list[str]]:
    """Runs/s of ``n`` runs through ``concurrency`` closed-loop slots, and their ids."""
    counter = iter(range(n))
    ids: list[str] = []

    async def slot() -> None:
        for i in counter:
            response = await http.post(f"/api/v1/tasks/{task_id}/trigger", json={"payload": i})
            response.raise_for_status()
            run_id = response.json()["id"]
            ids.append(run_id)
            await client.get_workflow_handle_for(RunWorkflow.run, run_id).result()

    started = time.perf_counter()
    await asyncio.gather(*(slot() for _ in range(concurrency)))
    return n / (time.perf_counter() - started), ids


async def admission(
    http: httpx.AsyncClient, client: Client, task_id: str, keys: int, concurrency: int
) -> list[float]:
    """created→started (ms) of ``keys`` runs, each with its own concurrency key."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> float:
        async with gate:
            options = {"concurrencyKey": f"tenant-{i}"}
            response = await http.post(
                f"/api/v1/tasks/{task_id}/trigger", json={"payload": i, "options": options}
            )
            response.raise_for_status()
            run_id = response.json()["id"]
            await client.get_workflow_handle_for(RunWorkflow.run, run_id).result()
            body = (await http.get(f"/api/v3/runs/{run_id}")).json()
        created = datetime.fromisoformat(body["createdAt"])
        return (datetime.fromisoformat(body["startedAt"]) - created).total_seconds() * 1000

    return list(await asyncio.gather(*(one(i) for i in range(keys))))


async def actions(client: Client, run_id: str) -> Counter[str]:
    """The billed actions in one run's history."""
    counted: Counter[str] = Counter()
    history = await client.get_workflow_handle(run_id).fetch_history()
    for event in history.events:
        if event.event_type in BILLED:
            counted[BILLED[event.event_type]] += 1
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            name = event.marker_recorded_event_attributes.marker_name
            if name == "core_local_activity":
                counted["local activity"] += 1
    return counted


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(args: argparse.Namespace) -> None:
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}", flush=True)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=dynamic_config_flags(),
    )
    client = env.client
    settings = Settings(task_queue_prefix=f"bench-{uuid.uuid4().hex[:8]}", secret_key=SECRET_KEY)
    try:
        async with (
            running_worker(
                client,
                registry(args.limit),
                task_queue_prefix=settings.task_queue_prefix,
                version="bench.1",
                max_concurrent_attempts=max(100, args.concurrency),
            ),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(settings, client=client)),
                base_url="http://bench",
                headers={"Authorization": f"Bearer {SECRET_KEY}"},
                timeout=120,
            ) as http,
        ):
            await burst(http, client, "bench-free", 20, 5)  # warm up both paths
            await burst(http, client, "bench-limited", 20, 5)
            ratios = []
            for round_no in range(1, args.rounds + 1):
                order = ["bench-free", "bench-limited"]
                if round_no % 2 == 0:
                    order.reverse()
                rates: dict[str, float] = {}
                for task_id in order:
                    rates[task_id], _ = await burst(
                        http, client, task_id, args.runs, args.concurrency
                    )
                ratio = rates["bench-limited"] / rates["bench-free"]
                ratios.append(ratio)
                print(
                    f"round {round_no}: free {rates['bench-free']:.1f} runs/s, limited "
                    f"(total {args.limit}) {rates['bench-limited']:.1f} runs/s, "
                    f"ratio {ratio:.2f}",
                    flush=True,
                )
            print(f"throughput ratio limited/free: {statistics.mean(ratios):.2f} (mean)")
            free_ms = await admission(http, client, "bench-free", args.keys, args.concurrency)
            keyed_ms = await admission(http, client, "bench-keyed", args.keys, args.concurrency)
            for name, values in (("free", free_ms), (f"keyed ({args.keys} keys)", keyed_ms)):
                print(
                    f"created->started {name}: p50 {pct(values, 0.5):.0f} ms, "
                    f"p95 {pct(values, 0.95):.0f} ms"
                )
            _, [free_id] = await burst(http, client, "bench-free", 1, 1)
            _, [limited_id] = await burst(http, client, "bench-limited", 1, 1)
            free_actions = await actions(client, free_id)
            limited_actions = await actions(client, limited_id)
            print(f"billed actions, free run: {dict(free_actions)}")
            print(f"billed actions, limited run: {dict(limited_actions)}")
            extra = sum(limited_actions.values()) - sum(free_actions.values())
            print(f"admission adds {extra} actions to the run (one limit, steady state)")
    finally:
        await env.shutdown()
        print(f"load average after: {Path('/proc/loadavg').read_text().strip()}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
    exit_process(0)
