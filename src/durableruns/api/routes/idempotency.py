"""``POST /api/v1/idempotencyKeys/{key}/reset`` (the official client's
``idempotencyKeys.reset``): the next trigger of the task with the key makes a new run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from durableruns.api.deps import ServiceDep
from durableruns.api.errors import ApiHTTPError
from durableruns.limits import check_text
from durableruns.wire import WireModel

router = APIRouter(tags=["runs"])


class ResetIdempotencyKeyRequest(WireModel):
    """The task whose runs the key belongs to."""

    task_identifier: str


@router.post("/api/v1/idempotencyKeys/{key}/reset")
async def reset_idempotency_key(
    key: Annotated[str, Path(description="The key's hash (or the key as given)")],
    body: ResetIdempotencyKeyRequest,
    service: ServiceDep,
) -> dict[str, str]:
    """Reset an idempotency key of a task; 404 when the key made no run of it."""
    check_text(key, "idempotencyKey")
    check_text(body.task_identifier, "taskIdentifier")
    if not await service.reset_idempotency_key(body.task_identifier, key):
        raise ApiHTTPError(
            404,
            f"idempotencyKey: no run of task {body.task_identifier!r} has this key",
            {"x-should-retry": "false"},
        )
    return {"id": key}
