"""Each example task's lifecycle through the HTTP facade."""

from __future__ import annotations

import time

from tests.helpers import Stack, eventually, never


async def test_hello_world_completes_with_its_greeting(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "Ada"})
    run = await stack.wait_final(run_id)
    assert run["status"] == "COMPLETED"
    assert run["output"] == {"message": "Hello, Ada!"}
    assert run["payload"] == {"name": "Ada"}
    assert run["attemptCount"] == 1
    assert run["attempts"][0]["status"] == "COMPLETED"
    assert run["isSuccess"] and run["isCompleted"] and not run["isFailed"]
    assert run["version"] == "20261128.1"
    assert run["startedAt"] <= run["finishedAt"]


async def test_sleepy_is_queued_then_executing_then_completed(stack: Stack) -> None:
    """QUEUED is observed, not just allowed: the run goes on a queue whose only slot a
    holder keeps, so it waits there until the holder is canceled."""
    holder = await stack.trigger("one-at-a-time", {"seconds": 60, "label": "holder"})
    await stack.wait_status(holder, "EXECUTING")
    run_id = await stack.trigger("sleepy", {"seconds": 1.5}, queue={"name": "one-at-a-time"})
    queued = await stack.retrieve(run_id)
    assert queued["status"] == "QUEUED" and not queued["isExecuting"], queued
    assert "startedAt" not in queued and not queued["attempts"]
    # held by the queue, not by chance: it stays QUEUED while the holder has the slot
    await never(lambda: stack.retrieve(run_id), lambda r: r["status"] != "QUEUED", for_s=0.5)
    cancel = await stack.http.post(f"/api/v2/runs/{holder}/cancel")
    assert cancel.status_code == 200, cancel.text
    executing = await eventually(
        lambda: stack.retrieve(run_id), lambda r: r["status"] == "EXECUTING"
    )
    assert executing["isExecuting"] and not executing["isCompleted"]
    assert "output" not in executing and "finishedAt" not in executing
    done = await stack.wait_final(run_id)
    assert done["status"] == "COMPLETED"
    assert done.get("output") == {"slept": 1.5}, done


async def test_flaky_completes_on_the_third_attempt_after_two_recorded_failures(
    stack: Stack,
) -> None:
    run_id = await stack.trigger("flaky", {"fail_times": 2})
    run = await stack.wait_final(run_id)
    assert run["status"] == "COMPLETED"
    assert run["output"] == {"attempts": 3}
    assert run["attemptCount"] == 3
    assert [a["status"] for a in run["attempts"]] == ["FAILED", "FAILED", "COMPLETED"]
    assert [a["number"] for a in run["attempts"]] == [1, 2, 3]
    assert run["attempts"][0]["error"]["message"] == "attempt 1 fails on purpose"
    assert run["attempts"][1]["error"]["name"] == "RuntimeError"
    assert "Traceback" in run["attempts"][0]["error"]["stackTrace"]
    assert len({a["id"] for a in run["attempts"]}) == 3


async def test_always_fails_is_failed_after_two_attempts_with_boom(stack: Stack) -> None:
    run_id = await stack.trigger("always-fails", {})
    run = await stack.wait_final(run_id)
    assert run["status"] == "FAILED"
    assert run["attemptCount"] == 2
    assert run["error"]["message"] == "boom"
    assert run["error"]["name"] == "BoomError"
    assert run["isFailed"] and run["isCompleted"] and not run["isSuccess"]
    assert "output" not in run


async def test_too_slow_times_out_soon_after_its_max_duration(stack: Stack) -> None:
    started = time.monotonic()
    run_id = await stack.trigger("too-slow", {})
    run = await stack.wait_final(run_id, timeout=20)
    elapsed = time.monotonic() - started
    assert run["status"] == "TIMED_OUT"
    assert run["attemptCount"] == 1, "a timed-out run is not retried"
    assert run["error"]["name"] == "MaxDurationExceeded"
    assert 2 <= elapsed < 6
