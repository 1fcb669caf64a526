"""Schedules on Temporal Schedules: ticks make runs with Trigger.dev's payload,
deactivate/activate, update, delete, deduplication keys, declarative sync, the run
list's schedule filter, and the 4xx answers for a bad cron or time zone."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import (
    Client,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError
from temporalio.worker import Replayer

from durableruns import sdk
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.engine.workflows.schedule_tick import (
    SCHEDULE_TICK_WORKFLOW,
    ScheduleTickWorkflow,
    temporal_schedule_id,
)
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.helpers import SECRET_KEY, Stack, eventually, open_stack
from tests.helpers.tasks import schedule_tasks

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
async def sched_stack(client: Client) -> AsyncIterator[Stack]:
    """A worker serving the scheduled test tasks and hello-world, on a prefix of its own."""
    registry = TaskRegistry.from_modules(["activities.hello_world"])
    registry.add(schedule_tasks.sched_echo)
    async with open_stack(client, registry) as stack:
        yield stack


def use_sdk(stack: Stack) -> None:
    """Point the SDK at ``stack`` (another module's stack may have repointed it)."""
    sdk.configure(
        base_url=stack.settings.api_url,
        secret_key=SECRET_KEY,
        transport=stack.http._transport,  # type: ignore[arg-type]
    )


async def create(stack: Stack, **body: Any) -> dict[str, Any]:
    response = await stack.http.post("/api/v1/schedules", json={"task": "sched-echo", **body})
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


async def tick(stack: Stack, schedule_id: str) -> None:
    """One tick now, through Temporal's own trigger (no waiting for the cron)."""
    handle = stack.client.get_schedule_handle(
        temporal_schedule_id(stack.settings.task_queue_prefix, schedule_id)
    )
    await handle.trigger()


async def runs_of(stack: Stack, schedule_id: str) -> list[dict[str, Any]]:
    response = await stack.http.get("/api/v1/runs", params={"filter[schedule]": schedule_id})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_tick_makes_a_run_with_trigger_devs_payload(sched_stack: Stack) -> None:
    stack = sched_stack
    schedule = await create(
        stack, cron="0 0 1 1 *", timezone="Europe/Paris", externalId="user-1", deduplicationKey="t1"
    )
    sid = schedule["id"]
    assert sid.startswith("sched_") and schedule["type"] == "IMPERATIVE"
    assert schedule["generator"] == {
        "type": "CRON",
        "expression": "0 0 1 1 *",
        "description": "At 00:00, on day 1 of the month, in January",
    }
    assert at(schedule["nextRun"]).isoformat().endswith("-12-31T23:00:00+00:00")  # Paris midnight
    before = datetime.now(UTC) - timedelta(seconds=1)
    await tick(stack, sid)
    [first] = await eventually(lambda: runs_of(stack, sid), lambda r: len(r) == 1)
    # Temporal names a tick's workflow by the second it is for: two triggers in one
    # second are one tick. So the second trigger waits for the next second.
    await asyncio.sleep(1.05 - datetime.now(UTC).microsecond / 1e6)
    await tick(stack, sid)
    listed = await eventually(lambda: runs_of(stack, sid), lambda r: len(r) == 2)
    second = next(r for r in listed if r["id"] != first["id"])
    one, two = await stack.wait_final(first["id"]), await stack.wait_final(second["id"])
    p1, p2 = one["payload"], two["payload"]
    assert p1["type"] == "IMPERATIVE" and p1["scheduleId"] == sid
    assert p1["externalId"] == "user-1" and p1["timezone"] == "Europe/Paris"
    assert before < at(p1["timestamp"]) < at(p2["timestamp"]) < datetime.now(UTC)
    assert "lastTimestamp" not in p1, "the first tick has no previous one"
    assert at(p2["lastTimestamp"]) == at(p1["timestamp"])
    assert len(p2["upcoming"]) == 10 and at(p2["upcoming"][0]) == at(schedule["nextRun"])
    assert at(p2["upcoming"][1]).year == at(p2["upcoming"][0]).year + 1
    assert two["status"] == "COMPLETED"
    assert two["output"] == {
        "type": "IMPERATIVE",
        "scheduleId": sid,
        "timestampIsDatetime": True,
        "upcoming": 10,
    }
    assert two["schedule"] == {
        "id": sid,
        "externalId": "user-1",
        "deduplicationKey": "t1",
        "generator": schedule["generator"],
    }
    retrieved = (await stack.http.get(f"/api/v1/schedules/{sid}")).json()
    assert retrieved["lastRun"]["id"] == second["id"], "the last tick's run, by derived id"
    assert await stack.run_ids_where(f"TriggerScheduleId = '{sid}'") != []
    use_sdk(stack)
    sdk_listed = [r.id async for r in sdk.runs.list(schedule=sid)]
    assert sorted(sdk_listed) == sorted([first["id"], second["id"]])
    other = await stack.trigger("hello-world", {"name": "x"})
    replayed = (await stack.http.post(f"/api/v1/runs/{second['id']}/replay")).json()["id"]
    assert "schedule" not in await stack.retrieve(replayed), "a replay is not a tick"
    await stack.wait_final(replayed)
    assert sorted(r["id"] for r in await runs_of(stack, sid)) == sorted(sdk_listed)
    assert other not in sdk_listed


async def test_the_tick_workflow_replays_its_own_history(sched_stack: Stack) -> None:
    """Determinism of the tick workflow, from a history recorded just now (the recorded
    histories under tests/engine/ are the lead's to extend)."""
    stack = sched_stack
    sid = (await create(stack, cron="0 0 1 1 *"))["id"]
    await tick(stack, sid)
    await eventually(lambda: runs_of(stack, sid), lambda r: len(r) == 1)
    ticks = f"{stack.settings.task_queue_prefix}:schedule-tick:{sid}"
    query = f"WorkflowType = '{SCHEDULE_TICK_WORKFLOW}' AND WorkflowId STARTS_WITH '{ticks}'"
    [tick_id] = await eventually(lambda: _ids(stack.client, query), lambda ids: len(ids) == 1)
    handle = stack.client.get_workflow_handle(tick_id)
    await handle.result()
    replayer = Replayer(workflows=[ScheduleTickWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(
        await handle.fetch_history(), raise_on_replay_failure=False
    )
    assert result.replay_failure is None


async def _ids(client: Client, query: str) -> list[str]:
    return [w.id async for w in client.list_workflows(query)]


async def _every_second(stack: Stack, schedule_id: str) -> None:
    """Make the Temporal schedule tick every second (a test-only spec; crons tick by minute)."""

    def faster(current: ScheduleUpdateInput) -> ScheduleUpdate:
        schedule = current.description.schedule
        spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=1))])
        return ScheduleUpdate(schedule=dataclasses.replace(schedule, spec=spec))

    handle = stack.client.get_schedule_handle(
        temporal_schedule_id(stack.settings.task_queue_prefix, schedule_id)
    )
    await handle.update(faster)


async def test_deactivate_stops_ticks_and_activate_resumes(sched_stack: Stack) -> None:
    stack = sched_stack
    sid = (await create(stack, cron="0 12 * * *"))["id"]
    await _every_second(stack, sid)
    await eventually(lambda: runs_of(stack, sid), lambda r: len(r) >= 2, timeout=20)
    off = (await stack.http.post(f"/api/v1/schedules/{sid}/deactivate")).json()
    assert off["active"] is False and "nextRun" not in off
    await asyncio.sleep(1.5)  # let visibility catch up with the last tick before the pause
    paused_count = len(await runs_of(stack, sid))
    await asyncio.sleep(3)  # an active schedule would tick three times meanwhile
    assert len(await runs_of(stack, sid)) == paused_count
    on = (await stack.http.post(f"/api/v1/schedules/{sid}/activate")).json()
    assert on["active"] is True
    await eventually(lambda: runs_of(stack, sid), lambda r: len(r) >= paused_count + 2, timeout=20)
    assert (await stack.http.delete(f"/api/v1/schedules/{sid}")).status_code == 200


async def test_update_changes_the_cron_and_keeps_the_state(sched_stack: Stack) -> None:
    stack = sched_stack
    sid = (await create(stack, cron="0 5 * * *", externalId="a"))["id"]
    await stack.http.post(f"/api/v1/schedules/{sid}/deactivate")
    response = await stack.http.put(
        f"/api/v1/schedules/{sid}",
        json={"task": "sched-echo", "cron": "30 6 * * *", "timezone": "Asia/Tokyo"},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["generator"]["expression"] == "30 6 * * *"
    assert updated["timezone"] == "Asia/Tokyo" and "externalId" not in updated
    assert updated["active"] is False, "update keeps a deactivated schedule deactivated"
    on = (await stack.http.post(f"/api/v1/schedules/{sid}/activate")).json()
    next_run = at(on["nextRun"])
    assert (next_run.hour, next_run.minute) == (21, 30), "06:30 in Tokyo is 21:30 UTC"
    assert all((at(t).hour, at(t).minute) == (21, 30) for t in on["upcoming"])
    bad = await stack.http.put(
        f"/api/v1/schedules/{sid}", json={"task": "sched-echo", "cron": "99 * * * *"}
    )
    assert bad.status_code == 422 and bad.json()["error"].startswith("cron: minute field")


async def test_delete_removes_the_schedule(sched_stack: Stack) -> None:
    stack = sched_stack
    sid = (await create(stack, cron="0 1 * * *"))["id"]
    deleted = await stack.http.delete(f"/api/v1/schedules/{sid}")
    assert deleted.status_code == 200 and deleted.json() == {"id": sid}
    assert (await stack.http.get(f"/api/v1/schedules/{sid}")).status_code == 404
    assert (await stack.http.delete(f"/api/v1/schedules/{sid}")).status_code == 404
    handle = stack.client.get_schedule_handle(
        temporal_schedule_id(stack.settings.task_queue_prefix, sid)
    )
    with pytest.raises(RPCError):
        await handle.describe()


async def test_a_deduplication_key_makes_create_idempotent(sched_stack: Stack) -> None:
    stack = sched_stack
    first = await create(stack, cron="0 1 * * *", deduplicationKey="dedup-1")
    again = await create(stack, cron="0 2 * * *", deduplicationKey="dedup-1", externalId="x")
    assert again["id"] == first["id"]
    assert again["generator"]["expression"] == "0 2 * * *" and again["externalId"] == "x"
    other = await create(stack, cron="0 1 * * *", deduplicationKey="dedup-2")
    assert other["id"] != first["id"]

    async def ids() -> list[str]:
        body = (await stack.http.get("/api/v1/schedules", params={"perPage": 100})).json()
        return [s["id"] for s in body["data"]]

    listed = await eventually(ids, lambda found: other["id"] in found and first["id"] in found)
    assert listed.count(first["id"]) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"cron": "* * *"}, "cron: expected 5 fields"),
        ({"cron": "0 25 * * *"}, "cron: hour field '25': 25 is outside 0-23"),
        ({"cron": "0 0 L * *"}, "cron: day of month field 'L'"),
        ({"cron": "0 0 * * *", "timezone": "Mars/Olympus"}, "timezone: unknown time zone"),
        ({"cron": "0 0 * * *", "task": "hello-world"}, "task: 'hello-world' is not a scheduled"),
        ({"cron": "0 0 * * *", "task": "nope"}, "task: no deployed version serves"),
    ],
)
async def test_bad_cron_time_zone_or_task_is_a_422_naming_the_field(
    sched_stack: Stack, body: dict[str, str], message: str
) -> None:
    response = await sched_stack.http.post("/api/v1/schedules", json={"task": "sched-echo", **body})
    assert response.status_code == 422
    assert response.json()["error"].startswith(message), response.json()


async def test_unknown_schedules_are_404_and_time_zones_need_no_key(sched_stack: Stack) -> None:
    stack = sched_stack
    for path in ("/api/v1/schedules/sched_nope", "/api/v1/schedules/run_x"):
        assert (await stack.http.get(path)).status_code == 404
    async with httpx.AsyncClient(transport=stack.http._transport, base_url="http://f") as anon:
        assert (await anon.get("/api/v1/schedules")).status_code == 401
        zones = (await anon.get("/api/v1/timezones")).json()["timezones"]
        assert zones[0] == "UTC" and "Europe/Paris" in zones
        excluded = (await anon.get("/api/v1/timezones?excludeUtc=true")).json()["timezones"]
        assert "UTC" not in excluded


async def test_declarative_schedules_follow_the_newest_version(client: Client) -> None:
    v1 = TaskRegistry([schedule_tasks.sched_nightly])
    v2 = TaskRegistry([schedule_tasks.sched_nightly_v2])
    v3 = TaskRegistry.from_modules(["activities.hello_world"])
    async with open_stack(client, v1, with_worker=False) as stack:
        prefix = stack.settings.task_queue_prefix

        def worker(registry: TaskRegistry, version: str) -> Any:
            return running_worker(client, registry, task_queue_prefix=prefix, version=version)

        async with worker(v1, "1"):
            pass
        [made] = await eventually(
            lambda: _declarative(stack), lambda found: len(found) == 1, timeout=10
        )
        assert made["task"] == "sched-nightly" and made["timezone"] == "Europe/Paris"
        assert made["generator"]["expression"] == "0 3 * * *" and made["active"] is True
        sid = made["id"]
        refused = await stack.http.delete(f"/api/v1/schedules/{sid}")
        assert refused.status_code == 422 and "declarative" in refused.json()["error"]
        async with worker(v2, "2"):
            pass
        changed = (await stack.http.get(f"/api/v1/schedules/{sid}")).json()
        assert changed["generator"]["expression"] == "15 4 * * 1-5"
        assert changed["timezone"] == "Asia/Tokyo"
        async with worker(v3, "3"):
            pass
        assert (await stack.http.get(f"/api/v1/schedules/{sid}")).status_code == 404
        async with worker(v1, "1"):
            pass
        gone = await stack.http.get(f"/api/v1/schedules/{sid}")
        assert gone.status_code == 404, "an older version's worker does not bring it back"


async def _declarative(stack: Stack) -> list[dict[str, Any]]:
    body = (await stack.http.get("/api/v1/schedules")).json()
    return [s for s in body["data"] if s["type"] == "DECLARATIVE"]


async def test_the_python_sdk_schedules_namespace(sched_stack: Stack) -> None:
    use_sdk(sched_stack)
    created = await sdk.schedules.create(
        task="sched-echo", cron="*/15 * * * *", deduplication_key="sdk-1", external_id="u"
    )
    assert created.generator.description == "Every 15 minutes"
    assert (await sdk.schedules.retrieve(created.id)).external_id == "u"
    updated = await sdk.schedules.update(created.id, task="sched-echo", cron="0 * * * *")
    assert updated.generator.description == "Every hour"
    assert (await sdk.schedules.deactivate(created.id)).active is False
    assert (await sdk.schedules.activate(created.id)).active is True

    async def listed() -> list[str]:
        return [s.id async for s in sdk.schedules.list(per_page=2)]

    await eventually(listed, lambda ids: created.id in ids)
    assert "UTC" not in await sdk.schedules.timezones(exclude_utc=True)
    assert await sdk.schedules.delete(created.id) == created.id


async def test_schedules_belong_to_their_environment(sched_stack: Stack) -> None:
    stack = sched_stack
    sid = (await create(stack, cron="0 4 * * *"))["id"]
    staging_key = stack.settings.for_environment("staging").secret_key or ""
    async with httpx.AsyncClient(
        transport=stack.http._transport,
        base_url="http://facade",
        headers={"Authorization": f"Bearer {staging_key}"},
    ) as staging:
        assert (await staging.get(f"/api/v1/schedules/{sid}")).status_code == 404
        body = (await staging.get("/api/v1/schedules")).json()
        assert sid not in [s["id"] for s in body["data"]]
