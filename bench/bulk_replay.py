"""Bulk replay against replaying the same runs one by one over HTTP (issue 23).

N runs (default 1,000; at most 1,000 ids per bulk action and per batch) of a no-op task
are made and finished first. Then, in an order rotated per round: one bulk action
replays all N (``POST /api/v1/bulk-actions`` with ``runIds``, polled until COMPLETED);
the same N are replayed one by one (``POST /api/v1/runs/{id}/replay``, 32 in flight);
and N runs of the same task with the same payload are triggered one by one
(``POST /api/v1/tasks/{id}/trigger``, 32 in flight). Reports runs/s until every new run
exists, and until every one finished, and the ratios bulk / one-by-one. The bulk action
acts on 10 runs at once by design (it must not flood the queues), so it is expected to
be slower at creating runs than 32 callers in parallel.

One in-memory dev server, one worker and the facade (uvicorn on a free port) in this
process.

Run: ``PYTHONPATH=. .venv/bin/python bench/bulk_replay.py [--runs 1000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from typing import Any, NoReturn

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bench.control import _finish_all, serving
from durableruns import task
from durableruns.api import create_app
from durableruns.bulk_models import MAX_RUN_IDS
from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.process import exit_process
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from durableruns.worker.bulk_activities import replay_run_id

SECRET_KEY = "tr_dev_bench_secret_key"
IN_FLIGHT = 32


@task(id="bench-replayed")
async def bench_replayed(payload: Any) -> None:
    """The no-op every source run and replay runs."""


REGISTRY = TaskRegistry([bench_replayed])


async def _sources(http: httpx.AsyncClient, client: Client, runs: int) -> list[str]:
    created = (await http.post("/api/v3/batches", json={"runCount": runs})).json()
    lines = "\n".join(json.dumps({"index": i, "task": "bench-replayed"}) for i in range(runs))
    await http.post(f"/api/v3/batches/{created['id']}/items", content=lines.encode())
    run_ids: list[str] = (await http.get(f"/api/v2/batches/{created['id']}")).json()["runs"]
    await _finish_all(client, run_ids)
    return run_ids


async def bulk(
    http: httpx.AsyncClient, client: Client, sources: list[str], prefix: str
) -> tuple[float, float]:
    started = time.perf_counter()
    action = (
        await http.post("/api/v1/bulk-actions", json={"action": "replay", "runIds": sources})
    ).json()["id"]
    while (await http.get(f"/api/v1/bulk-actions/{action}")).json()["status"] == "PENDING":
        await asyncio.sleep(0.1)
    created = time.perf_counter() - started
    replays = [replay_run_id(client.namespace, prefix, action, s) for s in sources]
    await _finish_all(client, replays)
    return created, time.perf_counter() - started


async def one_by_one(
    http: httpx.AsyncClient, client: Client, sources: list[str]
) -> tuple[float, float]:
    started = time.perf_counter()
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def replay(run_id: str) -> str:
        async with gate:
            new_id: str = (await http.post(f"/api/v1/runs/{run_id}/replay")).json()["id"]
            return new_id

    replays = await asyncio.gather(*(replay(s) for s in sources))
    created = time.perf_counter() - started
    await _finish_all(client, list(replays))
    return created, time.perf_counter() - started


async def triggered_one_by_one(
    http: httpx.AsyncClient, client: Client, count: int
) -> tuple[float, float]:
    """The same runs (task, payload) triggered one by one, as a caller without bulk would."""
    started = time.perf_counter()
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def trigger(_: int) -> str:
        async with gate:
            response = await http.post(
                "/api/v1/tasks/bench-replayed/trigger", json={"payload": None}
            )
            new_id: str = response.json()["id"]
            return new_id

    made = await asyncio.gather(*(trigger(i) for i in range(count)))
    created = time.perf_counter() - started
    await _finish_all(client, list(made))
    return created, time.perf_counter() - started


KINDS = ("bulk", "replay", "trigger")
"""bulk: one bulk action; replay / trigger: one HTTP call per run."""


async def main(args: argparse.Namespace) -> int:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        dev_server_extra_args=dynamic_config_flags(),
    )
    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    settings = Settings(task_queue_prefix=prefix, secret_key=SECRET_KEY)
    rows: list[dict[str, float]] = []
    try:
        async with (
            running_worker(env.client, REGISTRY, task_queue_prefix=prefix, version="b1"),
            serving(create_app(settings, client=env.client)) as url,
            httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=120
            ) as http,
        ):
            for round_no in range(1, args.rounds + 1):
                sources = await _sources(http, env.client, args.runs)
                shift = (round_no - 1) % len(KINDS)
                order = KINDS[shift:] + KINDS[:shift]
                row: dict[str, float] = {}
                for kind in order:
                    if kind == "bulk":
                        created, done = await bulk(http, env.client, sources, prefix)
                    elif kind == "replay":
                        created, done = await one_by_one(http, env.client, sources)
                    else:
                        created, done = await triggered_one_by_one(http, env.client, args.runs)
                    row[f"{kind}_create_per_s"] = args.runs / created
                    row[f"{kind}_done_per_s"] = args.runs / done
                rows.append(row)
                print(f"round {round_no}: {row}")
    finally:
        await env.shutdown()
    with open("/proc/loadavg") as f:
        print(f"load average (1, 5, 15 min): {' '.join(f.read().split()[:3])}")
    for key in ("create", "done"):
        bulk_rate = statistics.median(r[f"bulk_{key}_per_s"] for r in rows)
        for baseline in ("replay", "trigger"):
            rate = statistics.median(r[f"{baseline}_{key}_per_s"] for r in rows)
            ratio = statistics.median(
                r[f"bulk_{key}_per_s"] / r[f"{baseline}_{key}_per_s"] for r in rows
            )
            print(
                f"{args.runs} runs, {key:>6}: bulk replay {bulk_rate:6.1f}/s, {baseline} one by "
                f"one over HTTP {rate:6.1f}/s, ratio bulk/one-by-one {ratio:.2f}x"
            )
    return 0


def run() -> NoReturn:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=MAX_RUN_IDS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not 1 <= args.runs <= MAX_RUN_IDS:
        parser.error(f"--runs: 1 to {MAX_RUN_IDS} (one bulk action's ids), got {args.runs}")
    exit_process(asyncio.run(main(args)))


if __name__ == "__main__":
    sys.exit(run())
