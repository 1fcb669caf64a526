"""Run logs: what task code writes through ``logger``, ``logging`` and ``print`` is kept
with its run — live, after the run, with no worker, bounded — and the worker's terminal
gets one line per attempt outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns import runs
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.task_runtime import MAX_LOG_LINES
from tests.helpers import Stack, eventually, open_stack, stop_process, worker_process

EXPECTED = [
    ("INFO", "from the logger", {"amount": 5}),
    ("WARN", "from logging", {"logger": "mytasks"}),
    ("INFO", "info from logging", {"logger": "mytasks"}),
    ("LOG", "from print", {}),
    ("WARN", "to stderr", {}),
]


async def _lines(stack: Stack, run_id: str, **params: Any) -> list[dict[str, Any]]:
    response = await stack.http.get(f"/api/v1/runs/{run_id}/logs", params=params)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _shape(lines: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(line["level"], line["message"], line["attributes"]) for line in lines]


@pytest.fixture(scope="module")
async def in_process(client: Client) -> AsyncIterator[Stack]:
    registry = TaskRegistry.from_modules(["tests.helpers.tasks.log_tasks"])
    async with open_stack(client, registry, isolation=False) as stack:
        yield stack


# In the worker's own process, logging keeps the worker's level (WARNING here): the
# INFO record from `logging` is kept only in a task process.
@pytest.mark.parametrize("mode", ["isolated", "in-process"])
async def test_logger_logging_and_print_land_in_the_run_log(
    stack: Stack, in_process: Stack, mode: str
) -> None:
    target = stack if mode == "isolated" else in_process
    run = await target.wait_final(await target.trigger("chatty", {"wait": 0.6}))
    assert run["status"] == "COMPLETED"
    lines = await _lines(target, run["id"])
    expected = (
        EXPECTED if mode == "isolated" else [e for e in EXPECTED if e[1] != "info from logging"]
    )
    assert _shape(lines) == [*expected, ("ERROR", "after the wait", {})]
    assert {line["attempt"] for line in lines} == {1}, "a continuation is the same attempt"
    errors = await _lines(target, run["id"], level="ERROR")
    assert [line["message"] for line in errors] == ["after the wait"]


async def test_a_line_is_readable_within_a_second_while_the_run_executes(stack: Stack) -> None:
    run_id = await stack.trigger("chatty", {"pause": 4})
    lines = await eventually(lambda: _lines(stack, run_id), lambda ls: len(ls) >= 5, timeout=10)
    seen = datetime.now(UTC)
    assert (await stack.retrieve(run_id))["status"] == "EXECUTING"
    written = datetime.fromisoformat(lines[0]["timestamp"])
    assert (seen - written).total_seconds() < 1.5  # the bound, plus one poll interval


async def test_the_log_is_read_after_the_run_with_no_worker(client: Client) -> None:
    registry = TaskRegistry.from_modules(["tests.helpers.tasks.log_tasks"])
    async with open_stack(client, registry) as served:
        run_id = (await served.wait_final(await served.trigger("chatty", {})))["id"]
    async with open_stack(client, TaskRegistry(), with_worker=False) as bare:
        assert _shape(await _lines(bare, run_id)) == EXPECTED


async def test_a_run_keeps_a_bounded_log_and_says_it_was_cut(stack: Stack) -> None:
    run = await stack.wait_final(await stack.trigger("very-chatty", {"lines": MAX_LOG_LINES + 50}))
    assert run["status"] == "COMPLETED" and run["output"] == MAX_LOG_LINES + 50
    lines: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = (await stack.http.get(f"/api/v1/runs/{run['id']}/logs", params=params)).json()
        lines += page["data"]
        cursor = page["pagination"]["next"]
        if cursor is None:
            break
    assert len(lines) == MAX_LOG_LINES + 1
    assert lines[MAX_LOG_LINES - 1]["message"] == f"line {MAX_LOG_LINES - 1}"
    assert lines[-1]["message"].startswith("Log truncated") and lines[-1]["level"] == "WARN"


async def test_the_sdk_reads_and_follows_a_runs_log(sdk_stack: Stack) -> None:
    run_id = await sdk_stack.trigger("chatty", {"pause": 1})
    followed = [line.message async for line in runs.follow_logs(run_id)]
    assert followed == [message for _, message, _ in EXPECTED]
    read = [line.message async for line in runs.logs(run_id, level=["WARN"], page_size=1)]
    assert read == ["from logging", "to stderr"]


async def test_bad_log_queries_are_400_and_unknown_runs_404(stack: Stack) -> None:
    run_id = (await stack.wait_final(await stack.trigger("chatty", {})))["id"]
    bad_level = await stack.http.get(f"/api/v1/runs/{run_id}/logs", params={"level": "LOUD"})
    bad_cursor = await stack.http.get(f"/api/v1/runs/{run_id}/logs", params={"cursor": "x"})
    unknown = await stack.http.get("/api/v1/runs/run_nope/logs")
    assert bad_level.status_code == 400 and "level" in bad_level.json()["error"]
    assert bad_cursor.status_code == 400 and "cursor" in bad_cursor.json()["error"]
    assert unknown.status_code == 404


async def test_the_worker_prints_one_line_per_attempt_outcome(
    client: Client, temporal_env: WorkflowEnvironment
) -> None:
    async with open_stack(client, TaskRegistry(), with_worker=False) as stack:
        worker = worker_process(
            temporal_env,
            stack.settings.task_queue_prefix,
            ["tests.helpers.tasks.log_tasks"],
            stderr=True,
        )
        try:
            failed = await stack.wait_final(await stack.trigger("fails-loudly", {}), timeout=30)
            done = await stack.wait_final(await stack.trigger("chatty", {}), timeout=30)
        finally:
            stop_process(worker)
        assert worker.stderr is not None
        output = (await asyncio.to_thread(worker.stderr.read)).decode()
    assert f"{failed['id']} attempt 1 FAILED: ValueError: boom (log_tasks.py:" in output
    assert f"{done['id']} attempt 1 COMPLETED (" in output
    assert "Traceback" not in output and "Completing activity as failed" not in output
