"""``GET /api/v1/reports/health`` and ``durableruns report health`` against real
stacks: healthy, a concurrency limit at its bound, no worker, a failing task; bad
input named."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import Client

from durableruns.cli.commands import run as cli
from durableruns.task_definitions import TaskRegistry
from tests.helpers import Stack, eventually, open_stack
from tests.helpers.tasks import error_tasks, queue_tasks


async def _report(stack: Stack, period: str = "1h") -> dict[str, Any]:
    response = await stack.http.get(f"/api/v1/reports/health?format=json&period={period}")
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def _lead(view: dict[str, Any]) -> tuple[str, str, str]:
    first = view["summary"]["statements"][0]
    return view["summary"]["severity"], first["findingType"], first["reason"]


async def test_healthy_and_the_cli_agrees(
    client: Client, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    async with open_stack(client, TaskRegistry([error_tasks.err_ok])) as stack:
        await stack.wait_final(await stack.trigger("err-ok", None))
        view = await eventually(lambda: _report(stack), lambda v: v["metrics"][4]["value"] >= 1)
        assert _lead(view) == ("ok", "liveness", "healthy")
        text = (await stack.http.get("/api/v1/reports/health")).text
        assert text.startswith("/report health") and "✓ LIVENESS" in text
        monkeypatch.setenv("DURABLERUNS_TEMPORAL_ADDRESS", client.service_client.config.target_host)
        monkeypatch.setenv("DURABLERUNS_TASK_QUEUE_PREFIX", stack.settings.task_queue_prefix)
        # In a thread: the CLI runs its own event loop, and this one serves the worker.
        assert await asyncio.to_thread(cli, ["report", "health", "--period", "30m"]) == 0
        out = capsys.readouterr().out
        assert "last 30m" in out and "✓ LIVENESS" in out


async def test_a_failing_task_is_the_headline_with_its_error_group(client: Client) -> None:
    async with open_stack(client, TaskRegistry([error_tasks.err_divide])) as stack:
        for _ in range(3):
            await stack.wait_final(await stack.trigger("err-divide", None))
        view = await eventually(lambda: _report(stack), lambda v: _lead(v)[0] == "crit")
        assert _lead(view) == ("crit", "execution", "runs_failing")
        assert view["nextAction"].startswith("Open error group error_")
        assert "'err-divide'" in view["headline"]


async def test_a_limit_at_its_bound_is_a_flow_warning(client: Client) -> None:
    async with open_stack(client, TaskRegistry([queue_tasks.one_at_a_time])) as stack:
        for label in range(3):
            await stack.trigger("one-at-a-time", {"seconds": 20, "label": label})
        view = await eventually(
            lambda: _report(stack), lambda v: _lead(v)[2] == "limit_saturated", timeout=30
        )
        assert _lead(view) == ("warn", "flow", "limit_saturated")
        assert "one-at-a-time" in view["headline"]


async def test_no_worker_is_the_headline(client: Client) -> None:
    async with open_stack(client, TaskRegistry([error_tasks.err_ok]), with_worker=False) as stack:
        view = await _report(stack)
        assert _lead(view) == ("crit", "liveness", "no_worker_polling")
        assert view["nextAction"].startswith("Start a worker")


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/v1/reports/health?period=soon", 400, "period"),
        ("/api/v1/reports/health?period=100d", 400, "period"),
        ("/api/v1/reports/health?format=pdf", 400, "format"),
        ("/api/v1/reports/cost", 404, "health"),
    ],
)
async def test_bad_input(client: Client, path: str, status: int, field: str) -> None:
    async with open_stack(client, TaskRegistry([]), with_worker=False) as stack:
        response = await stack.http.get(path)
        assert response.status_code == status, response.text
        assert field in response.json()["error"]
