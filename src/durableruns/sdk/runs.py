"""``runs``: retrieve, poll, list and subscribe to runs."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx

from durableruns.errors import DurableRunsError
from durableruns.sdk.client import request, stream
from durableruns.sdk.handles import RunHandle
from durableruns.sdk.run_logs import follow_logs as follow_logs  # runs.follow_logs
from durableruns.sdk.run_logs import logs as logs  # runs.logs
from durableruns.sdk.run_streams import (  # runs.subscribe_to_stream
    subscribe_to_stream as subscribe_to_stream,
)
from durableruns.sdk.sse import server_sent_events
from durableruns.sdk.subscriptions import Subscription
from durableruns.status import RunStatus
from durableruns.wire import Run

if TYPE_CHECKING:
    from durableruns.sdk.batch import BatchHandle
    from durableruns.task_definitions import Task


async def retrieve(run: RunHandle | str, *, task: Task[Any, Any] | None = None) -> Run[Any, Any]:
    """The run's current state. With a task (or a handle from ``task.trigger``) the
    payload and output are parsed into the task's models."""
    run_id = run if isinstance(run, str) else run.id
    task = task or (run.task if isinstance(run, RunHandle) else None)
    response = await request("GET", f"/api/v3/runs/{run_id}")
    model: type[Run[Any, Any]] = Run[Any, Any]
    if task is not None:
        model = Run[task.payload_model or Any, task.output_model or Any]  # type: ignore[misc,assignment]
    data = response.json()
    if task is not None and task.output_model is not None and data.get("status") != "COMPLETED":
        data.pop("output", None)
    return model.model_validate(data)


async def poll(
    run: RunHandle | str,
    *,
    task: Task[Any, Any] | None = None,
    interval: float = 0.2,
    timeout: float = 300.0,
) -> Run[Any, Any]:
    """Retrieve until the run is in a final status (``is_completed``)."""
    deadline = time.monotonic() + timeout
    while True:
        current = await retrieve(run, task=task)
        if current.is_completed:
            return current
        if time.monotonic() > deadline:
            raise DurableRunsError(f"Run {current.id} still {current.status} after {timeout}s")
        await asyncio.sleep(interval)


def _run_id(run: RunHandle | str) -> str:
    return run if isinstance(run, str) else run.id


async def cancel(run: RunHandle | str) -> str:
    """Cancel a run (and its in-progress children); a finished run is left as it is."""
    response = await request("POST", f"/api/v2/runs/{_run_id(run)}/cancel")
    run_id: str = response.json()["id"]
    return run_id


async def replay(run: RunHandle | str, **overrides: Any) -> RunHandle:
    """A new run of the same task with the same payload, or the ``overrides`` given
    (``payload``, ``tags``, ``metadata``, ``delay``, ``ttl``, ``max_attempts`` …)."""
    body = {_camel(k): v for k, v in overrides.items() if v is not None}
    response = await request("POST", f"/api/v1/runs/{_run_id(run)}/replay", json=body or None)
    return RunHandle(
        id=response.json()["id"], public_access_token=response.headers.get("x-trigger-jwt", "")
    )


async def reschedule(run: RunHandle | str, *, delay: str | float | datetime) -> Run[Any, Any]:
    """Move a DELAYED run's start: a duration from now (``"1h"``) or a datetime."""
    value = delay.isoformat() if isinstance(delay, datetime) else delay
    response = await request(
        "POST", f"/api/v1/runs/{_run_id(run)}/reschedule", json={"delay": value}
    )
    return Run[Any, Any].model_validate(response.json())


async def update_metadata(run: RunHandle | str, metadata: dict[str, Any]) -> dict[str, Any]:
    """Replace a run's metadata; returns it."""
    response = await request(
        "PUT", f"/api/v1/runs/{_run_id(run)}/metadata", json={"metadata": metadata}
    )
    result: dict[str, Any] = response.json()["metadata"]
    return result


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


from durableruns.wire_runs_list import ListedRun, RunListResponse  # noqa: E402


# --- list ----------------------------------------------------------------------------
class RunListPage(NamedTuple):
    """One page of runs, newest first, and the cursors around it."""

    items: builtins.list[ListedRun]
    next: str | None
    """Pass as ``after`` for the older runs; None on the last page."""
    previous: str | None
    """Pass as ``before`` for the newer runs; None on a page reached without a cursor."""


StrOrList = str | Sequence[str] | None


def list(  # shadows the builtin on purpose: Trigger.dev's name is runs.list
    *,
    status: RunStatus | str | Sequence[RunStatus | str] | None = None,
    task_identifier: StrOrList = None,
    version: StrOrList = None,
    tag: StrOrList = None,
    batch: StrOrList = None,
    schedule: str | None = None,
    queue: StrOrList = None,
    idempotency_key: str | None = None,
    parent_run_id: str | None = None,
    is_test: bool | None = None,
    from_: datetime | int | None = None,
    to: datetime | int | None = None,
    period: str | None = None,
    limit: int | None = None,
) -> AsyncIterator[ListedRun]:
    """Every run matching the filters, newest first, fetching page after page.

    Example::

        async for run in runs.list(status=["COMPLETED"], task_identifier="hello-world"):
            print(run.id, run.created_at)

    ``from_``/``to`` bound the creation time (a datetime or epoch milliseconds),
    ``period`` counts back from now (``"1d"``, ``"30m"``), ``tag`` matches runs with any
    of the tags, ``limit`` is the page size (1-100, default 25). The list is read from
    Temporal visibility and may lag a change by about a second.
    """
    params = _list_params(
        status=status,
        task_identifier=task_identifier,
        version=version,
        tag=tag,
        batch=batch,
        schedule=schedule,
        queue=queue,
        idempotency_key=idempotency_key,
        parent_run_id=parent_run_id,
        is_test=is_test,
        from_=from_,
        to=to,
        period=period,
        limit=limit,
    )
    return _all_pages(params)


async def list_page(
    *,
    after: str | None = None,
    before: str | None = None,
    **filters: Any,
) -> RunListPage:
    """One page of :func:`list`: the newest runs, or those older than the ``after``
    cursor, or those newer than the ``before`` cursor (still newest first).

    Example::

        page = await runs.list_page(tag="nightly", limit=10)
        while page.next:
            page = await runs.list_page(tag="nightly", limit=10, after=page.next)
    """
    params = _list_params(**filters)
    if after is not None:
        params["page[after]"] = after
    if before is not None:
        params["page[before]"] = before
    return await _fetch_page(params)


async def _all_pages(params: dict[str, str]) -> AsyncIterator[ListedRun]:
    page = await _fetch_page(params)
    while True:
        for item in page.items:
            yield item
        if not page.next:
            return
        page = await _fetch_page({**params, "page[after]": page.next})


async def _fetch_page(params: dict[str, str]) -> RunListPage:
    response = await request("GET", f"/api/v1/runs?{httpx.QueryParams(params)}")
    body = RunListResponse.model_validate(response.json())
    return RunListPage(body.data, body.pagination.next, body.pagination.previous)


def _list_params(
    *,
    status: RunStatus | str | Sequence[RunStatus | str] | None = None,
    task_identifier: StrOrList = None,
    version: StrOrList = None,
    tag: StrOrList = None,
    batch: StrOrList = None,
    schedule: str | None = None,
    queue: StrOrList = None,
    idempotency_key: str | None = None,
    parent_run_id: str | None = None,
    is_test: bool | None = None,
    from_: datetime | int | None = None,
    to: datetime | int | None = None,
    period: str | None = None,
    limit: int | None = None,
) -> dict[str, str]:
    """The query string Trigger.dev's client sends: bracketed keys, comma lists."""
    lists = {
        "filter[status]": status,
        "filter[taskIdentifier]": task_identifier,
        "filter[version]": version,
        "filter[tag]": tag,
        "filter[batch]": batch,
        "filter[queue]": queue,
    }
    params = {key: _comma_list(value) for key, value in lists.items() if value is not None}
    singles = {
        "filter[schedule]": schedule,
        "filter[idempotencyKey]": idempotency_key,
        "filter[parentRunId]": parent_run_id,
        "filter[createdAt][period]": period,
        "filter[createdAt][from]": _epoch_ms(from_),
        "filter[createdAt][to]": _epoch_ms(to),
        "filter[isTest]": None if is_test is None else str(is_test).lower(),
        "page[size]": None if limit is None else str(limit),
    }
    params.update({key: value for key, value in singles.items() if value is not None})
    return params


def _comma_list(value: str | Sequence[Any]) -> str:
    return value if isinstance(value, str) else ",".join(str(v) for v in value)


def _epoch_ms(value: datetime | int | None) -> str | None:
    if value is None:
        return None
    return str(round(value.timestamp() * 1000) if isinstance(value, datetime) else value)


# --- subscribe -----------------------------------------------------------------------
RESUBSCRIBE_DELAY_S = 0.5
"""Pause before re-opening a run's event stream that ended early."""


def subscribe_to_run(
    run: RunHandle | str, *, task: Task[Any, Any] | None = None
) -> Subscription[Run[Any, Any]]:
    """The run now and after every change, ending once it reaches a final status.

    Example::

        async for run in runs.subscribe_to_run(handle):
            print(run.status)  # QUEUED, EXECUTING, COMPLETED

    Reads the facade's server-sent events (``GET /api/v1/runs/{id}/events``); changes
    arrive within about half a second.
    """
    task = task or (run.task if isinstance(run, RunHandle) else None)
    return Subscription(_run_changes(_run_id(run), task))


async def _run_changes(
    run_id: str, task: Task[Any, Any] | None
) -> AsyncGenerator[Run[Any, Any], None]:
    while True:
        async with contextlib.aclosing(
            _server_sent_events(f"/api/v1/runs/{run_id}/events", {})
        ) as events:
            async for data in events:
                current = _typed_run(data, task)
                yield current
                if current.is_completed:
                    return
        # The stream ended before a final status (the facade restarted): pick up again.
        await asyncio.sleep(RESUBSCRIBE_DELAY_S)


def subscribe_to_runs_with_tag(
    tag: str, *, created_at: str | None = None
) -> Subscription[Run[Any, Any]]:
    """Runs with ``tag``: those created in the last ``created_at`` (default a day),
    then new ones, each again after every change. Runs forever; ``break`` to stop.

    Example::

        async for run in runs.subscribe_to_runs_with_tag("user_42"):
            print(run.id, run.status)
    """
    params = {"tag": tag, **({"createdAt": created_at} if created_at else {})}
    return Subscription(_runs_of("/api/v1/runs/events", params))


def subscribe_to_batch(batch: BatchHandle | str) -> Subscription[Run[Any, Any]]:
    """The runs of a batch (a ``BatchHandle`` or its id) as they are created, each again
    after every change. Runs forever; ``break`` to stop.

    Example::

        handle = await batch.trigger("hello-world", [{"name": "a"}, {"name": "b"}])
        async for run in runs.subscribe_to_batch(handle):
            print(run.id, run.status)
    """
    batch_id = batch if isinstance(batch, str) else batch.id
    return Subscription(_runs_of(f"/api/v1/batches/{batch_id}/events", {}))


async def _runs_of(path: str, params: dict[str, str]) -> AsyncGenerator[Run[Any, Any], None]:
    async with contextlib.aclosing(_server_sent_events(path, params)) as events:
        async for data in events:
            yield Run[Any, Any].model_validate(data)


def _typed_run(data: dict[str, Any], task: Task[Any, Any] | None) -> Run[Any, Any]:
    if task is None:
        return Run[Any, Any].model_validate(data)
    model: type[Run[Any, Any]] = Run[task.payload_model or Any, task.output_model or Any]  # type: ignore[misc,assignment]
    if task.output_model is not None and data.get("status") != "COMPLETED":
        data.pop("output", None)
    return model.model_validate(data)


async def _server_sent_events(path: str, params: dict[str, str]) -> AsyncGenerator[Any, None]:
    """The JSON ``data`` of each event of a ``text/event-stream`` response."""
    async with stream("GET", path, params=params) as response:
        async for event in server_sent_events(response):
            if event.has_data:
                yield event.data
