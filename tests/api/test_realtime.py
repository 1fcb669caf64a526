"""Realtime: the Electric long-poll endpoint driven the way ``@trigger.dev/sdk``'s
``runs.subscribeToRun`` drives it, our server-sent events over a real socket (httpx's
ASGITransport buffers whole bodies, so streams need uvicorn), and the SDK on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from durableruns import sdk
from durableruns.api import create_app
from durableruns.api.realtime_rows import INTERNAL_STATUS, encode_value, timestamp_text
from durableruns.errors import NotFoundError
from durableruns.sdk import runs
from durableruns.status import RunStatus
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.helpers import SECRET_KEY, Stack, eventually, open_stack

EXAMPLES = TaskRegistry.from_modules(["activities"])
AUTH = {"Authorization": f"Bearer {SECRET_KEY}"}
UNKNOWN_RUN = "run_0000000000aaaaaaaaaaaaaaaa"


@pytest.fixture(scope="module")
async def rt_stack(client: Client) -> AsyncIterator[Stack]:
    async with open_stack(client, EXAMPLES) as stack:
        yield stack


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """``app`` on a real local socket; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: _value(server.started), bool, timeout=10)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _value(value: Any) -> Any:
    return value


@pytest.fixture(scope="module")
async def rt_url(rt_stack: Stack, client: Client) -> AsyncIterator[str]:
    """The module stack's facade, served over HTTP for streaming."""
    async with serving(create_app(rt_stack.settings, client=client)) as url:
        yield url


def point_sdk_at(url: str) -> None:
    sdk.configure(base_url=url, secret_key=SECRET_KEY)


async def sse_events(url: str, path: str) -> AsyncIterator[dict[str, Any]]:
    """The JSON data of each server-sent event, until the server closes the stream."""
    async with (
        httpx.AsyncClient(base_url=url, headers=AUTH, timeout=30) as http,
        http.stream("GET", path) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                yield json.loads(line.removeprefix("data: "))


def distinct(statuses: list[str]) -> list[str]:
    return [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]


# --- Electric, as the official client speaks it ---------------------------------------
async def shape(stack: Stack, run_id: str, **params: str) -> httpx.Response:
    return await stack.http.get(f"/realtime/v1/runs/{run_id}", params={"log": "full", **params})


async def test_the_first_shape_request_is_an_insert_then_up_to_date(rt_stack: Stack) -> None:
    run_id = await rt_stack.trigger("hello-world", {"name": "Ada"}, tags=["rt-b", "rt-a"])
    await rt_stack.wait_final(run_id)
    response = await shape(rt_stack, run_id, offset="-1")
    assert response.status_code == 200
    insert, up_to_date = response.json()
    assert insert["headers"] == {"operation": "insert"}
    assert up_to_date == {"headers": {"control": "up-to-date"}}
    assert response.headers["electric-handle"] == f"run-{run_id}"
    assert re.fullmatch(r"\d+_\d+", response.headers["electric-offset"])
    schema = json.loads(response.headers["electric-schema"])
    assert schema["status"] == {"type": "text"} and schema["runTags"] == {"type": "text", "dims": 1}
    row = insert["value"]
    assert row["friendlyId"] == run_id and row["status"] == "COMPLETED_SUCCESSFULLY"
    assert json.loads(row["output"]) == {"message": "Hello, Ada!"}
    assert row["payloadType"] == "application/json" and row["isTest"] == "f"
    assert row["runTags"] == '{"rt-a","rt-b"}'
    for column in ("createdAt", "updatedAt", "startedAt", "completedAt"):
        assert not row[column].endswith("Z")
        datetime.fromisoformat(row[column] + "+00:00")


async def test_live_shape_requests_follow_a_run_until_completed_at(rt_stack: Stack) -> None:
    run_id = await rt_stack.trigger("sleepy", {"seconds": 0.6})
    first = await shape(rt_stack, run_id, offset="-1")
    handle, offset = first.headers["electric-handle"], first.headers["electric-offset"]
    statuses = [first.json()[0]["value"]["status"]]
    cursor = ""
    for _ in range(20):
        params = {"handle": handle, "live": "true", "offset": offset}
        live = await shape(rt_stack, run_id, **params, **({"cursor": cursor} if cursor else {}))
        assert live.status_code == 200 and live.headers["electric-handle"] == handle
        cursor = live.headers["electric-cursor"]
        *changes, control = live.json()
        assert control == {"headers": {"control": "up-to-date"}}
        if not changes:
            continue
        assert changes[0]["headers"] == {"operation": "update"}
        assert live.headers["electric-offset"] != offset
        offset = live.headers["electric-offset"]
        statuses.append(changes[0]["value"]["status"])
        if changes[0]["value"]["completedAt"] is not None:
            break
    assert distinct(statuses)[-2:] == ["EXECUTING", "COMPLETED_SUCCESSFULLY"]
    assert distinct(statuses)[0] in ("PENDING", "EXECUTING")


async def test_an_idle_live_request_answers_up_to_date_after_the_hold(
    rt_stack: Stack, client: Client
) -> None:
    run_id = await rt_stack.trigger("hello-world", {"name": "Idle"})
    await rt_stack.wait_final(run_id)
    app = create_app(rt_stack.settings, client=client)
    app.state.realtime_hold_s = 0.3
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://facade", headers=AUTH
    ) as http:
        first = await http.get(f"/realtime/v1/runs/{run_id}", params={"offset": "-1"})
        offset = first.headers["electric-offset"]
        started = time.monotonic()
        live = await http.get(
            f"/realtime/v1/runs/{run_id}",
            params={"handle": f"run-{run_id}", "live": "true", "offset": offset},
        )
    assert time.monotonic() - started >= 0.3
    assert live.json() == [{"headers": {"control": "up-to-date"}}]
    assert live.headers["electric-offset"] == offset and "electric-cursor" in live.headers


async def test_a_catch_up_request_with_a_handle_resends_the_snapshot(rt_stack: Stack) -> None:
    run_id = await rt_stack.trigger("hello-world", {"name": "Again"})
    first = await shape(rt_stack, run_id, offset="-1")
    again = await shape(
        rt_stack,
        run_id,
        handle=first.headers["electric-handle"],
        offset=first.headers["electric-offset"],
    )
    assert again.json()[0]["headers"] == {"operation": "insert"}
    assert "electric-schema" in again.headers


async def test_skip_columns_drops_columns_but_never_the_reserved_ones(rt_stack: Stack) -> None:
    run_id = await rt_stack.trigger("hello-world", {"name": "Skip"})
    response = await shape(rt_stack, run_id, offset="-1", skipColumns="payload,output,status")
    row = response.json()[0]["value"]
    assert "payload" not in row and "output" not in row and "status" in row
    assert set(json.loads(response.headers["electric-schema"])) == set(row)


async def test_a_shape_of_an_unknown_run_is_404(rt_stack: Stack) -> None:
    response = await shape(rt_stack, UNKNOWN_RUN, offset="-1")
    assert response.status_code == 404 and response.json() == {"error": "Run not found"}


async def test_a_shape_request_with_another_handle_must_refetch(rt_stack: Stack) -> None:
    run_id = await rt_stack.trigger("hello-world", {"name": "Rotated"})
    response = await shape(rt_stack, run_id, handle="run-other", offset="1_1", live="true")
    assert response.status_code == 409
    assert response.json() == [{"headers": {"control": "must-refetch"}}]
    assert response.headers["electric-handle"] == f"run-{run_id}"


def test_every_status_has_the_internal_name_the_realtime_client_knows() -> None:
    client_knows = {
        "DELAYED", "PENDING_VERSION", "WAITING_FOR_DEPLOY", "PENDING", "DEQUEUED", "EXECUTING",
        "RETRYING_AFTER_FAILURE", "WAITING_TO_RESUME", "PAUSED", "COMPLETED_SUCCESSFULLY",
        "COMPLETED_WITH_ERRORS", "INTERRUPTED", "CANCELED", "CRASHED", "SYSTEM_FAILURE",
        "EXPIRED", "TIMED_OUT",
    }  # fmt: skip
    assert set(INTERNAL_STATUS) == set(RunStatus)
    assert set(INTERNAL_STATUS.values()) <= client_knows


def test_realtime_values_use_postgres_text_forms() -> None:
    moment = datetime(2026, 11, 28, 15, 51, 20, 666507, tzinfo=UTC)
    assert timestamp_text(moment) == "2026-11-28T15:51:20.666"
    assert encode_value(['a"b', "c\\d"], "text", 1) == '{"a\\"b","c\\\\d"}'
    assert encode_value(True, "bool") == "t" and encode_value(None, "text") is None
    assert encode_value({"a": 1}, "jsonb") == '{"a": 1}'


# --- server-sent events and the SDK ---------------------------------------------------
@contextlib.asynccontextmanager
async def offline_stack(client: Client) -> AsyncIterator[tuple[Stack, str]]:
    """A facade whose tasks are deployed but served by no running worker, so a run
    stays QUEUED until :func:`worker_for` starts one; served over HTTP."""
    async with open_stack(client, EXAMPLES, with_worker=False) as stack:
        async with worker_for(stack, client):
            pass  # registers the version in the catalog, then stops
        async with serving(create_app(stack.settings, client=client)) as url:
            yield stack, url


def worker_for(stack: Stack, client: Client) -> contextlib.AbstractAsyncContextManager[Any]:
    return running_worker(
        client, EXAMPLES, task_queue_prefix=stack.settings.task_queue_prefix, version="20261128.1"
    )


async def test_sse_sends_queued_executing_completed_in_order_then_closes(client: Client) -> None:
    async with offline_stack(client) as (stack, url):
        run_id = await stack.trigger("sleepy", {"seconds": 0.5})
        events = sse_events(url, f"/api/v1/runs/{run_id}/events")
        first = await anext(events)
        assert first["id"] == run_id and first["status"] == "QUEUED"
        async with worker_for(stack, client):
            rest = [event async for event in events]  # ends when the server closes
    assert distinct([first["status"], *(e["status"] for e in rest)]) == [
        "QUEUED",
        "EXECUTING",
        "COMPLETED",
    ]
    assert rest[-1]["output"] == {"slept": 0.5} and rest[-1]["isCompleted"]


async def test_sdk_subscribe_to_run_yields_each_status_and_ends(client: Client) -> None:
    seen: list[RunStatus] = []
    async with offline_stack(client) as (stack, url), contextlib.AsyncExitStack() as later:
        point_sdk_at(url)
        run_id = await stack.trigger("sleepy", {"seconds": 0.5})
        async for run in runs.subscribe_to_run(run_id):
            seen.append(run.status)
            if len(seen) == 1:  # QUEUED for as long as no worker runs
                await later.enter_async_context(worker_for(stack, client))
    assert distinct(seen) == [RunStatus.QUEUED, RunStatus.EXECUTING, RunStatus.COMPLETED]


async def test_a_change_reaches_a_subscriber_promptly(rt_stack: Stack, rt_url: str) -> None:
    point_sdk_at(rt_url)
    run_id = await rt_stack.trigger("sleepy", {"seconds": 0.4})
    delays = {}
    async for run in runs.subscribe_to_run(run_id):
        delays[run.status] = (datetime.now(UTC) - run.updated_at).total_seconds()
    assert RunStatus.COMPLETED in delays, delays
    assert delays[RunStatus.COMPLETED] < 1.0, delays  # figures: bench/list_and_realtime.py


async def test_subscribing_to_an_unknown_run_is_not_found(rt_stack: Stack, rt_url: str) -> None:
    point_sdk_at(rt_url)
    with pytest.raises(NotFoundError):
        async for _ in runs.subscribe_to_run(UNKNOWN_RUN):
            pass
    response = await rt_stack.http.get(f"/api/v1/runs/{UNKNOWN_RUN}/events")
    assert response.status_code == 404


async def test_the_tag_stream_sends_the_tagged_runs_and_their_changes(
    rt_stack: Stack, rt_url: str
) -> None:
    point_sdk_at(rt_url)
    tag = f"rt-{time.time_ns()}"
    final: dict[str, RunStatus] = {}
    seen: set[str] = set()

    async def follow() -> None:
        async with contextlib.aclosing(runs.subscribe_to_runs_with_tag(tag)) as stream:
            async for run in stream:
                seen.add(run.id)
                if run.is_completed:
                    final[run.id] = run.status
                if len(final) == 2:
                    return

    following = asyncio.create_task(follow())
    tagged = [await rt_stack.trigger("hello-world", {"name": "t"}, tags=[tag]) for _ in range(2)]
    untagged = await rt_stack.trigger("hello-world", {"name": "u"})
    await asyncio.wait_for(following, timeout=20)
    assert final == {run_id: RunStatus.COMPLETED for run_id in tagged}
    assert untagged not in seen


async def test_realtime_needs_the_secret_key(rt_stack: Stack) -> None:
    async with httpx.AsyncClient(
        transport=rt_stack.http._transport, base_url="http://facade"
    ) as anonymous:
        for path in (f"/realtime/v1/runs/{UNKNOWN_RUN}?offset=-1", "/api/v1/runs/events?tag=x"):
            assert (await anonymous.get(path)).status_code == 401


async def test_subscribers_of_a_run_share_one_poller_that_stops_when_they_leave(
    rt_stack: Stack, client: Client
) -> None:
    app = create_app(rt_stack.settings, client=client)
    run_id = await rt_stack.trigger("sleepy", {"seconds": 30})
    async with serving(app) as url:
        streams = [sse_events(url, f"/api/v1/runs/{run_id}/events") for _ in range(3)]
        for stream in streams:
            assert (await anext(stream))["id"] == run_id
        feeds = app.state.environments[0].cache["run_feeds"]
        assert feeds.watched == 1
        for stream in streams:
            await stream.aclose()  # the client goes away mid-stream
        await eventually(lambda: _value(feeds.watched), lambda n: n == 0, timeout=10)
    await rt_stack.http.post(f"/api/v2/runs/{run_id}/cancel")


@pytest.mark.parametrize(
    ("query", "message"),
    [("tag=a&createdAt=forever", "createdAt: "), ('tag=say"hi', "tag: cannot search")],
)
async def test_a_bad_tag_stream_request_is_refused_naming_the_parameter(
    rt_stack: Stack, query: str, message: str
) -> None:
    response = await rt_stack.http.get(f"/api/v1/runs/events?{query}")
    assert response.status_code == 400 and response.json()["error"].startswith(message)
