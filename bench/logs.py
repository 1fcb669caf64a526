"""The cost of run logs: trigger → COMPLETED of a run that logs 1,000 lines against the
same run logging nothing, alternating, on one dev server and one in-process worker
(task processes, as deployed); plus what the lines add to the run's history.

    .venv/bin/python bench/logs.py --runs 20 --lines 1000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).parent))

from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.models import RunOptions
from durableruns.process import exit_process
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary
from durableruns.service.runs import RunService
from durableruns.status import is_completed
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker


async def _one(service: RunService, task_id: str, lines: int) -> tuple[float, int, int]:
    started = time.perf_counter()
    triggered = await service.trigger(task_id, {"lines": lines}, RunOptions())
    while True:
        record = await service.retrieve(triggered.run_id)
        if record is not None and is_completed(record.status):
            break
        await asyncio.sleep(0.01)
    took = time.perf_counter() - started
    history = await service.client.get_workflow_handle(triggered.run_id).fetch_history()
    size = len(history.to_json())
    return took, len(history.events), size


async def main(args: argparse.Namespace) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=dynamic_config_flags(),
    )
    prefix = f"bench-logs-{uuid.uuid4().hex[:6]}"
    registry = TaskRegistry.from_modules(["log_tasks"])
    try:
        async with running_worker(env.client, registry, task_queue_prefix=prefix, version="1"):
            service = RunService(env.client, task_queue_prefix=prefix)
            await asyncio.sleep(1)  # the catalog registration settles
            results: dict[str, list[tuple[float, int, int]]] = {"quiet": [], "chatty": []}
            for _ in range(args.runs):
                for name in ("quiet", "chatty"):
                    lines = args.lines if name == "chatty" else 0
                    results[name].append(await _one(service, f"bench-logs-{name}", lines))
    finally:
        await env.shutdown()
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M}Z"
    print(f"bench/logs.py --runs {args.runs} --lines {args.lines}; {when}")
    for name, rows in results.items():
        p50 = statistics.median(r[0] for r in rows) * 1000
        print(
            f"  {name:7s} trigger→COMPLETED p50 {p50:7.1f} ms; history {rows[0][1]} events, "
            f"{rows[0][2] / 1024:.1f} KiB"
        )
    ratio = statistics.median(r[0] for r in results["chatty"]) / statistics.median(
        r[0] for r in results["quiet"]
    )
    print(f"  ratio chatty/quiet (p50): {ratio:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--lines", type=int, default=1000)
    asyncio.run(main(parser.parse_args()))
    exit_process(0)
