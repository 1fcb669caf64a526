"""``/metrics``: Prometheus text on the facade and on a worker, moving with load, with
temporalio's SDK metrics, and valid for Debian's ``promtool check metrics``."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import WorkflowEnvironment

from durableruns.engine.client import connect
from durableruns.models import RunOptions
from durableruns.service.runs import RunService
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from tests.helpers import ROOT, TEST_SHORT_WAIT_S, Stack, eventually, open_stack, stop_process

MODULES = ["tests.helpers.tasks.observability_tasks"]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
async def metered(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    """A stack on a client made as the CLI makes it (interceptors, SDK metrics runtime)."""
    address = temporal_env.client.service_client.config.target_host
    client = await connect(
        Settings(temporal_address=address, namespace=temporal_env.client.namespace)
    )
    async with open_stack(client, TaskRegistry.from_modules(MODULES)) as stack:
        yield stack


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def scrape(stack: Stack) -> tuple[str, Samples]:
    response = await stack.http.get("/metrics", headers={"Authorization": ""})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text, parse(response.text)


def promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: `make test` installs Debian's prometheus package"
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_run_and_attempt_metrics_move_with_load(metered: Stack) -> None:
    _, before = await scrape(metered)
    runs = [await metered.trigger("obs-sleeper", {"seconds": 0.05}) for _ in range(5)]
    failing = await metered.trigger("obs-fails", None)
    for run_id in runs:
        assert (await metered.wait_final(run_id))["status"] == "COMPLETED"
    assert (await metered.wait_final(failing))["status"] == "FAILED"
    text, after = await scrape(metered)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("durableruns_runs_triggered_total", task="obs-sleeper") == 5
    assert moved("durableruns_runs_finished_total", task="obs-sleeper", status="COMPLETED") == 5
    assert moved("durableruns_runs_finished_total", task="obs-fails", status="FAILED") == 1
    assert moved("durableruns_attempt_executions_total", task="obs-fails", outcome="failed") == 2
    histogram = "durableruns_attempt_execution_duration_seconds"
    assert moved(f"{histogram}_count", task="obs-sleeper", outcome="completed") == 5
    assert moved(f"{histogram}_sum", task="obs-sleeper", outcome="completed") >= 5 * 0.05
    assert moved(f"{histogram}_bucket", task="obs-sleeper", outcome="completed", le="+Inf") == 5
    # temporalio's own SDK metrics come along in the same scrape.
    assert any(name.startswith("temporal_") for name, _ in after), sorted({n for n, _ in after})
    promtool_check(text)


async def test_queue_and_realtime_gauges(metered: Stack) -> None:
    holder = await metered.trigger("obs-one-slot", {"seconds": 30})
    await metered.wait_status(holder, "EXECUTING")
    waiting = [await metered.trigger("obs-one-slot", {}) for _ in range(2)]
    queue = {"environment": "dev", "queue": "obs-one-slot"}

    async def gauges() -> tuple[float, float, float]:
        _, samples = await scrape(metered)
        return (
            value(samples, "durableruns_queue_waiting_runs", **queue),
            value(samples, "durableruns_queue_slots_in_use", **queue),
            value(samples, "durableruns_queue_concurrency_limit", **queue),
        )

    await eventually(gauges, lambda g: g == (2, 1, 1))

    # A live realtime request (Electric long poll) is a subscriber while it waits.
    first = await metered.http.get(f"/realtime/v1/runs/{holder}", params={"offset": "-1"})
    params = {
        "handle": first.headers["electric-handle"],
        "offset": first.headers["electric-offset"],
        "live": "true",
    }
    live = asyncio.ensure_future(metered.http.get(f"/realtime/v1/runs/{holder}", params=params))

    async def subscribers() -> float:
        _, samples = await scrape(metered)
        return value(samples, "durableruns_realtime_subscribers", environment="dev")

    await eventually(subscribers, lambda n: n >= 1)
    for run_id in [holder, *waiting]:
        await metered.http.post(f"/api/v2/runs/{run_id}/cancel")
    await live
    await eventually(gauges, lambda g: g[:2] == (0, 0))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_a_worker_serves_metrics_on_its_port(
    temporal_env: WorkflowEnvironment, metered: Stack
) -> None:
    """`durableruns worker` with DURABLERUNS_METRICS_PORT: its attempts and the SDK's
    worker metrics at http://127.0.0.1:<port>/metrics."""
    port = _free_port()
    prefix = f"{metered.settings.task_queue_prefix}-w"
    address = temporal_env.client.service_client.config.target_host
    command = [str(Path(sys.executable).parent / "durableruns"), "worker"]
    command += ["--temporal-address", address, "--task-queue-prefix", prefix]
    command += ["--version", "20261128.1", "--tasks", MODULES[0]]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DURABLERUNS_SHORT_WAIT_S": str(TEST_SHORT_WAIT_S),
        "DURABLERUNS_METRICS_PORT": str(port),
    }
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            service = RunService(metered.client, task_queue_prefix=prefix)

            async def catalog_ready() -> bool:
                return (await service.catalog.get()).latest_serving("obs-sleeper") is not None

            await eventually(catalog_ready, bool, timeout=30)
            run_id = (await service.trigger("obs-sleeper", {}, RunOptions())).run_id

            async def finished() -> bool:
                record = await service.retrieve(run_id)
                return record is not None and record.finished_at is not None

            await eventually(finished, bool, timeout=30)

            async def worker_metrics() -> str:
                try:
                    return (await http.get("/metrics")).text
                except httpx.HTTPError:
                    return ""

            text = await eventually(
                worker_metrics,
                lambda t: (
                    value(
                        parse(t) if t else {},
                        "durableruns_attempt_executions_total",
                        task="obs-sleeper",
                    )
                    >= 1
                ),
            )
            samples = parse(text)
            assert value(samples, "durableruns_runs_finished_total", task="obs-sleeper") == 1
            assert any(n.startswith("temporal_worker") for n, _ in samples), sorted(
                {n for n, _ in samples if n.startswith("temporal")}
            )
            promtool_check(text)
    finally:
        stop_process(worker)
