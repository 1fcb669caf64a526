"""Soak: mixed runs at a steady rate for a long time; nothing stuck, lost or duplicated,
memory flat, histories small. Not part of the test suite (it runs for minutes).

One in-memory dev server (its own), ``durableruns worker`` and ``durableruns api`` each in
its own process as deployed, and a driver that triggers, at ``--rate`` runs/s for
``--minutes``, a cycle of: a no-op (``hello-world``), a retry (``flaky``, first attempt
fails), a failure (``always-fails``, FAILED after 2 attempts), a durable timer
(``bench-waits-sleep``, 2 s: suspends), a child (``bench-waits-family``, depth 1) and a
wait token (``wait-for-approval``, completed by the driver once the run waits on it).
Then it stops triggering and gives the runs ``--drain`` seconds to finish.

Reported: runs per kind and final status (each kind has one expected status), runs not
finished after the drain (stuck), runs the facade no longer finds (lost), runs counted
by Temporal's visibility under the soak's tag against those triggered (duplicates), the
RSS of the worker's process tree and of the facade after warm-up and at the end
(sampled each minute), the longest history of a sample of runs, and the load average.

Run: ``.venv/bin/python bench/soak.py --minutes 20 --rate 2`` (``--json FILE`` too).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from durableruns.engine import search_attributes as sa  # noqa: E402
from durableruns.engine.converter import DATA_CONVERTER  # noqa: E402
from durableruns.process import exit_process  # noqa: E402
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary  # noqa: E402

SECRET_KEY = "tr_dev_soak_secret_key"
VERSION = "soak.1"
MIX: list[tuple[str, str, Any, str]] = [
    # kind, task, payload, expected final status
    ("noop", "hello-world", {"name": "soak"}, "COMPLETED"),
    ("retry", "flaky", {"fail_times": 1}, "COMPLETED"),
    ("failure", "always-fails", {}, "FAILED"),
    ("timer", "bench-waits-sleep", {"seconds": 2}, "COMPLETED"),
    ("child", "bench-waits-family", {"depth": 1}, "COMPLETED"),
    ("token", "wait-for-approval", {"timeout": "10m"}, "COMPLETED"),
]
HISTORY_LIMIT_EVENTS = 51_200
"""Temporal's default hard limit on a workflow's history length."""


@dataclass
class Triggered:
    run_id: str
    kind: str
    expected: str
    status: str = "PENDING"
    done: bool = False
    token_completed: bool = False


@dataclass
class Soak:
    runs: list[Triggered] = field(default_factory=list)
    trigger_errors: Counter[str] = field(default_factory=Counter)
    rss: list[dict[str, float]] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def _tree(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        children = [c for c, p in parents.items() if p == parent]
        found += children
        frontier += children
    return found


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@contextlib.contextmanager
def processes(address: str, prefix: str, port: int) -> Any:
    state = tempfile.mkdtemp(prefix="durableruns-soak-")
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}",
        "DURABLERUNS_TEMPORAL_ADDRESS": address,
        "DURABLERUNS_TASK_QUEUE_PREFIX": prefix,
        "DURABLERUNS_SECRET_KEY": SECRET_KEY,
        "DURABLERUNS_STATE_DIR": state,
        "DURABLERUNS_ENVIRONMENTS": '["dev"]',
        "DURABLERUNS_API_PORT": str(port),
        "DURABLERUNS_SHORT_WAIT_S": "1",
    }
    command = str(Path(sys.executable).parent / "durableruns")
    tasks = ["--tasks", "activities", "--tasks", "workflows", "--tasks", "wait_tasks"]
    worker = subprocess.Popen([command, "worker", *tasks, "--version", VERSION], cwd=ROOT, env=env)
    api = subprocess.Popen([command, "api"], stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    try:
        yield worker.pid, api.pid
    finally:
        for process in (api, worker):
            process.terminate()
        for process in (api, worker):
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_ready(http: httpx.AsyncClient) -> None:
    for _ in range(600):
        with contextlib.suppress(httpx.TransportError):
            response = await http.post(
                "/api/v1/tasks/hello-world/trigger", json={"payload": {"name": "ready"}}
            )
            if response.status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError("the facade or the worker did not come up")


async def drive(http: httpx.AsyncClient, soak: Soak, tag: str, seconds: float, rate: float) -> None:
    """Trigger the mix at ``rate`` runs/s for ``seconds`` (a steady schedule, not a burst:
    a late trigger does not bunch the next ones)."""
    start = time.monotonic()
    index = 0
    while time.monotonic() - start < seconds:
        kind, task, payload, expected = MIX[index % len(MIX)]
        index += 1
        try:
            response = await http.post(
                f"/api/v1/tasks/{task}/trigger",
                json={"payload": payload, "options": {"tags": [tag]}},
            )
            if response.status_code == 200:
                soak.runs.append(Triggered(response.json()["id"], kind, expected))
            else:
                soak.trigger_errors[f"{kind} {response.status_code}"] += 1
        except httpx.HTTPError as exc:
            soak.trigger_errors[f"{kind} {type(exc).__name__}"] += 1
        await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))


async def follow(http: httpx.AsyncClient, soak: Soak, stop: asyncio.Event) -> None:
    """Poll the unfinished runs; complete the tokens runs wait on."""
    while not stop.is_set():
        pending = [run for run in soak.runs if not run.done]
        for run in pending:
            with contextlib.suppress(httpx.HTTPError):
                response = await http.get(f"/api/v3/runs/{run.run_id}")
                if response.status_code == 404:
                    run.status = "LOST"
                    continue
                body = response.json()
                run.status = body["status"]
                run.done = bool(body["isCompleted"])
                token_id = (body.get("metadata") or {}).get("tokenId")
                waiting = body["status"] == "WAITING"
                if run.kind == "token" and token_id and waiting and not run.token_completed:
                    answer = await http.post(
                        f"/api/v1/waitpoints/tokens/{token_id}/complete",
                        json={"data": {"approved": True}},
                    )
                    run.token_completed = answer.status_code == 200
        await asyncio.sleep(1.0)


async def sample_rss(soak: Soak, worker: int, api: int, stop: asyncio.Event, every: float) -> None:
    started = time.monotonic()
    while True:
        soak.rss.append(
            {
                "t_s": round(time.monotonic() - started),
                "worker_tree_mb": round(_rss_mb(_tree(worker)), 1),
                "worker_mb": round(_rss_mb([worker]), 1),
                "api_mb": round(_rss_mb([api]), 1),
            }
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
            return


async def history_sizes(client: Client, runs: list[Triggered]) -> dict[str, int]:
    """The longest history per kind among a sample of runs (the last 5 of each)."""
    longest: dict[str, int] = {}
    for kind, *_ in MIX:
        for run in [r for r in runs if r.kind == kind][-5:]:
            description = await client.get_workflow_handle(run.run_id).describe()
            length = description.raw_description.workflow_execution_info.history_length
            longest[kind] = max(longest.get(kind, 0), int(length))
    return longest


async def main(args: argparse.Namespace) -> dict[str, Any]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=dynamic_config_flags(),
    )
    try:
        address = env.client.service_client.config.target_host
        prefix = f"soak-{uuid.uuid4().hex[:8]}"
        tag = prefix
        port = _free_port()
        soak = Soak()
        load_start = _loadavg()
        with processes(address, prefix, port) as (worker, api):
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Bearer {SECRET_KEY}"},
                timeout=60,
            ) as http:
                await wait_ready(http)
                await asyncio.sleep(5)  # warm-up: task processes started, caches filled
                stop_follow, stop_rss = asyncio.Event(), asyncio.Event()
                followers = asyncio.ensure_future(follow(http, soak, stop_follow))
                sampler = asyncio.ensure_future(
                    sample_rss(soak, worker, api, stop_rss, args.sample_every)
                )
                await drive(http, soak, tag, args.minutes * 60, args.rate)
                drain_start = time.monotonic()
                while time.monotonic() - drain_start < args.drain:
                    if all(run.done for run in soak.runs):
                        break
                    await asyncio.sleep(1)
                drained_s = time.monotonic() - drain_start
                stop_follow.set()
                await followers
                stop_rss.set()
                await sampler
                counted = (await env.client.count_workflows(f"TriggerTags = '{tag}'")).count
                longest = await history_sizes(env.client, soak.runs)
        load_end = _loadavg()
    finally:
        await env.shutdown()

    by_kind: dict[str, Counter[str]] = {}
    for run in soak.runs:
        by_kind.setdefault(run.kind, Counter())[run.status] += 1
    unexpected = [
        (run.run_id, run.kind, run.status)
        for run in soak.runs
        if run.done and run.status != run.expected
    ]
    return {
        "minutes": args.minutes,
        "rate_per_s": args.rate,
        "triggered": len(soak.runs),
        "trigger_errors": dict(soak.trigger_errors),
        "by_kind": {kind: dict(counts) for kind, counts in by_kind.items()},
        "stuck": [r.run_id for r in soak.runs if not r.done and r.status != "LOST"],
        "lost": [r.run_id for r in soak.runs if r.status == "LOST"],
        "unexpected_status": unexpected[:20],
        "visibility_count": counted,
        "duplicates": counted - len(soak.runs),
        "drain_s": round(drained_s, 1),
        "rss_start": soak.rss[0] if soak.rss else None,
        "rss_end": soak.rss[-1] if soak.rss else None,
        "rss_samples": soak.rss,
        "longest_history_events": longest,
        "history_limit_events": HISTORY_LIMIT_EVENTS,
        "loadavg_start": load_start,
        "loadavg_end": load_end,
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=2.0, help="runs triggered per second")
    parser.add_argument("--drain", type=float, default=180.0, help="seconds to finish after")
    parser.add_argument("--sample-every", type=float, default=60.0, help="RSS sample period")
    parser.add_argument("--json", type=Path, help="also write the report here")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _arguments()
    report = asyncio.run(main(arguments))
    text = json.dumps(report, indent=2)
    print(text)
    if arguments.json:
        arguments.json.write_text(text)
    failed = (
        report["stuck"] or report["lost"] or report["duplicates"] or report["unexpected_status"]
    )
    exit_process(1 if failed else 0)
