"""``/api/v1/queues``: a queue's state, and changing its concurrency limit at runtime."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import Field

from durableruns.api.deps import get_environment
from durableruns.api.errors import ApiHTTPError
from durableruns.catalog_models import QueueState
from durableruns.service.queues import QueueService, UnknownQueueError
from durableruns.wire import WireModel

router = APIRouter(prefix="/api/v1/queues", tags=["queues"])

QueueName = Annotated[str, Path(description="e.g. ``task/hello-world`` or a custom queue name")]


class QueueBody(WireModel):
    """A queue as the API shows it."""

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


def _body(state: QueueState) -> QueueBody:
    return QueueBody(
        name=state.name,
        concurrency_key=state.concurrency_key,
        concurrency_limit=state.limit,
        running=len(state.holders),
        queued=len(state.waiting),
    )


@router.get("/{name:path}/state", response_model=QueueBody, response_model_exclude_none=True)
async def get_queue(
    name: QueueName, request: Request, concurrency_key: str | None = None
) -> QueueBody:
    """A queue's limit and how many runs hold or wait for its slots."""
    try:
        return _body(await _service(request).get(name, concurrency_key))
    except UnknownQueueError as exc:
        raise ApiHTTPError(404, f"queue: unknown queue {name!r}") from exc


@router.put(
    "/{name:path}/concurrency-limit", response_model=QueueBody, response_model_exclude_none=True
)
async def set_queue_limit(
    name: QueueName, body: ConcurrencyLimitBody, request: Request
) -> QueueBody:
    """Change a queue's concurrency limit now (it then wins over the task definitions)."""
    try:
        return _body(await _service(request).set_limit(name, body.concurrency_limit))
    except UnknownQueueError as exc:
        raise ApiHTTPError(404, f"queue: unknown queue {name!r}") from exc
