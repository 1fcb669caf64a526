"""Waits that hold nothing, measured: many waiting runs on one worker, parents and
children of one task, resume latency, and the no-op guard rails (issue 10).

One in-memory Temporal dev server (``temporal`` from the venv, the dev stack's
``dynamic_config_flags()``) started here, and ONE ``durableruns worker`` subprocess
serving ``bench/wait_tasks.py``, so its process tree (the worker, its fork server and
task processes) can be measured from /proc. Runs are triggered in this process through
the engine's ``RunService``. Timed figures come from the runs' histories (server event
times, and the ``started_at`` each ``attempt_started`` signal carries); the worker tree
is sampled every second. In order:

3. resume latency on the idle stack (single-wait runs, then one run of
   ``--sequence`` waits);
4. a no-op run's history size;
1. ``--runs`` runs that each ``wait.for_(seconds=--wait-s)``;
2. ``--parents`` parents that each ``trigger_and_wait`` a child of the same task;
4. ``bench/throughput.py`` (its own dev server, after ours stopped) for the no-op
   ratio to bare Temporal.

Run: ``.venv/bin/python bench/waits.py [--runs 1000] [--parents 300] [--wait-s 60]``.
See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from proc_tree import CpuMark, Sampler, WorkerProcess, breakdown, describe_cpu, load
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from wait_history import Resume, Timeline, max_overlap, parts_summary, percentile, timeline

from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.event_loop import run_service
from durableruns.models import RunOptions
from durableruns.process import exit_process
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary
from durableruns.service.runs import RunService
from durableruns.settings import DEV_DEFAULT_TTL_S
from durableruns.status import RunStatus

BENCH = Path(__file__).resolve().parent
VERSION = "bench.1"
MAX_NOOP_EVENTS = 17
RSS_BUDGET_MB = 300.0
COMPLETE_WITHIN_S = 30.0
RESUME_P50_TARGET_MS = 100.0
LOADED_RESUME_P50_TARGET_MS = 150.0
"""Issue 28: a resume's p50 with 1,000 runs waiting (the probes of part [1])."""
T = TypeVar("T")


class BenchError(Exception):
    """A run did not end as expected: the figures would be meaningless."""


def say(text: str) -> None:
    print(text, flush=True)


async def bounded(items: Sequence[T], limit: int, fn: Callable[[T], Awaitable[Any]]) -> list[Any]:
    """``fn`` over ``items`` with at most ``limit`` in flight; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(item: T) -> Any:
        async with gate:
            return await fn(item)

    return await asyncio.gather(*(one(item) for item in items))


class Bench:
    """The stack under test and the figures gathered so far."""

    def __init__(self, client: Client, worker: WorkerProcess, args: argparse.Namespace) -> None:
        self.client = client
        self.worker = worker
        self.args = args
        self.service = RunService(client, task_queue_prefix=worker.prefix)
        self.sampler = Sampler(worker.pid, every=0.5)
        self.figures: dict[str, Any] = {}

    async def trigger(self, task_id: str, payload: Any) -> str:
        triggered = await self.service.trigger(
            task_id, payload, RunOptions(), default_ttl_s=DEV_DEFAULT_TTL_S
        )
        return triggered.run_id

    async def trigger_many(
        self, task_id: str, payloads: list[Any]
    ) -> tuple[list[str], float, float]:
        """Trigger all (``--trigger-concurrency`` in flight; at most ``--trigger-rate``
        a second when given): ids, first send, last return."""
        first = time.time()
        rate: float | None = self.args.trigger_rate
        begin = time.monotonic()
        numbered = list(enumerate(payloads))

        async def paced(item: tuple[int, Any]) -> str:
            number, payload = item
            if rate:  # item n is sent no sooner than n / rate s after the first
                await asyncio.sleep(max(0.0, begin + number / rate - time.monotonic()))
            return await self.trigger(task_id, payload)

        ids = await bounded(numbered, self.args.trigger_concurrency, paced)
        return ids, first, time.time()

    def cpu(self) -> CpuMark:
        return CpuMark.now(self.worker.pid)

    async def count(self, query: str) -> int:
        return (await self.client.count_workflows(query)).count

    async def until_count(
        self, query: str, n: int, timeout: float, label: str, *, required: bool = True
    ) -> float | None:
        """Poll visibility until ``query`` counts ``n``; returns when (epoch s), or None
        after ``timeout`` when not ``required``."""
        deadline = time.monotonic() + timeout
        last_print = 0.0
        while True:
            seen = await self.count(query)
            if seen >= n:
                return time.time()
            if time.monotonic() > deadline:
                if not required:
                    say(f"    ... {label}: only {seen}/{n} within {timeout:.0f} s")
                    return None
                raise BenchError(f"{label}: {seen}/{n} after {timeout:.0f} s ({query})")
            if time.monotonic() - last_print > 10:
                last_print = time.monotonic()
                tree = self.sampler.latest()
                say(f"    ... {label}: {seen}/{n}; worker tree {tree.describe()}")
            await asyncio.sleep(0.5)

    async def timelines(self, ids: list[str]) -> list[Timeline]:
        return await bounded(ids, 16, lambda run_id: timeline(self.client, run_id))

    async def finished(self, run_id: str, timeout: float) -> Timeline:
        """Wait for the run's workflow to close; its timeline, which must be COMPLETED."""
        async with asyncio.timeout(timeout):
            await self.client.get_workflow_handle(run_id).result()
        line = await timeline(self.client, run_id)
        if line.record is None or line.record.status is not RunStatus.COMPLETED:
            status = None if line.record is None else line.record.status
            raise BenchError(f"run {run_id} ended {status}")
        return line


# --- 3. resume latency -------------------------------------------------------------------
async def resume_latency(bench: Bench) -> None:
    args = bench.args
    say(
        f"\n[3] Resume latency (idle stack; DURABLERUNS_SHORT_WAIT_S={args.short_wait_s}, "
        f"waits of {args.latency_wait_s} s): TIMER_FIRED -> the continuation's started_at"
    )
    scratch = Path(tempfile.mkdtemp(prefix="bench-waits-"))
    singles, code_top, resumes, line = await single_resumes(bench, args.latency_runs, scratch)
    p50, p95 = percentile(singles, 50), percentile(singles, 95)
    verdict = "meets" if p50 <= RESUME_P50_TARGET_MS else "MISSES"
    say(
        f"  {len(singles)} single-wait runs, one at a time: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"min {min(singles):.1f}, max {max(singles):.1f} ({verdict} the target p50 <= "
        f"{RESUME_P50_TARGET_MS:.0f} ms)\n    parts: {parts_summary(resumes)}\n    to the "
        f"first line of the task function (its own clock, in its task process): p50 "
        f"{percentile(code_top, 50):.1f} ms, p95 {percentile(code_top, 95):.1f} ms\n    "
        f"a single-wait run's history: {line.events} events: {' '.join(line.kinds)}"
    )
    bench.figures["resume_single"] = {
        "n": len(singles),
        "p50_ms": p50,
        "p95_ms": p95,
        "all_ms": singles,
        "code_top_p50_ms": percentile(code_top, 50),
        "code_top_p95_ms": percentile(code_top, 95),
        "history_events": line.events,
    }

    count = args.sequence
    trace = scratch / "sequence"
    run_id = await bench.trigger(
        "bench-waits-sequence",
        {"count": count, "seconds": args.latency_wait_s, "trace": str(trace)},
    )
    line = await bench.finished(run_id, timeout=count * (args.latency_wait_s + 5) + 60)
    latencies = [r.total_ms for r in line.resumes]
    if len(latencies) != count or any(ms is None for ms in latencies):
        raise BenchError(f"sequence run {run_id}: {len(latencies)} resumes for {count} waits")
    ms = [float(x) for x in latencies if x is not None]
    tops = _trace(trace)
    top_ms = [(tops[k] - r.fired) * 1000 for k, r in enumerate(line.resumes, start=1)]
    say(
        f"  one run of {count} sequential waits: {line.events} history events, "
        f"{line.executions} executions; resume k re-runs the code through k recorded waits:"
    )
    marks = [k for k in (1, 2, 10, 50, 100, count) if k <= count]
    say("    " + ", ".join(f"k={k}: {ms[k - 1]:.1f} ms" for k in sorted(set(marks))))
    say(
        "    to the function's first line: "
        + ", ".join(f"k={k}: {top_ms[k - 1]:.1f} ms" for k in sorted(set(marks)))
    )
    windows = [(a, b) for a, b in ((1, 10), (41, 60), (count - 9, count)) if 1 <= a <= b <= count]
    say(
        "    medians: "
        + ", ".join(f"k {a}-{b}: {statistics.median(ms[a - 1 : b]):.1f} ms" for a, b in windows)
    )
    slope = _slope(list(range(1, count + 1)), ms)
    say(f"    least-squares growth: {slope:.2f} ms per recorded wait")
    say(f"    parts k 1-10: {parts_summary(line.resumes[:10])}")
    say(f"    parts k {count - 9}-{count}: {parts_summary(line.resumes[-10:])}")
    bench.figures["resume_sequence"] = {
        "waits": count,
        "history_events": line.events,
        "latency_ms": ms,
        "slope_ms_per_wait": slope,
        "code_top_ms": top_ms,
    }


async def single_resumes(
    bench: Bench, n: int, scratch: Path
) -> tuple[list[float], list[float], list[Resume], Timeline]:
    """``n`` runs of one short wait, one at a time: each resume's latency (timer fired ->
    the continuation's start), the same to the task function's first line, the resumes
    and the last run's timeline."""
    args = bench.args
    singles: list[float] = []
    code_top: list[float] = []
    resumes: list[Resume] = []
    line: Timeline | None = None
    for i in range(n):
        trace = scratch / f"single-{i}"
        payload = {"count": 1, "seconds": args.latency_wait_s, "trace": str(trace)}
        line = await bench.finished(await bench.trigger("bench-waits-sequence", payload), 60)
        if not line.resumes or line.resumes[0].total_ms is None:
            raise BenchError(f"single-wait run {line.run_id} has no timer/resume in its history")
        singles.append(line.resumes[0].total_ms)
        code_top.append((_trace(trace)[1] - line.resumes[0].fired) * 1000)
        resumes.append(line.resumes[0])
        await asyncio.sleep(args.latency_gap_s)
    assert line is not None, "n >= 1"
    return singles, code_top, resumes, line


def _trace(path: Path) -> list[float]:
    """The execution start times a traced bench-waits-sequence run wrote."""
    return [float(x) for x in path.read_text().split()]


def _slope(xs: list[int], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


# --- 4a. the no-op history -----------------------------------------------------------------
async def noop_history(bench: Bench) -> None:
    run_id = await bench.trigger("bench-waits-noop", {})
    line = await bench.finished(run_id, timeout=60)
    verdict = "meets" if line.events <= MAX_NOOP_EVENTS else "EXCEEDS"
    say(
        f"\n[4a] A no-op run's history: {line.events} events ({verdict} the limit "
        f"{MAX_NOOP_EVENTS}; dev TTL {DEV_DEFAULT_TTL_S:.0f} s as `durableruns dev` gives)"
    )
    bench.figures["noop_history_events"] = line.events


# --- 1. many waiting runs ------------------------------------------------------------------
async def waiting_runs(bench: Bench) -> None:
    args = bench.args
    n = args.runs
    say(f"\n[1] {n} runs that each wait.for_(seconds={args.wait_s:g})")
    await asyncio.sleep(2)
    idle = await bench.sampler.steady(3)
    say(f"  idle worker tree: {idle.describe()}")
    bench.sampler.phase = "waits"
    profiler = bench.worker.profile(args.profile_worker) if args.profile_worker else None
    cpu_start = bench.cpu()
    ids, first, last = await bench.trigger_many("bench-waits-sleep", [{"seconds": args.wait_s}] * n)
    say(f"  triggered {n} in {last - first:.2f} s ({n / (last - first):.0f}/s)")
    task = "TriggerTaskId = 'bench-waits-sleep'"
    all_waiting = await bench.until_count(
        f"{task} AND TriggerStatus = 'WAITING'", n, args.wait_s, "WAITING", required=False
    )
    cpu_waiting = bench.cpu()
    if all_waiting is not None:
        say(f"  visibility: all {n} WAITING {all_waiting - last:.2f} s after the last trigger")
    burst_cpu = cpu_waiting.since(cpu_start, n)
    say(f"  trigger -> all WAITING (or the wait's end): {describe_cpu(burst_cpu)}")
    waiting = await bench.sampler.steady(5)
    per_process = breakdown(bench.worker.pid)
    cpu_quiet = bench.cpu()
    still = await bench.count(f"{task} AND TriggerStatus = 'WAITING'")
    grow_rss, grow_pss = waiting.rss_mb - idle.rss_mb, waiting.pss_mb - idle.pss_mb
    peak = bench.sampler.peak("waits")
    verdict = "meets" if grow_rss < RSS_BUDGET_MB else "MISSES"
    say(
        f"  worker tree while all wait ({still}/{n} still WAITING at the end of sampling): "
        f"{waiting.describe()}\n  growth over idle: RSS {grow_rss:+.0f} MB, PSS {grow_pss:+.0f} "
        f"MB, processes {waiting.processes - idle.processes:+d} ({verdict} the target RSS < "
        f"+{RSS_BUDGET_MB:.0f} MB, no process per waiting run)\n  peak during the burst: "
        f"{peak.describe()}; at least {len(bench.sampler.seen.get('waits', ()))} distinct pids "
        f"seen in the tree"
    )
    say("  the tree, while all wait:\n" + "\n".join(f"    {line}" for line in per_process))
    loaded: dict[str, float] = {}
    if args.loaded_probes:
        scratch = Path(tempfile.mkdtemp(prefix="bench-waits-loaded-"))
        probes, probe_tops, probe_resumes, _ = await single_resumes(
            bench, args.loaded_probes, scratch
        )
        probed_until = time.time()
        waiting_now = await bench.count(f"{task} AND TriggerStatus = 'WAITING'")
        verdict = "meets" if percentile(probes, 50) <= LOADED_RESUME_P50_TARGET_MS else "MISSES"
        loaded = {
            "n": len(probes),
            "p50_ms": percentile(probes, 50),
            "p95_ms": percentile(probes, 95),
            "code_top_p50_ms": percentile(probe_tops, 50),
            "still_waiting_after": waiting_now,
            "probed_until": probed_until,
        }
        say(
            f"  resume while they wait: {len(probes)} single-wait runs one at a time, "
            f"p50 {loaded['p50_ms']:.1f} ms, p95 {loaded['p95_ms']:.1f} ms ({verdict} the "
            f"target p50 <= {LOADED_RESUME_P50_TARGET_MS:.0f} ms); to the function's first "
            f"line p50 {loaded['code_top_p50_ms']:.1f} ms; {waiting_now}/{n} still WAITING "
            f"after the probes\n    parts: {parts_summary(probe_resumes)}"
        )
    await bench.until_count(
        f"{task} AND ExecutionStatus = 'Completed'", n, args.wait_s + 600, "COMPLETED"
    )
    cpu_done = bench.cpu()
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        await asyncio.to_thread(profiler.wait, 60)
        say(f"  py-spy profile of the worker tree written to {args.profile_worker}")
    resume_cpu = cpu_done.since(cpu_quiet, n)
    say(f"  (sampling done) -> all COMPLETED: {describe_cpu(resume_cpu)}")
    bench.sampler.phase = "after-waits"
    lines = await bench.timelines(ids)
    bad = [
        t.run_id for t in lines if t.record is None or t.record.status is not RunStatus.COMPLETED
    ]
    if bad or any(t.waiting_at is None for t in lines):
        raise BenchError(f"{len(bad)} runs did not complete, e.g. {bad[:3]}")
    waiting_at = max(t.waiting_at or 0 for t in lines)
    done_at = max(t.completed_at or 0 for t in lines)
    retried = [t for t in lines if t.record and len(t.record.attempts) > 1]
    for t in retried[:5]:
        errors = [
            f"#{a.number} {a.status.value} {a.error.name if a.error else ''}: "
            f"{(a.error.message if a.error else '')[:160]}"
            for a in t.record.attempts  # type: ignore[union-attr]
        ]
        say(f"  RETRIED {t.run_id}: {errors}; history: {t.failures}")
    # A continuation's resume (not a retry's backoff timer followed by a new attempt).
    first_resume = {t.run_id: next((r for r in t.resumes if r.continuation), None) for t in lines}
    resumed = [r for r in first_resume.values() if r is not None]
    fired_first = min(r.fired for r in resumed)
    overlap = max_overlap(
        [(t.waiting_at or 0, r.fired) for t in lines if (r := first_resume[t.run_id])]
    )
    storm = [ms for r in resumed if (ms := r.total_ms) is not None]
    target = args.wait_s + COMPLETE_WITHIN_S
    verdict = "meets" if done_at - last <= target else "MISSES"
    attempts = {len(t.record.attempts) for t in lines if t.record}
    say(
        f"  from the histories: last WAITING {waiting_at - last:.2f} s after the last trigger "
        f"(first timer fired {fired_first - last:.2f} s after it); at most {overlap}/{n} "
        f"WAITING at once\n  all COMPLETED {done_at - last:.2f} s after the last trigger "
        f"({done_at - first:.2f} s after the first; {verdict} the target <= {args.wait_s:g} + "
        f"{COMPLETE_WITHIN_S:.0f} s); attempts per run {sorted(attempts)} ({len(retried)} "
        f"runs retried)\n  resume after the "
        f"timer under this load: p50 {percentile(storm, 50):.0f} ms, p95 "
        f"{percentile(storm, 95):.0f} ms, max {max(storm):.0f} ms; {parts_summary(resumed)}"
    )
    bench.figures["waits"] = {
        "runs": n,
        "wait_s": args.wait_s,
        "trigger_s": last - first,
        "idle": idle.as_dict(),
        "waiting": waiting.as_dict(),
        "peak": peak.as_dict(),
        "rss_growth_mb": grow_rss,
        "pss_growth_mb": grow_pss,
        "all_waiting_after_last_trigger_s": waiting_at - last,
        "all_completed_after_last_trigger_s": done_at - last,
        "max_waiting_at_once": overlap,
        "retried_runs": len(retried),
        "resume_while_waiting": loaded,
        "resume_under_load_p50_ms": percentile(storm, 50),
        "resume_under_load_p95_ms": percentile(storm, 95),
        "cpu_trigger_to_all_waiting": burst_cpu,
        "cpu_to_all_completed": resume_cpu,
        "tree_while_waiting": per_process,
    }


# --- 2. parents and children of one task -------------------------------------------------
async def parents_and_children(bench: Bench) -> None:
    n = bench.args.parents
    say(f"\n[2] {n} parents, each trigger_and_wait-ing a child of the same task")
    bench.sampler.phase = "family"
    cpu_start = bench.cpu()
    ids, first, last = await bench.trigger_many("bench-waits-family", [{"depth": 1}] * n)
    await bench.until_count(
        "TriggerTaskId = 'bench-waits-family' AND ExecutionStatus = 'Completed'",
        2 * n,
        600,
        "parents+children COMPLETED",
    )
    bench.sampler.phase = "after-family"
    family_cpu = bench.cpu().since(cpu_start, n)
    lines = await bench.timelines(ids)
    ok = [
        t
        for t in lines
        if t.record and t.record.status is RunStatus.COMPLETED and t.record.output.get("ok")
    ]
    if len(ok) != n:
        raise BenchError(f"only {len(ok)}/{n} parents COMPLETED with a COMPLETED child")
    children = {c for t in lines if t.record for c in t.record.child_run_ids}
    done_at = max(t.completed_at or 0 for t in lines)
    peak = bench.sampler.peak("family")
    say(
        f"  all {n} parents and {len(children)} children COMPLETED: {done_at - first:.2f} s "
        f"from the first trigger, {done_at - last:.2f} s after the last (triggers took "
        f"{last - first:.2f} s)\n  peak worker tree: {peak.describe()}\n  "
        f"{describe_cpu(family_cpu)} (per parent, its child included)"
    )
    bench.figures["family"] = {
        "parents": n,
        "children": len(children),
        "seconds_from_first_trigger": done_at - first,
        "seconds_after_last_trigger": done_at - last,
        "peak": peak.as_dict(),
        "cpu": family_cpu,
    }


# --- 4b. throughput against bare Temporal ------------------------------------------------
def throughput(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.throughput_runs <= 0:
        return None
    say(
        f"\n[4b] bench/throughput.py --runs {args.throughput_runs} --rounds "
        f"{args.throughput_rounds} (its own dev server; ours has stopped)"
    )
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "throughput.json"
        command = [
            sys.executable,
            str(BENCH / "throughput.py"),
            "--runs",
            str(args.throughput_runs),
        ]
        command += ["--rounds", str(args.throughput_rounds), "--json", str(out)]
        status = subprocess.run(command, cwd=BENCH.parent, check=False).returncode
        if status != 0 or not out.exists():
            raise BenchError(f"bench/throughput.py exited {status}")
        summary: dict[str, Any] = json.loads(out.read_text())["summary"]
    ratios = [r["throughput"] for r in summary["round_ratios"]]
    say(
        f"  no-op throughput durableruns/bare: rounds {', '.join(f'{r:.2f}x' for r in ratios)}; "
        f"median {summary['median_throughput_ratio']:.2f}x (today's: 0.52-0.61x)"
    )
    return summary


PHASES: dict[str, Callable[[Bench], Awaitable[None]]] = {
    "3": resume_latency,
    "4a": noop_history,
    "1": waiting_runs,
    "2": parents_and_children,
}


# --- main ----------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add = parser.add_argument
    add("--runs", type=int, default=1000, help="[1] runs that wait")
    add("--wait-s", type=float, default=60.0, help="[1] each run's wait.for_ (quote 60)")
    add(
        "--loaded-probes",
        type=int,
        default=20,
        help="[1] single-wait runs timed one at a time while all --runs wait (0: none)",
    )
    add("--parents", type=int, default=300, help="[2] parents (each waits on one child)")
    add("--latency-runs", type=int, default=30, help="[3] single-wait runs, one at a time")
    add("--latency-gap-s", type=float, default=0.2, help="[3] pause between them")
    add("--latency-wait-s", type=float, default=0.3, help="[3] each wait")
    add("--sequence", type=int, default=101, help="[3] sequential waits in one run")
    add("--short-wait-s", type=float, default=0.1, help="the worker's DURABLERUNS_SHORT_WAIT_S")
    add(
        "--max-concurrent-attempts",
        type=int,
        help="the worker's DURABLERUNS_MAX_CONCURRENT_ATTEMPTS",
    )
    add(
        "--no-announce",
        action="store_true",
        help="the worker's DURABLERUNS_ANNOUNCE_ATTEMPTS=0 (lean attempts)",
    )
    add("--trigger-concurrency", type=int, default=50, help="triggers in flight")
    add(
        "--trigger-rate",
        type=float,
        help="at most this many triggers a second (default: as fast as they go). The "
        "runs' timers fire as densely as the runs reached their waits, so hold this "
        "equal to compare [1]'s timer storm between workers",
    )
    add("--throughput-runs", type=int, default=300, help="[4b] throughput.py --runs (0: skip)")
    add("--throughput-rounds", type=int, default=2, help="[4b] throughput.py --rounds")
    add("--phases", default="3,4a,1,2", help="which parts, in this order (4b: --throughput-runs)")
    add("--json", type=Path, help="write the figures to this file")
    add(
        "--profile-worker",
        type=Path,
        help="[1] record the worker tree with py-spy (pip install py-spy) into this file "
        "(collapsed stacks), from the first trigger until all completed",
    )
    args = parser.parse_args(argv)
    if unknown := set(args.phases.split(",")) - set(PHASES):
        parser.error(f"--phases: unknown {sorted(unknown)}; choose from {sorted(PHASES)}")
    if args.short_wait_s >= args.latency_wait_s or args.short_wait_s >= args.wait_s:
        parser.error(
            "--short-wait-s must be below --latency-wait-s and --wait-s (waits must suspend)"
        )
    return args


async def main(args: argparse.Namespace) -> int:
    say(f"bench/waits.py {' '.join(sys.argv[1:])}; {os.cpu_count()} CPUs; load {load()}")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=dynamic_config_flags(),
    )
    figures: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    try:
        address = env.client.service_client.config.target_host
        worker = WorkerProcess.start(
            address,
            prefix=f"bench-{uuid.uuid4().hex[:8]}",
            modules=["wait_tasks"],
            version=VERSION,
            pythonpath=BENCH,
            env={
                "DURABLERUNS_SHORT_WAIT_S": str(args.short_wait_s),
                **({"DURABLERUNS_ANNOUNCE_ATTEMPTS": "0"} if args.no_announce else {}),
                **(
                    {"DURABLERUNS_MAX_CONCURRENT_ATTEMPTS": str(args.max_concurrent_attempts)}
                    if args.max_concurrent_attempts
                    else {}
                ),
            },
        )
        try:
            await worker.wait_ready(timeout=60)
            bench = Bench(env.client, worker, args)
            async with bench.sampler.running():
                say(f"  fresh worker tree: {(await bench.sampler.steady(1)).describe()}")
                for name in args.phases.split(","):
                    await PHASES[name](bench)
                    say(f"  (load {load()})")
            figures.update(bench.figures)
        finally:
            worker.stop()
    finally:
        await env.shutdown()
    figures["throughput"] = throughput(args)
    say(f"\nload at the end: {load()}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
        say(f"figures written to {args.json}")
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
