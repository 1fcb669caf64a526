"""Realtime pushed, not polled: one history long-poll per watched run, shared by all its
subscribers, reading the run only when Temporal recorded something; and delivery that
stays ordered and complete when clients drop and reconnect (single runs, tag and batch
sets, SSE and the Electric protocol)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from durableruns.api import create_app
from durableruns.sdk import batch, runs
from durableruns.service.run_changes import RunChanges
from durableruns.status import RunStatus
from tests.api.test_realtime import (
    EXAMPLES,
    _value,
    distinct,
    point_sdk_at,
    serving,
    sse_events,
)
from tests.helpers import Stack, eventually, open_stack

ORDER = {
    "PENDING_VERSION": 0,
    "DELAYED": 0,
    "QUEUED": 0,
    "PENDING": 0,
    "DEQUEUED": 1,
    "EXECUTING": 2,
    "COMPLETED": 3,
    "COMPLETED_SUCCESSFULLY": 3,
    "CANCELED": 3,
}


def in_order(statuses: list[str]) -> bool:
    ranks = [ORDER[s] for s in statuses]
    return ranks == sorted(ranks)


@pytest.fixture(scope="module")
async def push_stack(client: Client) -> AsyncIterator[tuple[Stack, str, Any]]:
    """A worker, the facade in-process, and the same app served over HTTP."""
    async with open_stack(client, EXAMPLES) as stack:
        app = create_app(stack.settings, client=client)
        app.state.realtime_hold_s = 1.0
        async with serving(app) as url:
            yield stack, url, app


def feeds_of(app: Any) -> RunChanges:
    feeds: RunChanges = app.state.environments[0].cache["run_feeds"]
    return feeds


# --- push ----------------------------------------------------------------------------
async def test_an_idle_watched_run_is_read_once_and_a_change_still_arrives_at_once(
    push_stack: tuple[Stack, str, Any],
) -> None:
    stack, url, app = push_stack
    run_id = await stack.trigger("hello-world", {"name": "later"}, delay="1h")
    streams = [sse_events(url, f"/api/v1/runs/{run_id}/events") for _ in range(3)]
    for stream in streams:
        assert (await anext(stream))["status"] == "DELAYED"
    feed = feeds_of(app).feed(run_id)
    assert feed is not None and feed.following
    await asyncio.sleep(1.5)  # a poller would have read the run ~15 times by now
    reads = feed.reads
    assert reads <= 2, f"{reads} reads of a run that did nothing"
    started = time.monotonic()
    await stack.http.post(f"/api/v2/runs/{run_id}/cancel")
    for stream in streams:
        event = await asyncio.wait_for(anext(stream), 5)
        assert event["status"] == "CANCELED"
    assert time.monotonic() - started < 2.0  # at once, not at a poll: loose for CI load
    assert feed.reads <= reads + 2
    for stream in streams:
        await stream.aclose()


async def test_one_long_poll_per_run_whatever_the_subscribers(
    push_stack: tuple[Stack, str, Any],
) -> None:
    stack, url, app = push_stack
    run_ids = [await stack.trigger("hello-world", {"name": "x"}, delay="1h") for _ in range(2)]
    streams = [sse_events(url, f"/api/v1/runs/{r}/events") for r in run_ids for _ in range(4)]
    for stream in streams:
        await anext(stream)
    feeds = feeds_of(app)
    assert all(feeds.feed(r) is not None and feeds.feed(r).following for r in run_ids)  # type: ignore[union-attr]
    for stream in streams:
        await stream.aclose()
    await eventually(
        lambda: _value(sum(feeds.feed(r) is not None for r in run_ids)), lambda n: n == 0
    )
    for run_id in run_ids:
        await stack.http.post(f"/api/v2/runs/{run_id}/cancel")


# --- reconnects: single run ----------------------------------------------------------
async def test_sse_reconnecting_after_every_event_sees_the_run_in_order_to_its_end(
    push_stack: tuple[Stack, str, Any],
) -> None:
    stack, url, _ = push_stack
    run_id = await stack.trigger("sleepy", {"seconds": 0.8})
    seen: list[str] = []
    for _ in range(30):
        stream = sse_events(url, f"/api/v1/runs/{run_id}/events")
        event = await anext(stream)  # the state now, then drop the connection
        await stream.aclose()
        seen.append(event["status"])
        if event["isCompleted"]:
            break
        await asyncio.sleep(0.1)
    assert seen[-1] == "COMPLETED" and in_order(seen), seen
    assert event["output"] == {"slept": 0.8}


async def test_electric_requests_dropped_mid_hold_lose_nothing(
    push_stack: tuple[Stack, str, Any],
) -> None:
    stack, _, _ = push_stack
    run_id = await stack.trigger("sleepy", {"seconds": 2})
    path = f"/realtime/v1/runs/{run_id}"
    first = await stack.http.get(path, params={"offset": "-1", "log": "full"})
    handle, offset = first.headers["electric-handle"], first.headers["electric-offset"]
    seen = [first.json()[0]["value"]["status"]]
    dropped = 0
    for attempt in range(60):
        params = {"handle": handle, "live": "true", "log": "full", "offset": offset}
        # Requests are abandoned before the answer until one was, mid-hold; then every
        # other one (a change can answer a request within the first 50 ms).
        abandon = dropped == 0 or attempt % 2 == 0
        try:
            response = await asyncio.wait_for(
                stack.http.get(path, params=params), 0.05 if abandon else 5
            )
        except TimeoutError:
            dropped += 1
            continue
        offset = response.headers["electric-offset"]
        changes = [m for m in response.json() if "value" in m]
        seen += [c["value"]["status"] for c in changes]
        if changes and changes[-1]["value"]["completedAt"]:
            break
    assert dropped > 0
    assert seen[-1] == "COMPLETED_SUCCESSFULLY" and in_order(seen), seen


# --- reconnects: sets ------------------------------------------------------------------
async def electric_set(
    http: httpx.AsyncClient, path: str, params: dict[str, str], done: Any, *, drop: bool
) -> tuple[dict[str, list[str]], int]:
    """Follow a set shape until ``done(latest)``; each row's statuses, and how many
    requests were dropped (when ``drop``: until one was, mid-hold, then every other one)."""
    first = await http.get(path, params={**params, "offset": "-1"})
    assert first.status_code == 200, first.text
    handle, offset = first.headers["electric-handle"], first.headers["electric-offset"]
    rows: dict[str, list[str]] = {}
    latest: dict[str, dict[str, Any]] = {}

    def take(messages: list[dict[str, Any]]) -> None:
        for message in messages:
            if "value" in message:
                value = {**latest.get(message["key"], {}), **message["value"]}
                latest[message["key"]] = value
                rows.setdefault(value["friendlyId"], []).append(value["status"])

    take(first.json())
    dropped = 0
    for attempt in range(200):
        if done(latest):
            break
        live = {**params, "handle": handle, "live": "true", "offset": offset}
        try:
            # Abandoned before the answer until one was, mid-hold; then every other one.
            timeout = 0.05 if drop and (dropped == 0 or attempt % 2 == 0) else 5
            response = await asyncio.wait_for(http.get(path, params=live), timeout)
        except TimeoutError:
            dropped += 1
            continue
        assert response.status_code == 200, response.text
        assert response.headers["electric-handle"] == handle
        offset = response.headers["electric-offset"]
        take(response.json())
    return rows, dropped


def all_completed(count: int) -> Any:
    def done(latest: dict[str, dict[str, Any]]) -> bool:
        finished = [v for v in latest.values() if v["status"] == "COMPLETED_SUCCESSFULLY"]
        return len(finished) >= count

    return done


async def test_a_tag_shape_with_dropped_requests_ends_with_every_run_completed(
    push_stack: tuple[Stack, str, Any],
) -> None:
    stack, _, _ = push_stack
    tag = f"push-{time.time_ns()}"
    tagged = [await stack.trigger("sleepy", {"seconds": 0.8}, tags=[tag]) for _ in range(3)]
    other = await stack.trigger("hello-world", {"name": "other"}, tags=[f"{tag}-not"])
    rows, dropped = await electric_set(
        stack.http, "/realtime/v1/runs", {"tags": tag}, all_completed(3), drop=True
    )
    assert dropped > 0
    assert set(rows) == set(tagged) and other not in rows
    for run_id, statuses in rows.items():
        assert statuses[-1] == "COMPLETED_SUCCESSFULLY" and in_order(statuses), (run_id, statuses)


async def test_a_batch_shape_sees_every_run_of_the_batch(
    push_stack: tuple[Stack, str, Any],
) -> None:
    stack, _, _ = push_stack
    handle = await batch.trigger("hello-world", [{"name": f"b{i}"} for i in range(4)])
    rows, _ = await electric_set(
        stack.http, f"/realtime/v1/batches/{handle.id}", {}, all_completed(4), drop=False
    )
    assert set(rows) == {r.id for r in handle.runs}
    assert all(statuses[-1] == "COMPLETED_SUCCESSFULLY" for statuses in rows.values())


async def test_a_set_shape_handle_that_is_gone_must_refetch(
    push_stack: tuple[Stack, str, Any],
) -> None:
    stack, _, _ = push_stack
    params = {"tags": "nothing-here", "handle": "runs-gone", "offset": "3_0", "live": "true"}
    response = await stack.http.get("/realtime/v1/runs", params=params)
    assert response.status_code == 409
    assert response.json() == [{"headers": {"control": "must-refetch"}}]
    unknown = await stack.http.get("/realtime/v1/batches/batch_0000000000aaaaaaaaaaaaaaaa")
    assert unknown.status_code == 404


async def test_sdk_batch_and_tag_subscriptions_resubscribed_see_every_run_final(
    push_stack: tuple[Stack, str, Any],
) -> None:
    stack, url, _ = push_stack
    point_sdk_at(url)
    tag = f"push-sdk-{time.time_ns()}"
    handle = await batch.trigger("hello-world", [{"name": f"s{i}"} for i in range(3)])
    ids = {r.id for r in handle.runs}
    final: dict[str, RunStatus] = {}
    for _ in range(2):  # the second subscription joins late: it still gets every run
        async with contextlib.aclosing(runs.subscribe_to_batch(handle)) as stream:
            async with asyncio.timeout(20):
                async for run in stream:
                    if run.is_completed:
                        final[run.id] = run.status
                    if set(final) == ids:
                        break
        assert final == {i: RunStatus.COMPLETED for i in ids}
        final = {}
    tagged = await stack.trigger("hello-world", {"name": "t"}, tags=[tag])
    seen: list[str] = []
    async with contextlib.aclosing(runs.subscribe_to_runs_with_tag(tag)) as tag_stream:
        async with asyncio.timeout(20):
            async for run in tag_stream:
                assert run.id == tagged
                seen.append(run.status.value)
                if run.is_completed:
                    break
    assert distinct(seen)[-1] == "COMPLETED" and in_order(seen), seen


async def test_realtime_refuses_a_caller_without_a_key(push_stack: tuple[Stack, str, Any]) -> None:
    stack, _, _ = push_stack
    async with httpx.AsyncClient(
        transport=stack.http._transport, base_url="http://facade"
    ) as anonymous:
        for path in ("/realtime/v1/runs?tags=a", "/realtime/v1/batches/batch_x"):
            assert (await anonymous.get(path)).status_code == 401


async def test_subscriptions_to_one_tag_share_one_visibility_poll(
    push_stack: tuple[Stack, str, Any],
) -> None:
    stack, url, app = push_stack
    tag = f"push-shared-{time.time_ns()}"
    run_id = await stack.trigger("hello-world", {"name": "shared"}, tags=[tag])
    await stack.wait_final(run_id)
    streams = [sse_events(url, f"/api/v1/runs/events?tag={tag}") for _ in range(3)]
    for stream in streams:  # each gets the run, found by the one poll
        assert (await asyncio.wait_for(anext(stream), 10))["id"] == run_id
    discoverers = app.state.environments[0].cache["tag_discoverers"]
    assert len(discoverers) == 1
    for stream in streams:
        await stream.aclose()
    await eventually(lambda: _value(len(discoverers)), lambda n: n == 0)
