"""Batch trigger and queue slot grants, each against its own baseline in the same run.

* **batch**: N (default 1,000) ``bench-hello`` items through the two-phase batch API
  (one create + one NDJSON stream, the official client's path) against the same N
  triggered one by one over HTTP (32 in flight). Reports items/s to create the runs,
  items/s to finish them, and the ratio batch / one-by-one.
* **queue**: M (default 500) no-op runs competing for a queue with a concurrency limit
  of 10 against the same M on an unlimited queue. Reports slot grants/s (runs through
  the limited queue per second) and the ratio limited / unlimited.

One in-memory dev server, one worker and the facade (uvicorn on a free port) in this
process; rounds alternate the order because the machine is shared and noisy.

Run: ``.venv/bin/python bench/control.py [--items 1000] [--runs 500] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import socket
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, NoReturn

import httpx
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns import Queue, task
from durableruns.api import create_app
from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.process import exit_process
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker

SECRET_KEY = "tr_dev_bench_secret_key"
IN_FLIGHT = 32


@task(id="bench-hello")
async def bench_hello(payload: dict[str, Any]) -> dict[str, str]:
    """What each batch item runs."""
    return {"message": f"Hello, {payload.get('name')}!"}


@task(id="bench-limited", queue=Queue(name="bench-limited", concurrency_limit=10))
async def bench_limited(payload: Any) -> None:
    """A no-op on a queue of 10 slots."""


@task(id="bench-unlimited")
async def bench_unlimited(payload: Any) -> None:
    """The same no-op on its own unlimited queue."""


REGISTRY = TaskRegistry([bench_hello, bench_limited, bench_unlimited])


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The facade on a free loopback port; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serve = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serve


async def _finish_all(client: Client, run_ids: list[str]) -> None:
    gate = asyncio.Semaphore(64)

    async def one(run_id: str) -> None:
        async with gate:
            await client.get_workflow_handle(run_id).result()

    await asyncio.gather(*(one(r) for r in run_ids))


async def batch_round(http: httpx.AsyncClient, client: Client, items: int) -> dict[str, float]:
    """Seconds to create and to finish ``items`` runs, batched and one by one."""
    started = time.perf_counter()
    created = (await http.post("/api/v3/batches", json={"runCount": items})).json()
    lines = "\n".join(
        json.dumps({"index": i, "task": "bench-hello", "payload": {"name": str(i)}})
        for i in range(items)
    )
    sent = await http.post(f"/api/v3/batches/{created['id']}/items", content=lines.encode())
    assert sent.json()["sealed"], sent.text
    run_ids = (await http.get(f"/api/v2/batches/{created['id']}")).json()["runs"]
    batch_created = time.perf_counter() - started
    await _finish_all(client, run_ids)
    batch_done = time.perf_counter() - started

    started = time.perf_counter()
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def trigger(i: int) -> str:
        async with gate:
            response = await http.post(
                "/api/v1/tasks/bench-hello/trigger", json={"payload": {"name": str(i)}}
            )
            run_id: str = response.json()["id"]
            return run_id

    single_ids = await asyncio.gather(*(trigger(i) for i in range(items)))
    single_created = time.perf_counter() - started
    await _finish_all(client, list(single_ids))
    single_done = time.perf_counter() - started
    return {
        "batch_create_per_s": items / batch_created,
        "batch_done_per_s": items / batch_done,
        "single_create_per_s": items / single_created,
        "single_done_per_s": items / single_done,
    }


async def queue_round(http: httpx.AsyncClient, client: Client, runs: int) -> dict[str, float]:
    """Runs/s through a queue limited to 10 slots, and through an unlimited one."""
    figures = {}
    for task_id in ("bench-limited", "bench-unlimited"):
        started = time.perf_counter()
        created = (await http.post("/api/v3/batches", json={"runCount": runs})).json()
        lines = "\n".join(json.dumps({"index": i, "task": task_id}) for i in range(runs))
        await http.post(f"/api/v3/batches/{created['id']}/items", content=lines.encode())
        run_ids = (await http.get(f"/api/v2/batches/{created['id']}")).json()["runs"]
        await _finish_all(client, run_ids)
        figures[task_id] = runs / (time.perf_counter() - started)
    return {
        "limited_per_s": figures["bench-limited"],
        "unlimited_per_s": figures["bench-unlimited"],
    }


async def main(args: argparse.Namespace) -> int:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        dev_server_extra_args=dynamic_config_flags(),
    )
    settings = Settings(task_queue_prefix=f"bench-{uuid.uuid4().hex[:6]}", secret_key=SECRET_KEY)
    batches: list[dict[str, float]] = []
    queues: list[dict[str, float]] = []
    try:
        async with (
            running_worker(
                env.client, REGISTRY, task_queue_prefix=settings.task_queue_prefix, version="b1"
            ),
            serving(create_app(settings, client=env.client)) as url,
            httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=120
            ) as http,
        ):
            for round_no in range(1, args.rounds + 1):
                batches.append(await batch_round(http, env.client, args.items))
                queues.append(await queue_round(http, env.client, args.runs))
                print(f"round {round_no}: batch {batches[-1]}\n         queue {queues[-1]}")
    finally:
        await env.shutdown()
    report(batches, queues, args)
    return 0


def report(batches: list[dict[str, float]], queues: list[dict[str, float]], args: Any) -> None:
    """Medians over rounds, and the ratios the issues ask for."""

    def median(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"\nbatch of {args.items} items (median of {args.rounds} rounds)")
    for kind in ("batch", "single"):
        print(
            f"  {kind:<7} create {median(batches, f'{kind}_create_per_s'):8.1f} items/s"
            f"   create+finish {median(batches, f'{kind}_done_per_s'):8.1f} items/s"
        )
    ratios = [r["batch_done_per_s"] / r["single_done_per_s"] for r in batches]
    create_ratios = [r["batch_create_per_s"] / r["single_create_per_s"] for r in batches]
    print(
        f"  ratio batch/one-by-one: create {statistics.median(create_ratios):.2f}x,"
        f" create+finish {statistics.median(ratios):.2f}x"
    )
    print(f"\nqueue: {args.runs} runs competing for a limit of 10 (median of {args.rounds})")
    print(f"  limited   {median(queues, 'limited_per_s'):8.1f} grants/s (runs/s)")
    print(f"  unlimited {median(queues, 'unlimited_per_s'):8.1f} runs/s")
    ratio = statistics.median(r["limited_per_s"] / r["unlimited_per_s"] for r in queues)
    print(f"  ratio limited/unlimited: {ratio:.2f}x")


def cli(argv: list[str]) -> NoReturn:
    """Parse arguments, run, and leave through exit_process (temporalio exit crash)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    logging.basicConfig(level=logging.ERROR)
    status = asyncio.run(main(parser.parse_args(argv)))
    exit_process(status)


if __name__ == "__main__":
    cli(sys.argv[1:])
