"""Cancel (prompt, final, code really stopped) and replay (same or new payload)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from durableruns import RunStatus, runs, tasks
from durableruns.errors import NotFoundError
from tests.helpers import Stack, eventually, never


async def _ticks(ticks_file: Path) -> str:
    return ticks_file.read_text() if ticks_file.exists() else ""


async def _ticks_over_a_window(ticks_file: Path) -> tuple[str, str]:
    """The ticks before and after four of the probe's 50 ms intervals."""
    before = await _ticks(ticks_file)
    await asyncio.sleep(0.2)
    return before, await _ticks(ticks_file)


async def test_cancel_shows_canceled_within_two_seconds_and_stops_the_code(
    stack: Stack, tmp_path: Path
) -> None:
    ticks_file = tmp_path / "ticks"
    run_id = await stack.trigger("cancel-probe", {"seconds": 30, "ticks_file": str(ticks_file)})
    await stack.wait_status(run_id, "EXECUTING")
    await eventually(lambda: _ticks(ticks_file), lambda ticks: len(ticks) > 0)  # code runs
    asked = time.monotonic()
    response = await stack.http.post(f"/api/v2/runs/{run_id}/cancel")
    assert response.status_code == 200 and response.json() == {"id": run_id}
    run = await stack.wait_status(run_id, "CANCELED", timeout=2)
    assert time.monotonic() - asked < 2
    assert run["isCancelled"] and run["isCompleted"] and "finishedAt" in run
    assert run["attemptCount"] == 1 and run["attempts"][0]["status"] == "CANCELED"
    # the heartbeat delivers the cancel to the code: it stops ticking, and stays stopped
    _, ticks = await eventually(
        lambda: _ticks_over_a_window(ticks_file), lambda pair: pair[0] == pair[1], timeout=5
    )
    await never(
        lambda: _ticks(ticks_file),
        lambda now: now != ticks,
        for_s=1,
    )
    assert (await stack.retrieve(run_id))["status"] == "CANCELED", "not retried"


async def test_cancel_of_a_sleeping_sleepy_run(sdk_stack: Stack) -> None:
    handle = await tasks.trigger("sleepy", {"seconds": 30})
    await sdk_stack.wait_status(handle.id, "EXECUTING")
    assert await runs.cancel(handle) == handle.id
    run = await runs.poll(handle, timeout=2)
    assert run.status is RunStatus.CANCELED and run.is_canceled


async def test_cancel_of_a_finished_run_is_a_no_op_that_answers_200(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "done"})
    await stack.wait_final(run_id)
    response = await stack.http.post(f"/api/v2/runs/{run_id}/cancel")
    assert response.status_code == 200 and response.json() == {"id": run_id}
    assert (await stack.retrieve(run_id))["status"] == "COMPLETED"


async def test_cancel_of_a_queued_run_ends_it_before_any_attempt(stack: Stack) -> None:
    run_id = await stack.trigger("no-worker-serves-this", {})
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")
    run = await stack.wait_status(run_id, "CANCELED")
    assert run["attemptCount"] == 0


async def test_cancel_of_an_unknown_run_is_404(stack: Stack) -> None:
    response = await stack.http.post("/api/v2/runs/run_0000000000aaaaaaaaaaaaaaaa/cancel")
    assert response.status_code == 404 and response.json() == {"error": "Run not found"}


async def test_replay_makes_a_new_run_with_the_same_payload_that_knows_it_replays(
    stack: Stack,
) -> None:
    source = await stack.trigger("replay-aware", {"n": 1}, tags=["orig"])
    await stack.wait_final(source)
    response = await stack.http.post(f"/api/v1/runs/{source}/replay")
    assert response.status_code == 200 and "x-trigger-jwt" in response.headers
    replay = await stack.wait_final(response.json()["id"])
    assert replay["id"] != source
    assert replay["output"] == {"payload": {"n": 1}, "is_replay": True, "of": source}
    assert replay["replayedFrom"] == source and replay["tags"] == ["orig"]


async def test_replay_with_overrides(stack: Stack) -> None:
    source = await stack.trigger("hello-world", {"name": "Old"}, tags=["a"])
    await stack.wait_final(source)
    response = await stack.http.post(
        f"/api/v1/runs/{source}/replay",
        json={
            "payload": '{"json":{"name":"New"}}',
            "payloadType": "application/super+json",
            "tags": ["b", "c"],
            "metadata": {"why": "fix"},
        },
    )
    assert response.status_code == 200, response.text
    replay = await stack.wait_final(response.json()["id"])
    assert replay["output"] == {"message": "Hello, New!"}
    assert replay["tags"] == ["b", "c"] and replay["metadata"] == {"why": "fix"}


async def test_a_failed_run_can_be_replayed(sdk_stack: Stack) -> None:
    failed = await tasks.trigger("flaky", {"fail_times": 9}, max_attempts=1)
    assert (await runs.poll(failed)).status is RunStatus.FAILED
    replay = await runs.replay(failed, payload={"fail_times": 0})
    run = await runs.poll(replay)
    assert run.status is RunStatus.COMPLETED and run.output == {"attempts": 1}


async def test_replay_of_an_unknown_run_is_404(sdk_stack: Stack) -> None:
    with pytest.raises(NotFoundError):
        await runs.replay("run_0000000000aaaaaaaaaaaaaaaa")
