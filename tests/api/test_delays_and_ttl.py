"""Delays (DELAYED, reschedule) and TTL (EXPIRED): timers in the run workflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from durableruns import RunStatus, runs, tasks
from durableruns.errors import BadRequestError
from tests.helpers import Stack


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_a_delayed_run_is_delayed_then_runs(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "later"}, delay="1s")
    run = await stack.retrieve(run_id)
    assert run["status"] == "DELAYED" and run["isQueued"]
    delayed_until = _iso(run["delayedUntil"])
    assert timedelta(0) < delayed_until - _iso(run["createdAt"]) <= timedelta(seconds=1.1)
    done = await stack.wait_final(run_id)
    assert done["status"] == "COMPLETED"
    assert _iso(done["startedAt"]) >= delayed_until


async def test_an_iso_date_delays_until_then(stack: Stack) -> None:
    when = datetime.now(UTC) + timedelta(hours=3)
    run_id = await stack.trigger("hello-world", {"name": "x"}, delay=when.isoformat())
    run = await stack.retrieve(run_id)
    assert run["status"] == "DELAYED"
    assert abs(_iso(run["delayedUntil"]) - when) < timedelta(milliseconds=1)
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")


async def test_reschedule_moves_a_delayed_run_and_answers_the_whole_run(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "moved"}, delay="1h")
    response = await stack.http.post(f"/api/v1/runs/{run_id}/reschedule", json={"delay": "1s"})
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["id"] == run_id and moved["status"] == "DELAYED"
    assert _iso(moved["delayedUntil"]) - datetime.now(UTC) < timedelta(seconds=2)
    assert (await stack.wait_final(run_id, timeout=10))["status"] == "COMPLETED"


async def test_reschedule_through_the_sdk(sdk_stack: Stack) -> None:
    handle = await tasks.trigger("hello-world", {"name": "sdk"}, delay="2h")
    moved = await runs.reschedule(handle, delay="1s")
    assert moved.status is RunStatus.DELAYED and moved.delayed_until is not None
    assert (await runs.poll(handle, timeout=10)).status is RunStatus.COMPLETED


async def test_reschedule_of_a_run_that_is_not_delayed_is_refused(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "now"})
    await stack.wait_final(run_id)
    response = await stack.http.post(f"/api/v1/runs/{run_id}/reschedule", json={"delay": "1s"})
    assert response.status_code == 400
    assert response.json() == {"error": "Cannot reschedule a run that is not delayed"}


@pytest.mark.parametrize("delay", ["soon", "2020-01-01T00:00:00Z", "-5s"])
async def test_reschedule_to_an_unusable_delay_is_refused(stack: Stack, delay: str) -> None:
    run_id = await stack.trigger("hello-world", {"name": "x"}, delay="1h")
    response = await stack.http.post(f"/api/v1/runs/{run_id}/reschedule", json={"delay": delay})
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid delay: ")
    assert (await stack.retrieve(run_id))["status"] == "DELAYED"
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")


async def test_reschedule_of_an_unknown_run_is_404(stack: Stack) -> None:
    response = await stack.http.post(
        "/api/v1/runs/run_0000000000aaaaaaaaaaaaaaaa/reschedule", json={"delay": "1s"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"delay": "whenever"}, "options.delay"),
        ({"delay": "2001-01-01T00:00:00Z"}, "options.delay"),
        ({"ttl": "forever"}, "options.ttl"),
        ({"ttl": -1}, "options.ttl"),
    ],
)
async def test_unparsable_delays_and_ttls_are_refused(
    stack: Stack, options: dict[str, str], field: str
) -> None:
    response = await stack.http.post(
        "/api/v1/tasks/hello-world/trigger", json={"payload": {"name": "x"}, "options": options}
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{field}: ")


async def test_a_delayed_run_can_be_canceled(stack: Stack) -> None:
    run_id = await stack.trigger("hello-world", {"name": "never"}, delay="1h")
    assert (await stack.http.post(f"/api/v2/runs/{run_id}/cancel")).status_code == 200
    run = await stack.wait_status(run_id, "CANCELED")
    assert run["attemptCount"] == 0 and "finishedAt" in run


async def test_a_run_that_cannot_start_within_its_ttl_expires_and_never_executes(
    stack: Stack,
) -> None:
    run_id = await stack.trigger("no-worker-serves-this", {"x": 1}, ttl="1s")
    run = await stack.wait_final(run_id, timeout=10)
    assert run["status"] == "EXPIRED" and run["isCompleted"] and run["isFailed"]
    assert run["error"]["message"] == "Run expired because the TTL (1s) was reached"
    assert run["attemptCount"] == 0
    assert run["ttl"] == "1s" and "expiredAt" in run


async def test_the_ttl_clock_starts_after_the_delay(stack: Stack) -> None:
    run_id = await stack.trigger("no-worker-serves-this", {}, delay="1s", ttl="1s")
    run = await stack.wait_final(run_id, timeout=10)
    assert run["status"] == "EXPIRED"
    assert _iso(run["expiredAt"]) - _iso(run["createdAt"]) >= timedelta(seconds=1.9)


async def test_a_run_that_starts_in_time_is_not_expired(stack: Stack) -> None:
    run = await stack.wait_final(await stack.trigger("sleepy", {"seconds": 1.5}, ttl="1s"))
    assert run["status"] == "COMPLETED"


async def test_dev_runs_default_to_a_ten_minute_ttl_and_zero_disables_it(stack: Stack) -> None:
    default = await stack.retrieve(await stack.trigger("hello-world", {"name": "x"}))
    disabled = await stack.retrieve(await stack.trigger("hello-world", {"name": "x"}, ttl=0))
    seconds = await stack.retrieve(await stack.trigger("hello-world", {"name": "x"}, ttl=3600))
    assert default["ttl"] == "10m"
    assert "ttl" not in disabled
    assert seconds["ttl"] == "1h"


async def test_an_unparsable_delay_through_the_sdk_is_a_bad_request(sdk_stack: Stack) -> None:
    with pytest.raises(BadRequestError, match=r"options\.delay"):
        await tasks.trigger("hello-world", {"name": "x"}, delay="next tuesday")
