"""``/api/v1/queues``: Trigger.dev's ``queues.*`` — list, retrieve, pause/resume, and
override/reset the limit of a V1 queue (one declared with ``concurrency_limit``).

A queue is named by its id (``queue_…``), or by ``type`` and name: ``task`` and the
task's id, ``custom`` and the queue's name. The official client encodes a ``/`` in the
name twice; the route decodes it once more. The first engine's routes, ``GET
/{name}/state`` and ``PUT /{name}/concurrency-limit``, keep working.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from durableruns.api.deps import get_environment
from durableruns.api.errors import ApiHTTPError
from durableruns.service.queues import QueueService, QueueView, UnknownQueueError
from durableruns.wire import WireModel
from durableruns.wire_limits import (
    Page,
    PauseQueueBody,
    QueueConcurrency,
    QueueItem,
    QueueLimitBody,
    QueuePage,
    QueueTypeBody,
)

router = APIRouter(prefix="/api/v1/queues", tags=["queues"])

QueueName = Annotated[str, Path(description="e.g. ``task/hello-world`` or a custom queue name")]
QueueRef = Annotated[str, Path(description="A queue id (``queue_…``), task id or queue name")]
RefType = Literal["id", "task", "custom"]


class QueueBody(WireModel):
    """A queue as the first engine's ``/state`` route shows it."""

    name: str
    concurrency_key: str | None = None
    concurrency_limit: int
    running: int
    queued: int


class ConcurrencyLimitBody(WireModel):
    """Body of ``PUT /api/v1/queues/{name}/concurrency-limit``."""

    concurrency_limit: int = Field(ge=1)


def _service(request: Request) -> QueueService:
    return get_environment(request).queues


def queue_item(view: QueueView) -> QueueItem:
    """A queue in Trigger.dev's shape."""
    concurrency = None
    if view.limit is not None:
        override = view.limit.per_key_override
        concurrency = QueueConcurrency(
            current=view.current_limit,
            base=view.base_limit,
            override=override,
            overridden_at=view.limit.overridden_at if override is not None else None,
        )
    return QueueItem(
        id=view.id,
        name=view.display_name,
        type=view.type,
        running=view.running,
        queued=view.queued,
        paused=view.paused,
        concurrency_limit=view.current_limit,
        version=view.version,
        concurrency=concurrency,
    )


def _json(item: QueueItem | QueuePage) -> JSONResponse:
    body = item.model_dump(mode="json", by_alias=True)
    for queue in body["data"] if isinstance(item, QueuePage) else [body]:
        if queue.get("concurrency") is None:
            queue.pop("concurrency", None)
    return JSONResponse(body)


async def _resolve(request: Request, ref: str, type: str) -> str:
    try:
        return await _service(request).resolve(unquote(ref), type)
    except UnknownQueueError as exc:
        raise _not_found(ref) from exc


def _not_found(ref: str) -> ApiHTTPError:
    return ApiHTTPError(404, f"queue: unknown queue {unquote(ref)!r}", {"x-should-retry": "false"})


@router.get("")
async def list_queues(
    request: Request,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=100)] = 25,
) -> JSONResponse:
    """Every queue of the deployed tasks, with live counts."""
    views = await _service(request).list()
    chosen = views[(page - 1) * per_page : page * per_page]
    return _json(
        QueuePage(
            data=[queue_item(v) for v in chosen],
            pagination=Page(
                current_page=page,
                total_pages=max(1, math.ceil(len(views) / per_page)),
                count=len(views),
            ),
        )
    )


@router.get("/{name:path}/state", response_model=QueueBody, response_model_exclude_none=True)
async def get_queue_state(
    name: QueueName, request: Request, concurrency_key: str | None = None
) -> QueueBody:
    """A V1 queue's limit and how many runs hold or wait for its slots (first engine)."""
    try:
        view = await _service(request).get(name)
    except UnknownQueueError as exc:
        raise ApiHTTPError(404, f"queue: unknown queue {name!r}") from exc
    state = view.limit
    key = concurrency_key if concurrency_key is not None else "\x00"
    return QueueBody(
        name=name,
        concurrency_key=concurrency_key,
        concurrency_limit=view.current_limit or 0,
        running=state.running_in(key) if state else view.running,
        queued=state.queued_in(key) if state else view.queued,
    )


@router.put(
    "/{name:path}/concurrency-limit", response_model=QueueBody, response_model_exclude_none=True
)
async def set_queue_limit(
    name: QueueName, body: ConcurrencyLimitBody, request: Request
) -> QueueBody:
    """Change a V1 queue's concurrency limit now (it then wins over the definitions)."""
    try:
        view = await _service(request).set_limit(name, body.concurrency_limit)
    except UnknownQueueError as exc:
        raise ApiHTTPError(404, f"queue: unknown queue {name!r}") from exc
    return QueueBody(
        name=name,
        concurrency_limit=view.current_limit or 0,
        running=view.running,
        queued=view.queued,
    )


@router.post("/{ref}/pause")
async def pause_queue(ref: QueueRef, body: PauseQueueBody, request: Request) -> JSONResponse:
    """Pause (no new run of the queue starts; running ones finish) or resume."""
    name = await _resolve(request, ref, body.type)
    view = await _service(request).pause(name, body.action == "pause")
    return _json(queue_item(view))


@router.post("/{ref}/concurrency/override")
async def override_queue_limit(
    ref: QueueRef, body: QueueLimitBody, request: Request
) -> JSONResponse:
    """Override a V1 queue's limit until reset (deprecated, as in Trigger.dev)."""
    name = await _resolve(request, ref, body.type)
    view = await _service(request).set_limit(name, body.concurrency_limit)
    return _json(queue_item(view))


@router.post("/{ref}/concurrency/reset")
async def reset_queue_limit(ref: QueueRef, body: QueueTypeBody, request: Request) -> JSONResponse:
    """Back to the limit declared in code."""
    name = await _resolve(request, ref, body.type)
    view = await _service(request).set_limit(name, None)
    return _json(queue_item(view))


@router.get("/{ref}")
async def retrieve_queue(
    ref: QueueRef, request: Request, type: Annotated[RefType, Query()] = "id"
) -> JSONResponse:
    """A queue and its live counts."""
    name = await _resolve(request, ref, type)
    try:
        view = await _service(request).get(name)
    except UnknownQueueError as exc:
        raise _not_found(ref) from exc
    return _json(queue_item(view))
