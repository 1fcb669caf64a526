"""Throughput and idle latency of durableruns against bare Temporal, on one dev server.

Both sides run in this process against one in-memory dev server started here:

* **durableruns**: a no-op task (``bench-noop``) served by ``running_worker``, triggered
  over real HTTP (the facade served by uvicorn on a free 127.0.0.1 port) by an aiohttp
  client (``--client httpx``: the SDK's httpx, which costs the load generator ~1.5 ms
  of CPU per request at 32 in flight, see bench/README.md), completion awaited as the
  run workflow's result.
* **bare**: ``bench/bare.py``'s workflow (one no-op activity) started with
  ``client.start_workflow``, completion awaited as its result.

Each side is measured in rounds that alternate the order (bare first in odd rounds,
durableruns first in even ones), because the machine is shared and noisy: compare the
per-round ratios, not absolute figures. See ``bench/README.md``.

Run: ``.venv/bin/python bench/throughput.py --runs 500 [--rounds 2] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import logging
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, Protocol

import aiohttp
import httpx
import uvicorn
from bare import BareWorkflow, bare_noop
from fastapi import FastAPI
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durableruns.api import create_app
from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.engine.workflows.run import RunWorkflow
from durableruns.event_loop import run_service
from durableruns.process import exit_process
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary
from durableruns.settings import Settings
from durableruns.status import RunStatus
from durableruns.task_definitions import TaskRegistry, task
from durableruns.worker.assembly import running_worker

SECRET_KEY = "tr_dev_bench_secret_key"
VERSION = "bench.1"
BARE = "bare"
DURABLERUNS = "durableruns"
TARGET_RATIO = 1.0
"""Issue 28's target: durableruns reaches bare Temporal's throughput (issue 1 asked 0.5)."""


@task(id="bench-noop")
async def noop(payload: Any) -> dict[str, Any]:
    """The durableruns side's task: does nothing."""
    return {}


REGISTRY = TaskRegistry([noop])


class BenchError(Exception):
    """A run did not end as expected: the figures would be meaningless."""


# --- one run, end to end ---------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One run's timeline, in wall-clock epoch seconds (all taken on this machine)."""

    run_id: str
    sent: float
    """Just before the trigger (HTTP POST / start_workflow) was sent."""
    completed: float
    """When awaiting the workflow's result returned."""
    started: float | None = None
    """When the task's code (the activity) started, if asked for."""

    @property
    def completed_ms(self) -> float:
        return (self.completed - self.sent) * 1000

    @property
    def started_ms(self) -> float | None:
        return None if self.started is None else (self.started - self.sent) * 1000


RunOne = Callable[[int, bool], Awaitable[Sample]]
"""Trigger run ``i`` and wait until it completed; the bool asks for its start time."""
Verify = Callable[[list[str]], Awaitable[None]]
"""Check, outside the timed part, that these runs are reported COMPLETED."""


@dataclass(frozen=True)
class Side:
    name: str
    run_one: RunOne
    verify: Verify


# --- durableruns: worker + facade over HTTP --------------------------------------------
@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn in this loop on a free 127.0.0.1 port; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    # A long server-side keep-alive: with uvicorn's 5 s default (equal to httpx's pool
    # expiry) the server may close an idle connection just as the client reuses it, and
    # the trigger fails with ReadError on a busy machine.
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", timeout_keep_alive=600
    )
    server = uvicorn.Server(config)
    serve = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serve.done():
                serve.result()  # raises the startup error
                raise BenchError("uvicorn stopped during startup")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await serve
        sock.close()


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


class LoadClient(Protocol):
    """The load generator's HTTP client: what a user's app would trigger runs with."""

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, str]:
        """Send one request; its status and body text."""
        ...


@contextlib.asynccontextmanager
async def load_client(
    kind: str, base_url: str, args: argparse.Namespace
) -> AsyncIterator[LoadClient]:
    """An HTTP client with ``args.concurrency`` keep-alive connections to ``base_url``.

    ``aiohttp`` by default: the load generator shares this process's CPU with the worker
    and the facade, and httpx (with httpcore's pool) costs ~1.5 ms of CPU per request at
    32 in flight against aiohttp's ~0.1 ms, so with httpx the client, not durableruns,
    is the largest difference between the sides (bench/README.md, 2026-12-06).
    """
    headers = {"Authorization": f"Bearer {SECRET_KEY}"}
    if kind == "httpx":
        async with httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            limits=httpx.Limits(
                max_connections=args.concurrency, max_keepalive_connections=args.concurrency
            ),
            timeout=args.timeout,
        ) as http:

            class Httpx:
                async def call(self, method: str, path: str, body: Any = None) -> tuple[int, str]:
                    response = await http.request(method, path, json=body)
                    return response.status_code, response.text

            yield Httpx()
        return
    async with aiohttp.ClientSession(
        base_url,
        headers=headers,
        connector=aiohttp.TCPConnector(limit=args.concurrency),
        timeout=aiohttp.ClientTimeout(total=args.timeout),
    ) as session:

        class Aiohttp:
            async def call(self, method: str, path: str, body: Any = None) -> tuple[int, str]:
                async with session.request(method, path, json=body) as response:
                    return response.status, await response.text()

        yield Aiohttp()


@contextlib.asynccontextmanager
async def durableruns_side(client: Client, args: argparse.Namespace) -> AsyncIterator[Side]:
    settings = Settings(
        task_queue_prefix=f"bench-{uuid.uuid4().hex[:8]}",
        secret_key=SECRET_KEY,
        environment=args.environment,
    )
    async with (
        running_worker(
            client,
            REGISTRY,
            task_queue_prefix=settings.task_queue_prefix,
            version=VERSION,
            announce_attempts=not args.no_announce,
            # Passed only when given: the script also runs against code that predates it.
            **({} if args.announce_after is None else {"announce_after_s": args.announce_after}),
        ),
        serving(create_app(settings, client=client)) as base_url,
        load_client(args.client, base_url, args) as http,
    ):

        async def retrieve(run_id: str) -> dict[str, Any]:
            status, text = await http.call("GET", f"/api/v3/runs/{run_id}")
            if status != 200:
                raise BenchError(f"retrieve {run_id}: {status} {text}")
            body: dict[str, Any] = json.loads(text)
            return body

        async def run_one(i: int, want_started: bool) -> Sample:
            sent = time.time()
            status, text = await http.call(
                "POST", f"/api/v1/tasks/{noop.id}/trigger", {"payload": {"i": i}}
            )
            if status != 200:
                raise BenchError(f"trigger: {status} {text}")
            run_id: str = json.loads(text)["id"]
            handle = client.get_workflow_handle_for(RunWorkflow.run, run_id)
            async with asyncio.timeout(args.timeout):
                record = await handle.result()
            completed = time.time()
            if record.status is not RunStatus.COMPLETED:
                raise BenchError(f"run {run_id} ended {record.status.value}")
            started = None
            if want_started:  # after completion: no polling while the run is live
                body = await retrieve(run_id)
                started = _epoch(body["startedAt"])
            return Sample(run_id=run_id, sent=sent, completed=completed, started=started)

        async def verify(run_ids: list[str]) -> None:
            for run_id in run_ids:
                body = await retrieve(run_id)
                if body.get("status") != "COMPLETED" or not body.get("finishedAt"):
                    raise BenchError(f"run {run_id} retrieved as {body.get('status')}: {body}")

        yield Side(DURABLERUNS, run_one, verify)


# --- bare Temporal: one workflow, one activity -----------------------------------------
@contextlib.asynccontextmanager
async def bare_side(client: Client, args: argparse.Namespace) -> AsyncIterator[Side]:
    queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[BareWorkflow], activities=[bare_noop]):

        async def run_one(i: int, want_started: bool) -> Sample:
            run_id = f"bare_{uuid.uuid4().hex}"
            sent = time.time()
            handle = await client.start_workflow(
                BareWorkflow.run, {"i": i}, id=run_id, task_queue=queue
            )
            async with asyncio.timeout(args.timeout):
                started = await handle.result()
            completed = time.time()
            return Sample(run_id=run_id, sent=sent, completed=completed, started=started)

        async def verify(run_ids: list[str]) -> None:
            for run_id in run_ids:
                description = await client.get_workflow_handle(run_id).describe()
                if description.status is not WorkflowExecutionStatus.COMPLETED:
                    raise BenchError(f"bare run {run_id} is {description.status}")

        yield Side(BARE, run_one, verify)


SIDES = {BARE: bare_side, DURABLERUNS: durableruns_side}


# --- measuring -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Proc:
    ppid: int
    name: str
    cpu: float
    """utime + stime, seconds."""
    reaped_children_cpu: float
    """cutime + cstime: CPU of its children that ended and were waited for."""


def _processes() -> dict[int, _Proc]:
    """Every readable process from /proc (Linux); empty elsewhere."""
    tick = os.sysconf("SC_CLK_TCK")
    table: dict[int, _Proc] = {}
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
                name = text[text.index("(") + 1 : text.rindex(")")]
                fields = text.rsplit(")", 1)[1].split()
                table[int(entry)] = _Proc(
                    ppid=int(fields[1]),
                    name=name,
                    cpu=(int(fields[11]) + int(fields[12])) / tick,
                    reaped_children_cpu=(int(fields[13]) + int(fields[14])) / tick,
                )
            except (OSError, ValueError, IndexError):
                continue
    return table


@dataclass(frozen=True)
class CpuMark:
    """CPU seconds used so far, split into the dev server and everything else we run."""

    process: float
    """This process (all threads) plus its other descendants, e.g. task processes."""
    server: float | None
    """The ``temporal`` dev server (start_local spawns it as our child); None when /proc
    cannot tell."""

    @classmethod
    def now(cls) -> CpuMark:
        table = _processes()
        mine: list[int] = []
        frontier = [os.getpid()]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, proc in table.items() if proc.ppid == parent]
            mine += children
            frontier += children
        server: float | None = None
        helpers = 0.0
        for pid in mine:
            proc = table[pid]
            if proc.name == "temporal":
                server = (server or 0.0) + proc.cpu
            else:
                helpers += proc.cpu + proc.reaped_children_cpu
        times = os.times()
        own = time.process_time() + times.children_user + times.children_system
        return cls(process=own + helpers, server=server)


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Result:
    """One side's figures in one round."""

    side: str
    round: int
    runs: int
    concurrency: int
    seconds: float
    runs_per_s: float
    completed_p50_ms: float
    completed_p95_ms: float
    idle_runs: int
    idle_started_p50_ms: float
    idle_started_p95_ms: float
    idle_completed_p50_ms: float
    idle_completed_p95_ms: float
    process_cpu_ms_per_run: float
    """CPU of this process (worker, facade, HTTP client, driver) and of any processes it
    started other than the dev server (e.g. task processes), per run of the burst."""
    server_cpu_ms_per_run: float | None
    """CPU of the dev server per run of the burst (None where /proc is unavailable)."""


async def closed_loop(side: Side, n: int, concurrency: int) -> tuple[float, list[Sample]]:
    """``n`` runs through ``concurrency`` slots, each triggering its next run as soon as
    its previous one completed; returns the wall time from first send to last done."""
    numbers: Iterator[int] = iter(range(n))
    samples: list[Sample] = []

    async def slot() -> None:
        for i in numbers:  # shared iterator: each number is taken by exactly one slot
            samples.append(await side.run_one(i, False))

    begin = time.perf_counter()
    await asyncio.gather(*(slot() for _ in range(min(concurrency, n))))
    return time.perf_counter() - begin, samples


async def measure(client: Client, name: str, round_no: int, args: argparse.Namespace) -> Result:
    async with SIDES[name](client, args) as side:
        if args.warmup:
            await closed_loop(side, args.warmup, args.concurrency)
        before = CpuMark.now()
        seconds, samples = await closed_loop(side, args.runs, args.concurrency)
        after = CpuMark.now()
        await side.verify([s.run_id for s in random.sample(samples, min(10, len(samples)))])

        await asyncio.sleep(args.settle)  # let the server finish the burst's background work
        idle: list[Sample] = []
        for i in range(args.idle_runs):
            idle.append(await side.run_one(i, True))
            await asyncio.sleep(args.idle_gap)
        await side.verify([s.run_id for s in idle[:3]])

    completed = [s.completed_ms for s in samples]
    idle_started = [ms for s in idle if (ms := s.started_ms) is not None]
    idle_completed = [s.completed_ms for s in idle]
    result = Result(
        side=name,
        round=round_no,
        runs=args.runs,
        concurrency=args.concurrency,
        seconds=seconds,
        runs_per_s=args.runs / seconds,
        completed_p50_ms=percentile(completed, 50),
        completed_p95_ms=percentile(completed, 95),
        idle_runs=args.idle_runs,
        idle_started_p50_ms=percentile(idle_started, 50),
        idle_started_p95_ms=percentile(idle_started, 95),
        idle_completed_p50_ms=percentile(idle_completed, 50),
        idle_completed_p95_ms=percentile(idle_completed, 95),
        process_cpu_ms_per_run=(after.process - before.process) * 1000 / args.runs,
        server_cpu_ms_per_run=(
            None
            if after.server is None or before.server is None
            else (after.server - before.server) * 1000 / args.runs
        ),
    )
    print(
        f"  round {round_no} {name:<11} burst: {args.runs} runs in {seconds:.2f} s = "
        f"{result.runs_per_s:.1f} runs/s; trigger->completed p50 "
        f"{result.completed_p50_ms:.1f} ms, p95 {result.completed_p95_ms:.1f} ms; CPU/run "
        f"process {result.process_cpu_ms_per_run:.1f} ms, server "
        f"{_fmt(result.server_cpu_ms_per_run)} ms\n"
        f"  round {round_no} {name:<11} idle x{args.idle_runs}: trigger->started p50 "
        f"{result.idle_started_p50_ms:.1f} ms, p95 {result.idle_started_p95_ms:.1f} ms; "
        f"trigger->completed p50 {result.idle_completed_p50_ms:.1f} ms, p95 "
        f"{result.idle_completed_p95_ms:.1f} ms",
        flush=True,
    )
    return result


# --- report ----------------------------------------------------------------------------
@dataclass
class Report:
    config: dict[str, Any]
    results: list[Result] = field(default_factory=list)

    def pair(self, round_no: int) -> tuple[Result, Result]:
        by_side = {r.side: r for r in self.results if r.round == round_no}
        return by_side[BARE], by_side[DURABLERUNS]

    def round_ratios(self) -> list[dict[str, float]]:
        ratios = []
        for round_no in range(1, self.config["rounds"] + 1):
            bare, dr = self.pair(round_no)
            ratios.append(
                {
                    "round": round_no,
                    "throughput": dr.runs_per_s / bare.runs_per_s,
                    "completed_p50": dr.completed_p50_ms / bare.completed_p50_ms,
                    "idle_started_p50": dr.idle_started_p50_ms / bare.idle_started_p50_ms,
                    "idle_completed_p50": dr.idle_completed_p50_ms / bare.idle_completed_p50_ms,
                }
            )
        return ratios

    def summary(self) -> dict[str, Any]:
        ratios = self.round_ratios()
        median = statistics.median(r["throughput"] for r in ratios)
        sides: dict[str, dict[str, float]] = {}
        for name in (BARE, DURABLERUNS):
            mine = [r for r in self.results if r.side == name]
            sides[name] = {
                "median_runs_per_s": statistics.median(r.runs_per_s for r in mine),
                "median_idle_started_p50_ms": statistics.median(
                    r.idle_started_p50_ms for r in mine
                ),
                "median_idle_completed_p50_ms": statistics.median(
                    r.idle_completed_p50_ms for r in mine
                ),
            }
        return {
            "round_ratios": ratios,
            "median_throughput_ratio": median,
            "median_idle_completed_p50_ratio": statistics.median(
                r["idle_completed_p50"] for r in ratios
            ),
            "sides": sides,
            "target_ratio": TARGET_RATIO,
            "meets_target": median >= TARGET_RATIO,
        }

    def print_table(self) -> None:
        summary = self.summary()
        head = (
            f"{'round':>5} {'side':<11} {'total s':>8} {'runs/s':>7} {'p50 ms':>7} "
            f"{'p95 ms':>7} | {'idle start p50':>14} {'p95':>6} | {'idle done p50':>13} "
            f"{'p95':>6} | {'cpu/run proc':>12} {'server':>6}"
        )
        print()
        print(
            f"Summary: {self.config['runs']} runs x {self.config['rounds']} rounds, "
            f"concurrency {self.config['concurrency']}; latencies in ms from trigger send, "
            "CPU ms per run of the burst"
        )
        print(head)
        print("-" * len(head))
        for r in sorted(self.results, key=lambda r: (r.round, r.side)):
            print(
                f"{r.round:>5} {r.side:<11} {r.seconds:>8.2f} {r.runs_per_s:>7.1f} "
                f"{r.completed_p50_ms:>7.1f} {r.completed_p95_ms:>7.1f} | "
                f"{r.idle_started_p50_ms:>14.1f} {r.idle_started_p95_ms:>6.1f} | "
                f"{r.idle_completed_p50_ms:>13.1f} {r.idle_completed_p95_ms:>6.1f} | "
                f"{r.process_cpu_ms_per_run:>12.1f} {_fmt(r.server_cpu_ms_per_run):>6}"
            )
        print("-" * len(head))
        for ratio in summary["round_ratios"]:
            print(
                f"round {ratio['round']}: durableruns/bare throughput {ratio['throughput']:.2f}x"
                f" | idle ->completed p50 {ratio['idle_completed_p50']:.2f}x"
                f" | idle ->started p50 {ratio['idle_started_p50']:.2f}x"
            )
        verdict = "meets" if summary["meets_target"] else "is BELOW"
        print(
            f"median throughput ratio durableruns/bare: "
            f"{summary['median_throughput_ratio']:.2f} ({verdict} the target >= {TARGET_RATIO})"
        )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def environment() -> dict[str, Any]:
    binary = temporal_binary()
    try:
        cli = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        cli = "unknown"
    return {
        "python": platform.python_version(),
        "temporalio": importlib.metadata.version("temporalio"),
        "temporal_cli": cli,
        "cpus": os.cpu_count(),
        "dev_server_extra_args": dynamic_config_flags(),
    }


# --- main ------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=500, help="runs per side per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (sides alternate order)")
    parser.add_argument("--concurrency", type=int, default=32, help="runs in flight")
    parser.add_argument("--idle-runs", type=int, default=50, help="one-at-a-time runs")
    parser.add_argument("--warmup", type=int, default=20, help="untimed runs before each side")
    parser.add_argument("--settle", type=float, default=1.0, help="s between burst and idle")
    parser.add_argument("--idle-gap", type=float, default=0.05, help="s between idle runs")
    parser.add_argument("--timeout", type=float, default=60.0, help="s a single run may take")
    parser.add_argument(
        "--environment",
        default="dev",
        help="the facade's environment: dev (default, like `durableruns dev`) gives runs "
        "its default TTL; any other name gives none",
    )
    parser.add_argument(
        "--no-announce",
        action="store_true",
        help="lean attempts: the worker does not signal starts (announce_attempts off)",
    )
    parser.add_argument(
        "--announce-after",
        type=float,
        metavar="S",
        help="an execution announces its start after S s of code (default: the product's, "
        "1; 0: at once, the default before 2026-12-06)",
    )
    parser.add_argument(
        "--client",
        choices=("aiohttp", "httpx"),
        default="aiohttp",
        help="the load generator's HTTP client (default aiohttp; httpx is the SDK's, and "
        "costs this process ~1.5 ms of CPU per request at 32 in flight)",
    )
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.rounds < 1 or args.concurrency < 1 or args.idle_runs < 1:
        parser.error("--runs, --rounds, --concurrency and --idle-runs must be >= 1")
    return args


async def main(args: argparse.Namespace) -> int:
    report = Report(config={k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()})
    report.config["environment"] = environment()
    print(
        f"durableruns vs bare Temporal: {args.runs} runs/side/round, {args.rounds} rounds, "
        f"concurrency {args.concurrency}, {args.idle_runs} idle runs, environment "
        f"{args.environment!r}, load client {args.client}; "
        f"{report.config['environment']['cpus']} CPUs, temporalio "
        f"{report.config['environment']['temporalio']}",
        flush=True,
    )
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=dynamic_config_flags(),
    )
    try:
        for round_no in range(1, args.rounds + 1):
            order = [BARE, DURABLERUNS] if round_no % 2 else [DURABLERUNS, BARE]
            for name in order:
                report.results.append(await measure(env.client, name, round_no, args))
    finally:
        await env.shutdown()

    report.print_table()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "config": report.config,
            "results": [asdict(r) for r in report.results],
            "summary": report.summary(),
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


def cli(argv: list[str]) -> NoReturn:
    """Run the benchmark and leave through exit_process (temporalio's exit crash)."""
    logging.basicConfig(level=logging.WARNING)
    args = parse_args(argv)
    try:
        status = run_service(main(args))  # the loop the product runs on
    except KeyboardInterrupt:
        status = 130
    except Exception:
        traceback.print_exc()
        status = 1
    exit_process(status)


if __name__ == "__main__":
    cli(sys.argv[1:])
