"""Crash isolation: each attempt's code runs in a task process of its own, so a killed
process ends its run CRASHED (not retried unless the task asks), the worker carries on,
a canceled or timed-out task that ignores it is killed, and processes are reused."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from activities.crashes import crash_me, oom
from activities.failing import always_fails
from activities.hello_world import hello_world
from durableruns import TaskContext, task, tasks
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.helpers import Stack, eventually, open_stack


@task(id="reports-pid")
async def reports_pid(payload: Any) -> int:
    """The pid of the process running the code."""
    return os.getpid()


@task(id="segfaults")
def segfaults(payload: Any) -> None:
    """Reads address 0: the process dies of SIGSEGV."""
    ctypes.string_at(0)


@task(id="crashes-once", retry={"max_attempts": 2, "min_timeout_ms": 10, "retry_on_crash": True})
async def crashes_once(payload: Any, ctx: TaskContext) -> int:
    """SIGKILLs its first attempt's process; a task that retries crashes then succeeds."""
    if ctx.attempt.number == 1:
        os.kill(os.getpid(), 9)
    return ctx.attempt.number


@task(id="ignores-cancel")
async def ignores_cancel(payload: dict[str, Any]) -> None:
    """Writes its pid, then sleeps 30 s swallowing every cancel."""
    Path(payload["pid_file"]).write_text(str(os.getpid()))
    for _ in range(600):
        with contextlib.suppress(asyncio.CancelledError):  # the point of this task
            await asyncio.sleep(0.05)


@task(id="sleeps-sync")
def sleeps_sync(payload: dict[str, Any]) -> None:
    """Writes its pid, then blocks in time.sleep (sync code cannot be interrupted)."""
    Path(payload["pid_file"]).write_text(str(os.getpid()))
    time.sleep(payload.get("seconds", 30))


@task(id="sync-metadata")
def sync_metadata(payload: Any, ctx: TaskContext) -> dict[str, Any]:
    """Changes metadata from a sync task's thread."""
    ctx.metadata.set("from", "thread").increment("n", 2)
    return ctx.metadata.current()


@task(id="triggers-badly", retry={"max_attempts": 3, "min_timeout_ms": 10})
async def triggers_badly(payload: Any) -> None:
    """Triggers hello-world with a payload its deployed schema refuses (in the worker)."""
    await tasks.trigger("hello-world", {"nom": "?"})


TASKS = TaskRegistry(
    [
        reports_pid,
        triggers_badly,
        segfaults,
        crashes_once,
        ignores_cancel,
        sleeps_sync,
        sync_metadata,
        crash_me,
        oom,
        hello_world,
        always_fails,
    ]
)


@pytest.fixture(scope="module")
async def isolated(client: Client) -> AsyncIterator[Stack]:
    """A worker with isolation on (whatever DURABLERUNS_ISOLATION says) and a facade."""
    async with (
        open_stack(client, TASKS, with_worker=False) as stack,
        running_worker(
            client,
            TASKS,
            task_queue_prefix=stack.settings.task_queue_prefix,
            version="20261128.1",
            isolation=True,
        ),
    ):
        yield stack


async def _pid_from(path: Path) -> int:
    """The pid the task wrote, once it has."""

    async def read() -> str:
        return path.read_text() if path.exists() else ""

    return int(await eventually(read, bool))


async def _ended(pid: int, timeout: float = 8) -> None:
    """Wait until no process has ``pid`` (the fork server reaps its children at once).
    The kill comes ~1 s after the stop (the grace); the bound leaves room for a loaded
    machine."""

    async def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    await eventually(gone, bool, timeout=timeout, interval=0.02)


@pytest.mark.parametrize(
    ("task_id", "name", "message"),
    [
        ("crash-me", "TaskProcessCrashed", "The task's process was killed by SIGKILL"),
        ("segfaults", "TaskProcessCrashed", "The task's process was killed by SIGSEGV"),
        ("oom", "TaskProcessOutOfMemory", "The task's process ran out of memory (MemoryError)"),
    ],
)
async def test_a_dead_process_ends_the_run_crashed_and_the_worker_carries_on(
    isolated: Stack, task_id: str, name: str, message: str
) -> None:
    run = await isolated.wait_final(await isolated.trigger(task_id, {}))
    assert run["status"] == "CRASHED" and run["isFailed"]
    assert run["attemptCount"] == 1, "a crash is not retried by default"
    assert run["attempts"][0]["status"] == "CRASHED"
    assert (run["error"]["name"], run["error"]["message"]) == (name, message)
    after = await isolated.wait_final(await isolated.trigger("hello-world", {"name": "still"}))
    assert after["output"] == {"message": "Hello, still!"}


async def test_a_task_that_retries_crashes_gets_another_attempt(isolated: Stack) -> None:
    run = await isolated.wait_final(await isolated.trigger("crashes-once", {}))
    assert run["status"] == "COMPLETED" and run["output"] == 2
    assert [a["status"] for a in run["attempts"]] == ["CRASHED", "COMPLETED"]


@pytest.mark.parametrize("task_id", ["ignores-cancel", "sleeps-sync"])
async def test_cancel_kills_code_that_ignores_it(
    isolated: Stack, task_id: str, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    run_id = await isolated.trigger(task_id, {"pid_file": str(pid_file)})
    pid = await _pid_from(pid_file)
    assert pid != os.getpid(), "the code runs in a process of its own"
    asked = time.monotonic()
    await isolated.http.post(f"/api/v2/runs/{run_id}/cancel")
    assert (await isolated.wait_status(run_id, "CANCELED", timeout=2))["isCancelled"]
    await _ended(pid)
    assert time.monotonic() - asked < 3, "killed after a ~1 s grace once the cancel arrives"


async def test_max_duration_kills_sync_code_that_runs_past_it(
    isolated: Stack, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    run_id = await isolated.trigger("sleeps-sync", {"pid_file": str(pid_file)}, maxDuration=1)
    pid = await _pid_from(pid_file)
    run = await isolated.wait_final(run_id)
    assert run["status"] == "TIMED_OUT" and run["error"]["name"] == "MaxDurationExceeded"
    await _ended(pid)


async def test_a_process_that_ended_cleanly_runs_the_next_attempt(isolated: Stack) -> None:
    first = await isolated.wait_final(await isolated.trigger("reports-pid", {}))
    second = await isolated.wait_final(await isolated.trigger("reports-pid", {}))
    assert first["output"] == second["output"] != os.getpid()


async def test_errors_keep_their_name_message_and_traceback(isolated: Stack) -> None:
    run = await isolated.wait_final(await isolated.trigger("always-fails", {}))
    assert run["status"] == "FAILED" and run["attemptCount"] == 2
    error = run["error"]
    assert (error["name"], error["message"]) == ("BoomError", "boom")
    assert "Traceback" in error["stackTrace"] and 'raise BoomError("boom")' in error["stackTrace"]


async def test_an_error_from_the_workers_runtime_reaches_the_code_as_itself(
    isolated: Stack,
) -> None:
    run = await isolated.wait_final(await isolated.trigger("triggers-badly", {}))
    assert run["status"] == "FAILED" and run["attemptCount"] == 1, "an InvalidInputError aborts"
    assert run["error"]["name"] == "PayloadSchemaError"
    assert run["error"]["message"].startswith("payload")


async def test_metadata_changed_by_a_sync_task_reaches_the_run(isolated: Stack) -> None:
    run = await isolated.wait_final(await isolated.trigger("sync-metadata", {}, metadata={"a": 1}))
    assert run["output"] == {"a": 1, "from": "thread", "n": 2}
    assert run["metadata"] == run["output"]


async def test_without_isolation_the_code_runs_in_the_worker(client: Client) -> None:
    async with (
        open_stack(client, TASKS, with_worker=False) as stack,
        running_worker(
            client,
            TASKS,
            task_queue_prefix=stack.settings.task_queue_prefix,
            version="20261128.1",
            isolation=False,
        ),
    ):
        run = await stack.wait_final(await stack.trigger("reports-pid", {}))
        refused = await stack.wait_final(await stack.trigger("crash-me", {}))
    assert run["output"] == os.getpid()
    assert refused["status"] == "FAILED" and refused["error"]["name"] == "AbortTaskRunError"


async def test_idle_processes_beyond_the_warm_ones_end_after_a_quiet_spell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A burst's processes do not outlive it: the pool trims back to ``warm``."""
    from durableruns.worker import isolation

    monkeypatch.setattr(isolation, "IDLE_TRIM_S", 0.3)
    async with isolation.ProcessPool(preload=["activities"], warm=1) as pool:
        async with pool.process(), pool.process(), pool.process():
            pass
        assert len(pool._idle) == 3
        await eventually(lambda: _idle_count(pool), lambda n: n == 1, timeout=10)


async def _idle_count(pool: Any) -> int:
    return len(pool._idle)
