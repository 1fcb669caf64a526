"""``/api/v3/runs``: reading runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from durableruns.api.deps import ServiceDep
from durableruns.api.errors import ApiHTTPError
from durableruns.wire import Run

router = APIRouter(tags=["runs"])

NOT_FOUND_HEADERS = {"x-should-retry": "false"}
"""Fail fast: without it the official client retries a 404 for about 9 seconds."""


@router.get("/api/v3/runs/{run_id}", response_model=Run[Any, Any], response_model_exclude_none=True)
async def retrieve_run(run_id: str, service: ServiceDep) -> Run[Any, Any]:
    """Retrieve a run: status, payload, output or error, attempts."""
    record = await service.retrieve(run_id)
    if record is None:
        raise ApiHTTPError(404, "Run not found", NOT_FOUND_HEADERS)
    return Run.from_record(record)
