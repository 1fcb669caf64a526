"""Lifecycle hooks through the stack: exactly-once final hooks across resumes, retries,
a SIGKILLed task process and max_duration; middleware around every execution; locals;
catch_error's verdicts; hook errors logged with the status unchanged; global hooks from
the tasks package's init module; on_cancel of a running and of a waiting run.

Counts are files written by the hooks (``tests/helpers/tasks/hooked/counting.py``),
outside the task process."""

from __future__ import annotations

import importlib
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from durableruns.engine.names import HOOKS_ACTIVITY
from durableruns.hooks import GLOBAL_HOOKS
from durableruns.task_definitions import TaskRegistry
from tests.helpers import Stack, eventually, open_stack
from tests.helpers.tasks.hooked.counting import count, values

MODULES = ["tests.helpers.tasks.hooked"]


@pytest.fixture(scope="module")
async def hooked(client: Client) -> AsyncIterator[Stack]:
    """A worker serving the hooked tasks, with the package's global hooks."""
    # Imported here, not at collection: the init module's global hooks would apply to
    # every worker of this process (the session's too) while this module is loaded.
    registry = TaskRegistry.from_modules(MODULES)
    _register_global_hooks()
    try:
        async with open_stack(client, registry, short_wait_s=0.5) as stack:
            yield stack
    finally:
        GLOBAL_HOOKS.clear()  # other modules' workers share this process


def _register_global_hooks() -> None:
    importlib.import_module("tests.helpers.tasks.hooked.init").register()


@pytest.fixture
def counts() -> Path:
    return Path(tempfile.mkdtemp(prefix="durableruns-hooks-"))


async def _final(stack: Stack, run_id: str, timeout: float = 60) -> dict[str, Any]:
    """The run once its workflow closed (its final hooks ran before the close)."""
    await stack.client.get_workflow_handle(run_id).result(follow_runs=False)
    return await stack.wait_final(run_id, timeout)


async def _closed(stack: Stack, run_id: str) -> None:
    async def status() -> str:
        described = await stack.client.get_workflow_handle(run_id).describe()
        return described.status.name if described.status else ""

    await eventually(status, lambda s: s != "RUNNING", timeout=60)


async def _activity_types(stack: Stack, run_id: str) -> list[str]:
    history = await stack.client.get_workflow_handle(run_id).fetch_history()
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def test_final_hooks_run_once_across_three_resumes_and_two_retries(
    hooked: Stack, counts: Path
) -> None:
    run_id = await hooked.trigger("hooks-resumes-retries", {"dir": str(counts)})
    await _closed(hooked, run_id)
    run = await hooked.retrieve(run_id)
    assert run["status"] == "COMPLETED" and run["output"] == "done"
    assert values(counts, "start") == ["1", "2", "3"], "on_start_attempt once per attempt"
    # Attempt 1 suspends three times (4 executions); attempts 2 and 3 find the timers
    # recorded and run once each: 6 executions, each inside the middleware.
    assert count(counts, "middleware") == 6 and count(counts, "middleware-closed") == 6
    assert values(counts, "wait") == ["timer"] * 3 and values(counts, "resume") == ["timer"] * 3
    assert count(counts, "wait-saw-local") == 3, "on_wait runs inside the middleware"
    assert count(counts, "start-saw-local") == 3
    assert values(counts, "code-saw-local") == ["conn-1", "conn-2", "conn-3"]
    assert values(counts, "success") == ["done"] and values(counts, "complete") == ["ok"]
    assert count(counts, "failure") == 0
    assert (await _activity_types(hooked, run_id)).count(HOOKS_ACTIVITY) == 1


async def test_on_failure_once_after_the_last_retry(hooked: Stack, counts: Path) -> None:
    run_id = await hooked.trigger("hooks-fails", {"dir": str(counts)})
    await _closed(hooked, run_id)
    assert (await hooked.retrieve(run_id))["status"] == "FAILED"
    assert values(counts, "failure") == ["ValueError"]
    assert values(counts, "complete") == ["ValueError"] and count(counts, "success") == 0


async def test_on_failure_once_after_the_task_process_was_sigkilled(
    hooked: Stack, counts: Path
) -> None:
    run_id = await hooked.trigger("hooks-crashes", {"dir": str(counts)})
    await _closed(hooked, run_id)
    assert (await hooked.retrieve(run_id))["status"] == "CRASHED"
    assert values(counts, "failure") == ["TaskProcessCrashed"]
    assert count(counts, "complete") == 1


async def test_on_failure_once_after_max_duration(hooked: Stack, counts: Path) -> None:
    run_id = await hooked.trigger("hooks-too-slow", {"dir": str(counts)})
    await _closed(hooked, run_id)
    assert (await hooked.retrieve(run_id))["status"] == "TIMED_OUT"
    assert values(counts, "failure") == ["MaxDurationExceeded"]
    assert count(counts, "complete") == 1


@pytest.mark.parametrize("waiting", [False, True], ids=["running", "waiting"])
async def test_on_cancel_of_a_running_and_of_a_waiting_run(
    hooked: Stack, counts: Path, waiting: bool
) -> None:
    run_id = await hooked.trigger("hooks-cancel", {"dir": str(counts), "wait": waiting})
    await hooked.wait_status(run_id, "WAITING" if waiting else "EXECUTING", timeout=30)
    await eventually(lambda: _async(count(counts, "running")), lambda n: n == 1, timeout=15)
    await hooked.http.post(f"/api/v2/runs/{run_id}/cancel")
    await _closed(hooked, run_id)
    assert (await hooked.retrieve(run_id))["status"] == "CANCELED"
    assert values(counts, "cancel") == ["True"], "signal is set for on_cancel"
    assert values(counts, "complete") == ["Canceled"]
    assert count(counts, "failure") == 0 and count(counts, "success") == 0


async def _async(value: Any) -> Any:
    return value


@pytest.mark.parametrize(
    ("mode", "status", "attempts"),
    [
        ("skip", "FAILED", 1),
        ("at", "COMPLETED", 2),
        ("delay", "COMPLETED", 2),
        ("error", "COMPLETED", 2),
        ("none", "COMPLETED", 2),
    ],
)
async def test_catch_error_each_return_kind(
    hooked: Stack, counts: Path, mode: str, status: str, attempts: int
) -> None:
    run_id = await hooked.trigger("hooks-catch", {"dir": str(counts), "mode": mode})
    run = await hooked.wait_final(run_id, timeout=60)
    assert run["status"] == status
    assert values(counts, "catch") == ["retry_at"], "attempt 1 of 2 has a policy retry time"
    starts = values(counts, "start")
    assert starts == [str(n) for n in range(1, attempts + 1)]
    if mode == "skip":
        assert run["error"]["message"] == "429 Too Many Requests"
        return
    scheduled = await _scheduled_times(hooked, run_id)
    gap = (scheduled[1] - scheduled[0]).total_seconds()
    if mode in ("at", "delay"):
        assert gap >= 1.8, f"the retry waited for catch_error's time ({gap:.2f} s)"
    else:
        assert gap < 1.5, f"the policy's 10 ms backoff ({gap:.2f} s)"


async def test_hook_errors_are_logged_and_never_change_the_status(
    hooked: Stack, counts: Path
) -> None:
    run_id = await hooked.trigger("hooks-broken", {"dir": str(counts)})
    await _closed(hooked, run_id)
    run = await hooked.retrieve(run_id)
    assert run["status"] == "COMPLETED" and run["output"] == "fine"
    assert count(counts, "broken") == 4, "on_wait, on_resume, on_success, on_complete"
    logs = (await hooked.http.get(f"/api/v1/runs/{run_id}/logs")).json()["data"]
    errors = [line["message"] for line in logs if line["level"] == "ERROR"]
    for kind in ("on_wait", "on_resume", "on_success", "on_complete"):
        assert any(m.startswith(f"{kind} hook _broken failed: RuntimeError") for m in errors), (
            errors
        )


async def test_global_hooks_from_the_init_module(hooked: Stack, counts: Path) -> None:
    run_id = await hooked.trigger("hooks-plain", {"dir": str(counts), "global": True})
    await _closed(hooked, run_id)
    assert (await hooked.retrieve(run_id))["output"] == "plain"
    assert count(counts, "global-start") == 1
    assert count(counts, "global-middleware") == 2, "the first execution and its continuation"
    assert count(counts, f"global-complete-{run_id}") == 1


async def test_a_run_without_hooks_gains_no_temporal_action(hooked: Stack, counts: Path) -> None:
    GLOBAL_HOOKS.clear()  # the worker's side decides: no hooks, no activity, no marker
    try:
        run_id = await hooked.trigger("hooks-plain", {"dir": str(counts)})
        await _closed(hooked, run_id)
    finally:
        _register_global_hooks()
    history = await hooked.client.get_workflow_handle(run_id).fetch_history()
    assert HOOKS_ACTIVITY not in await _activity_types(hooked, run_id)
    markers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert markers == []


async def test_the_example_retries_when_the_429_says_and_alerts_once_on_a_404(
    stack: Stack,
) -> None:
    """``activities/sync_orders.py``: middleware, catch_error, on_failure."""
    database = str(Path(tempfile.mkdtemp()) / "orders.sqlite")
    limited = await stack.trigger(
        "sync-orders", {"rate_limited": True, "retry_after_s": 2, "database": database}
    )
    missing = await stack.trigger("sync-orders", {"status": 404, "database": database})
    run = await stack.wait_final(limited, timeout=60)
    assert run["status"] == "COMPLETED" and run["output"] == {"saved": 2, "attempt": 2}
    scheduled = await _scheduled_times(stack, limited)
    assert (scheduled[1] - scheduled[0]).total_seconds() >= 1.8, "the 429's Retry-After"
    await _closed(stack, missing)
    failed = await stack.retrieve(missing)
    assert failed["status"] == "FAILED" and failed["attemptCount"] == 1, "a 404: no retry"
    logs = (await stack.http.get(f"/api/v1/runs/{missing}/logs")).json()["data"]
    alerts = [line for line in logs if line["message"].startswith("ALERT: sync-orders")]
    assert len(alerts) == 1 and alerts[0]["level"] == "ERROR"


async def _scheduled_times(stack: Stack, run_id: str) -> list[Any]:
    history = await stack.client.get_workflow_handle(run_id).fetch_history()
    return [
        e.event_time.ToDatetime()
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name != HOOKS_ACTIVITY
    ]


async def test_final_hooks_run_once_on_a_worker_that_does_not_announce_attempts(
    client: Client, counts: Path
) -> None:
    """Lean attempts: the hooks a task has come back with the execution's outcome."""
    registry = TaskRegistry.from_modules(MODULES)
    _register_global_hooks()
    try:
        async with open_stack(client, registry, announce_attempts=False) as lean:
            run_id = await lean.trigger("hooks-fails", {"dir": str(counts)})
            await _closed(lean, run_id)
            assert (await lean.retrieve(run_id))["status"] == "FAILED"
    finally:
        GLOBAL_HOOKS.clear()
    assert values(counts, "failure") == ["ValueError"] and count(counts, "complete") == 1


async def test_on_cancel_of_a_running_run_on_a_worker_that_does_not_announce_attempts(
    client: Client, counts: Path
) -> None:
    """Lean attempts: a run canceled while its code runs waits (bounded) for the
    execution's answer, which brings the start: the attempt ends CANCELED with its
    start, and on_cancel / on_complete run."""
    registry = TaskRegistry.from_modules(MODULES)
    _register_global_hooks()
    try:
        async with open_stack(client, registry, announce_attempts=False) as lean:
            run_id = await lean.trigger("hooks-cancel", {"dir": str(counts), "wait": False})
            await eventually(lambda: _async(count(counts, "running")), lambda n: n == 1, timeout=30)
            clock = time.monotonic()
            await lean.http.post(f"/api/v2/runs/{run_id}/cancel")
            await _closed(lean, run_id)
            took = time.monotonic() - clock
            run = await lean.retrieve(run_id)
    finally:
        GLOBAL_HOOKS.clear()
    assert run["status"] == "CANCELED"
    [attempt] = run["attempts"]
    assert attempt["status"] == "CANCELED" and attempt["startedAt"], attempt
    assert values(counts, "cancel") == ["True"], "signal is set for on_cancel"
    assert values(counts, "complete") == ["Canceled"]
    # The answer came (the wait's bound is 5 s), not the timer: cancel reached the code.
    assert took < 5, took
