"""Latency of ``GET /api/v1/runs`` over many finished runs, and of realtime delivery.

One in-memory Temporal dev server (started here with the tests' flags), two parts:

* **list**: ``--runs N`` (default 10,000) finished runs on their own task-queue
  prefix. They are made fast by starting a stand-in workflow registered as
  ``durableruns.run`` directly with the Temporal client (eager start), with the search
  attributes a real run has at its end (status, task, tags, queue, version, is-test),
  completing in its first workflow task: what visibility holds for them is what it
  holds for real finished runs. Mix: 80 % ``hello-world`` COMPLETED, 10 %
  ``hello-world`` FAILED, 10 % ``sleepy`` COMPLETED. Then, through the facade
  in-process (``httpx.ASGITransport``, no network): p50/p95 of the filtered first page
  (``status=COMPLETED``, ``taskIdentifier=hello-world``, size 25), of pages 2-50 of
  that walk and of the 50th page re-fetched by its cursor, of a page after a cursor at
  the middle of the list (built for the middle creation time), and of the backward
  page before that cursor.
* **realtime**: ``durableruns worker`` (the example tasks) and ``durableruns api`` each in
  its own process, as deployed, and the subscribers here. Real ``sleepy`` runs (0.3 s),
  for each ``--followers`` level (50, 10, 2) that many at a time (``--realtime-runs``,
  100, runs per level, at least the level). Each run has one SSE subscriber
  (``/api/v1/runs/{id}/events``) and one Electric long-poller (``/realtime/v1/runs/{id}``),
  sharing one history long-poll in the facade. Reported: p50/p95 of the time from a
  status change (the run's ``updatedAt``, stamped by the workflow) to its arrival at the
  subscriber. Then ``--idle`` (500) SSE subscriptions to as many DELAYED runs: the facade
  process's CPU (from /proc) over ``--idle-seconds`` with them against without.

Run: ``.venv/bin/python bench/list_and_realtime.py [--runs 10000] [--followers 50,10,2]
[--idle 500]`` (``--runs 0`` for the realtime part alone).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durableruns.api import create_app
from durableruns.api.routes.runs_list import encode_cursor
from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.engine.names import runs_queue
from durableruns.ids import new_run_id
from durableruns.process import exit_process
from durableruns.service.dev_server import (
    dynamic_config_flags,
    environment_namespace_flags,
    temporal_binary,
)
from durableruns.service.run_list import Position
from durableruns.settings import Settings

SECRET_KEY = "tr_dev_bench_secret_key"
VERSION = "20261128.1"
FIRST_PAGE = {
    "filter[status]": "COMPLETED",
    "filter[taskIdentifier]": "hello-world",
    "page[size]": "25",
}


@workflow.defn(name="durableruns.run", sandboxed=False)  # this module is no workflow module
class FinishedRun:
    """A stand-in for a run that already finished: its search attributes say how."""

    @workflow.run
    async def run(self, _: Any) -> None:
        return None


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   (n={len(values)})"


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def settings_for(prefix: str) -> Settings:
    return Settings(task_queue_prefix=prefix, secret_key=SECRET_KEY, api_url="http://facade")


# --- list ------------------------------------------------------------------------------
def _attributes(i: int) -> TypedSearchAttributes:
    task_id, status = "hello-world", "COMPLETED"
    if i % 10 == 1:
        status = "FAILED"
    elif i % 10 == 2:
        task_id = "sleepy"
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.TRIGGER_STATUS, status),
            SearchAttributePair(sa.TRIGGER_TASK_ID, task_id),
            SearchAttributePair(sa.TRIGGER_TAGS, [f"user_{i % 50}"]),
            SearchAttributePair(sa.TRIGGER_IS_TEST, False),
            SearchAttributePair(sa.TRIGGER_QUEUE, f"task/{task_id}"),
            SearchAttributePair(sa.TRIGGER_VERSION, VERSION),
        ]
    )


async def make_finished_runs(client: Client, prefix: str, count: int) -> float:
    """Start ``count`` stand-in runs and wait until visibility lists them all closed."""
    started = time.perf_counter()
    queue = runs_queue(prefix)
    async with Worker(
        client, task_queue=queue, workflows=[FinishedRun], max_concurrent_workflow_tasks=200
    ):
        semaphore = asyncio.Semaphore(64)

        async def start(i: int) -> None:
            async with semaphore:
                await client.start_workflow(
                    "durableruns.run",
                    None,
                    id=new_run_id(),
                    task_queue=queue,
                    search_attributes=_attributes(i),
                    # The first workflow task comes back with the start (no matching
                    # round trip): about twice the creation rate here.
                    request_eager_start=True,
                )

        await asyncio.gather(*(start(i) for i in range(count)))
        query = f"TaskQueue = '{queue}' AND ExecutionStatus = 'Completed'"
        while (await client.count_workflows(query)).count < count:
            await asyncio.sleep(0.5)
    return time.perf_counter() - started


async def list_part(client: Client, args: argparse.Namespace) -> None:
    prefix = f"bench-list-{uuid.uuid4().hex[:6]}"
    print(f"creating {args.runs} finished runs (stand-in workflows, direct starts) ...")
    seconds = await make_finished_runs(client, prefix, args.runs)
    print(
        f"  {args.runs} runs listed as closed after {seconds:.1f} s ({args.runs / seconds:.0f}/s)"
    )
    app = create_app(settings_for(prefix), client=client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://facade",
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
    ) as http:

        async def page(params: dict[str, str]) -> dict[str, Any]:
            response = await http.get("/api/v1/runs", params=params)
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

        await page(FIRST_PAGE)  # warm-up
        first = await timed(lambda: page(FIRST_PAGE), args.repeat)
        print(f"first page (COMPLETED, hello-world, 25)        {percentiles(first)}")

        walk, cursor, deep = [], (await page(FIRST_PAGE))["pagination"]["next"], ""
        for _ in range(49):
            started = time.perf_counter()
            body = await page({**FIRST_PAGE, "page[after]": cursor})
            walk.append((time.perf_counter() - started) * 1000)
            deep, cursor = cursor, body["pagination"].get("next", "")
        print(f"pages 2-50 while walking                       {percentiles(walk)}")
        fiftieth = await timed(lambda: page({**FIRST_PAGE, "page[after]": deep}), args.repeat)
        print(f"50th page, re-fetched by its cursor            {percentiles(fiftieth)}")

        oldest, newest = await _oldest_and_newest(page)
        middle = Position(oldest + (newest - oldest) / 2, "run_~")
        mid_cursor = encode_cursor(middle, SECRET_KEY)
        mid = await timed(lambda: page({**FIRST_PAGE, "page[after]": mid_cursor}), args.repeat)
        print(f"page after the middle run (~{args.runs // 2} deep)         {percentiles(mid)}")
        back = await timed(lambda: page({**FIRST_PAGE, "page[before]": mid_cursor}), args.repeat)
        print(f"page before the middle run (backward)          {percentiles(back)}")


async def _oldest_and_newest(
    page: Callable[[dict[str, str]], Awaitable[dict[str, Any]]],
) -> tuple[datetime, datetime]:
    """Creation times of the oldest and the newest run: runs were made at a steady rate,
    so halfway between them in time is about halfway down the list."""
    newest = (await page({"page[size]": "1"}))["data"][0]["createdAt"]
    long_ago = encode_cursor(Position(datetime(2000, 1, 1, tzinfo=UTC), "run_"), SECRET_KEY)
    oldest = (await page({"page[size]": "1", "page[before]": long_ago}))["data"][0]["createdAt"]
    return datetime.fromisoformat(oldest), datetime.fromisoformat(newest)


# --- realtime --------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def facade_and_worker(client: Client, prefix: str) -> Iterator[tuple[str, int, int]]:
    """``durableruns worker`` (the example tasks) and ``durableruns api``, each in its
    own process as deployed; yields the facade's URL and the two process ids."""
    port = _free_port()
    state = tempfile.mkdtemp(prefix="durableruns-bench-")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DURABLERUNS_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "DURABLERUNS_TASK_QUEUE_PREFIX": prefix,
        "DURABLERUNS_SECRET_KEY": SECRET_KEY,
        "DURABLERUNS_STATE_DIR": state,
        "DURABLERUNS_ENVIRONMENTS": '["dev"]',
        "DURABLERUNS_API_PORT": str(port),
    }
    command = str(Path(sys.executable).parent / "durableruns")
    worker = subprocess.Popen(
        [command, "worker", "--tasks", "activities", "--version", VERSION],
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
        env=env,
    )
    api = subprocess.Popen([command, "api"], stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    try:
        yield f"http://127.0.0.1:{port}", api.pid, worker.pid
    finally:
        for process in (api, worker):
            process.terminate()
        for process in (api, worker):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_ready(http: httpx.AsyncClient) -> None:
    """Until the facade answers and a trigger finds the worker's version."""
    for _ in range(600):
        with contextlib.suppress(httpx.TransportError):
            response = await http.post(
                "/api/v1/tasks/sleepy/trigger", json={"payload": {"seconds": 0}}
            )
            if response.status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError("the facade or the worker did not come up")


def _delay_ms(updated_at: str, received: float) -> float:
    stamp = updated_at if updated_at.endswith("Z") else updated_at + "Z"
    return (received - datetime.fromisoformat(stamp).timestamp()) * 1000


async def sse_delays(http: httpx.AsyncClient, run_id: str) -> list[float]:
    delays, first = [], True
    async with http.stream("GET", f"/api/v1/runs/{run_id}/events") as response:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                run = json.loads(line[6:])
                if not first:  # the first event is the state at subscription time
                    delays.append(_delay_ms(run["updatedAt"], time.time()))
                first = False
    return delays


async def electric_delays(http: httpx.AsyncClient, run_id: str) -> list[float]:
    path = f"/realtime/v1/runs/{run_id}"
    first = await http.get(path, params={"offset": "-1", "log": "full"})
    handle, offset = first.headers["electric-handle"], first.headers["electric-offset"]
    delays: list[float] = []
    if first.json()[0]["value"]["completedAt"]:  # finished before we asked: nothing to time
        return delays
    while True:
        params = {"handle": handle, "live": "true", "log": "full", "offset": offset}
        response = await http.get(path, params=params)
        received = time.time()
        offset = response.headers["electric-offset"]
        for message in response.json():
            if "value" in message:
                delays.append(_delay_ms(message["value"]["updatedAt"], received))
                if message["value"]["completedAt"]:
                    return delays


async def realtime_part(client: Client, args: argparse.Namespace) -> None:
    prefix = f"bench-rt-{uuid.uuid4().hex[:6]}"
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    with facade_and_worker(client, prefix) as (url, api_pid, worker_pid):
        async with httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
            timeout=60,
            limits=limits,
        ) as http:
            await wait_ready(http)
            for followers in args.followers:
                cpu = _cpu_seconds(api_pid), _cpu_seconds(worker_pid), time.process_time()
                await followed_at_once(http, followers, max(args.realtime_runs, followers))
                api_s, worker_s, bench_s = (
                    _cpu_seconds(api_pid) - cpu[0],
                    _cpu_seconds(worker_pid) - cpu[1],
                    time.process_time() - cpu[2],
                )
                print(
                    f"    CPU seconds: facade {api_s:.1f}, worker {worker_s:.1f}, "
                    f"subscribers {bench_s:.1f}"
                )
            if args.idle:
                await idle_cost(http, api_pid, args.idle, args.idle_seconds)


async def followed_at_once(http: httpx.AsyncClient, followers: int, total: int) -> None:
    """``total`` sleepy runs, ``followers`` of them followed (SSE + Electric) at a time."""
    sse: list[float] = []
    electric: list[float] = []
    semaphore = asyncio.Semaphore(followers)

    async def one() -> None:
        async with semaphore:
            await asyncio.sleep(random.random() * 0.05)
            response = await http.post(
                "/api/v1/tasks/sleepy/trigger", json={"payload": {"seconds": 0.3}}
            )
            run_id = response.json()["id"]
            got_sse, got_electric = await asyncio.gather(
                sse_delays(http, run_id), electric_delays(http, run_id)
            )
            sse.extend(got_sse)
            electric.extend(got_electric)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(total)))
    seconds = time.perf_counter() - started
    print(f"{followers:3d} followed at once: {total} sleepy runs in {seconds:.1f} s")
    print(f"    status change -> SSE event                 {percentiles(sse)}")
    print(f"    status change -> Electric live response    {percentiles(electric)}")


async def idle_cost(http: httpx.AsyncClient, api_pid: int, count: int, seconds: float) -> None:
    """The facade process's CPU with ``count`` idle SSE subscriptions (one per DELAYED
    run, so one held history long-poll each) against the same window with none."""
    ids = []
    for _ in range(count):
        response = await http.post(
            "/api/v1/tasks/sleepy/trigger",
            json={"payload": {"seconds": 0}, "options": {"delay": "1h"}},
        )
        ids.append(response.json()["id"])
    await asyncio.sleep(1.0)
    baseline = await cpu_percent(api_pid, seconds)

    async def subscribe(run_id: str, opened: asyncio.Event) -> None:
        async with http.stream("GET", f"/api/v1/runs/{run_id}/events") as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    opened.set()

    events = [asyncio.Event() for _ in ids]
    subscribers = [asyncio.create_task(subscribe(i, e)) for i, e in zip(ids, events, strict=True)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 120)
    await asyncio.sleep(2.0)  # let the first history reads settle
    loaded = await cpu_percent(api_pid, seconds)
    for subscriber in subscribers:
        subscriber.cancel()
    await asyncio.gather(*subscribers, return_exceptions=True)
    print(
        f"facade process CPU over {seconds:.0f} s: no subscription {baseline:5.2f} %, "
        f"{count} idle subscriptions {loaded:5.2f} % (added {loaded - baseline:+.2f} % of a core)"
    )


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_percent(pid: int, seconds: float) -> float:
    """Process ``pid``'s CPU use over ``seconds``, in % of one core."""
    cpu, wall = _cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(seconds)
    return (_cpu_seconds(pid) - cpu) / (time.perf_counter() - wall) * 100


# --- main ------------------------------------------------------------------------------
async def main(args: argparse.Namespace) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=[*dynamic_config_flags(), *environment_namespace_flags()],
    )
    try:
        if args.runs:
            await list_part(env.client, args)
        if args.followers or args.idle:
            await realtime_part(env.client, args)
    finally:
        await env.shutdown()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000, help="finished runs to list")
    parser.add_argument("--repeat", type=int, default=40, help="samples per list figure")
    parser.add_argument(
        "--realtime-runs", type=int, default=100, help="runs per follower level (at least it)"
    )
    parser.add_argument(
        "--followers",
        type=lambda v: [int(n) for n in v.split(",") if n],
        default=[50, 10, 2],
        help="runs followed at once, one level after another (comma list)",
    )
    parser.add_argument("--idle", type=int, default=500, help="idle subscriptions (0: skip)")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    return parser.parse_args()


if __name__ == "__main__":
    status = 0
    try:
        asyncio.run(main(parse_args()))
    except Exception:
        traceback.print_exc()
        status = 1
    exit_process(status)
