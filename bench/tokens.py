"""Wait tokens: how long a completion takes to resume its run, and how many waiting
runs a burst of completions resumes per second.

* **latency**: K (default 20) ``wait-for-approval`` runs one after another; each is
  completed (``POST …/complete``) once it is WAITING on its token, and the time from
  the completion to the run's COMPLETED (polled every 10 ms) is reported (p50, p95).
* **burst**: N (default 100) runs WAITING on their tokens at once, all completed
  together (16 in flight); reports completions/s until the last run COMPLETED
  (polled every 250 ms, so the figure is a lower bound).

One in-memory dev server, one worker (with crash isolation) and the facade in-process.

Run: ``.venv/bin/python bench/tokens.py [--latency 20] [--burst 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from durableruns.api import create_app
from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.process import exit_process
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker

SECRET_KEY = "tr_dev_bench_secret_key"
IN_FLIGHT = 16


async def _until(get: Any, ok: Any, timeout: float = 120, interval: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await get()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"still {value!r}")
        await asyncio.sleep(interval)


async def _waiting_token(http: httpx.AsyncClient, run_id: str) -> str:
    async def get() -> dict[str, Any]:
        return (await http.get(f"/api/v3/runs/{run_id}")).json()  # type: ignore[no-any-return]

    run = await _until(
        get, lambda r: r["status"] == "WAITING" and (r.get("metadata") or {}).get("tokenId")
    )
    return str(run["metadata"]["tokenId"])


async def _completed(http: httpx.AsyncClient, run_id: str, interval: float = 0.01) -> None:
    async def get() -> dict[str, Any]:
        return (await http.get(f"/api/v3/runs/{run_id}")).json()  # type: ignore[no-any-return]

    run = await _until(get, lambda r: r["isCompleted"], interval=interval)
    assert run["status"] == "COMPLETED", run


async def _trigger(http: httpx.AsyncClient) -> str:
    response = await http.post("/api/v1/tasks/wait-for-approval/trigger", json={"payload": {}})
    return str(response.json()["id"])


async def _complete(http: httpx.AsyncClient, token_id: str) -> None:
    body = {"data": {"approved": True}}
    response = await http.post(f"/api/v1/waitpoints/tokens/{token_id}/complete", json=body)
    assert response.status_code == 200, response.text


async def bench(latency_runs: int, burst_runs: int) -> dict[str, Any]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=dynamic_config_flags(),
    )
    settings = Settings(
        task_queue_prefix=f"bench-{uuid.uuid4().hex[:8]}",
        secret_key=SECRET_KEY,
        api_url="http://facade",
        state_dir=Path("/tmp/durableruns-bench-tokens"),
    )
    registry = TaskRegistry.from_modules(["workflows", "activities"])
    try:
        async with (
            running_worker(
                env.client, registry, task_queue_prefix=settings.task_queue_prefix, version="1"
            ),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(settings, client=env.client)),
                base_url="http://facade",
                headers={"Authorization": f"Bearer {SECRET_KEY}"},
                timeout=60,
            ) as http,
        ):
            latencies = []
            for _ in range(latency_runs):
                run_id = await _trigger(http)
                token_id = await _waiting_token(http, run_id)
                started = time.monotonic()
                await _complete(http, token_id)
                await _completed(http, run_id)
                latencies.append((time.monotonic() - started) * 1000)
            gate = asyncio.Semaphore(IN_FLIGHT)

            async def gated(coro: Any) -> Any:
                async with gate:
                    return await coro

            run_ids = await asyncio.gather(*(gated(_trigger(http)) for _ in range(burst_runs)))
            tokens = await asyncio.gather(*(gated(_waiting_token(http, r)) for r in run_ids))
            started = time.monotonic()
            await asyncio.gather(*(gated(_complete(http, t)) for t in tokens))
            completes_s = time.monotonic() - started
            # Polled gently: 100 runs polled every 10 ms would load the server more than
            # the completions do.
            await asyncio.gather(*(gated(_completed(http, r, 0.25)) for r in run_ids))
            burst_s = time.monotonic() - started
    finally:
        await env.shutdown()
    ordered = sorted(latencies)
    return {
        "latency_runs": latency_runs,
        "complete_to_completed_ms_p50": round(statistics.median(ordered)),
        "complete_to_completed_ms_p95": round(ordered[max(0, int(len(ordered) * 0.95) - 1)]),
        "burst_runs": burst_runs,
        "burst_completions_per_s": round(burst_runs / burst_s, 1),
        "burst_complete_calls_s": round(completes_s, 2),
        "burst_until_all_completed_s": round(burst_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=int, default=20)
    parser.add_argument("--burst", type=int, default=100)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args.latency, args.burst)), indent=2))
    exit_process(0)


if __name__ == "__main__":
    main()
