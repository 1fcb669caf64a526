"""Big payloads: trigger → COMPLETED of a 2 MB payload echoed back, against a 1 KB one.

Each run is triggered over HTTP (the facade in-process, through httpx's ASGI transport)
and waited for on its workflow result, one at a time, alternating sizes so drift on the
shared machine hits both alike. The 2 MB payload and its 2 MB output are kept outside
history by the file payload storage (``DURABLERUNS_PAYLOAD_STORAGE=file``, the dev
default): what is measured is serialization, storage, the task process hop and the
record read back. Reports p50 (and p90) per size and the ratio of the p50s.

Run: ``.venv/bin/python bench/payloads.py [--runs 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, NoReturn

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns import task
from durableruns.api import create_app
from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER, data_converter
from durableruns.process import exit_process
from durableruns.service.dev_server import dynamic_config_flags, temporal_binary
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker

SECRET_KEY = "tr_dev_bench_secret_key"
SIZES = {"1 KB": 1_000, "2 MB": 2_000_000}


@task(id="bench-echo")
async def bench_echo(payload: Any) -> Any:
    """Returns its payload."""
    return payload


async def one_run(http: httpx.AsyncClient, client: Client, size: int) -> float:
    started = time.perf_counter()
    response = await http.post(
        "/api/v1/tasks/bench-echo/trigger", json={"payload": {"blob": "b" * size}}
    )
    response.raise_for_status()
    record = await client.get_workflow_handle(response.json()["id"]).result()
    assert record["status"] == "COMPLETED", record["status"]
    return time.perf_counter() - started


async def main(runs: int) -> dict[str, Any]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        dev_server_extra_args=dynamic_config_flags(),
    )
    settings = Settings(
        task_queue_prefix=f"bench-{uuid.uuid4().hex[:6]}",
        secret_key=SECRET_KEY,
        state_dir=Path(tempfile.mkdtemp(prefix="bench-payloads-")),
        payload_storage="file",
    )
    client = await Client.connect(
        env.client.service_client.config.target_host,
        namespace="default",
        data_converter=data_converter(settings),
    )
    times: dict[str, list[float]] = {name: [] for name in SIZES}
    try:
        async with (
            running_worker(
                client,
                TaskRegistry([bench_echo]),
                task_queue_prefix=settings.task_queue_prefix,
                version="b1",
            ),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(settings, client=client)),
                base_url="http://bench",
                headers={"Authorization": f"Bearer {SECRET_KEY}"},
                timeout=120,
            ) as http,
        ):
            for size in SIZES.values():  # warm-up: task processes, imports, caches
                await one_run(http, client, size)
            for _ in range(runs):
                for name, size in SIZES.items():
                    times[name].append(await one_run(http, client, size))
    finally:
        await env.shutdown()
    result: dict[str, Any] = {"runs_per_size": runs}
    for name, values in times.items():
        ordered = sorted(values)
        result[name] = {
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 1),
        }
    result["ratio_p50"] = round(result["2 MB"]["p50_ms"] / result["1 KB"]["p50_ms"], 2)
    return result


def run() -> NoReturn:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    figures = asyncio.run(main(parser.parse_args().runs))
    print(json.dumps(figures, indent=2))
    sys.stdout.flush()
    exit_process(0)


if __name__ == "__main__":
    run()
