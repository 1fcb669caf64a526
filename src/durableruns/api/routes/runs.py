"""``/api/v{1,2,3}/runs``: reading and controlling runs (Trigger.dev's paths)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request, Response

from durableruns.api.deps import EnvironmentDep, SecretKeyDep, ServiceDep, SettingsDep
from durableruns.api.errors import ApiHTTPError
from durableruns.api.routes.packets import resolve_packet
from durableruns.api.routes.schedules import run_schedule
from durableruns.api.scopes import PUBLIC_READ, require_run
from durableruns.api.tokens import public_token_for_run
from durableruns.durations import DurationError, parse_delay
from durableruns.metadata import check_metadata_size
from durableruns.models import RunRecord
from durableruns.options import run_options
from durableruns.packets import decode_packet
from durableruns.service.runs import RunService
from durableruns.service.waiting_reason import waiting_reason
from durableruns.wire import (
    MetadataBody,
    RelatedRuns,
    ReplayRunRequest,
    RescheduleRunRequest,
    Run,
    TriggerTaskResponse,
    run_summary,
)

router = APIRouter(tags=["runs"])

RunId = Annotated[str, Path(description="The run's id, ``run_…``")]
RUN_RESPONSE = {"response_model": Run[Any, Any], "response_model_exclude_none": True}


@router.get("/api/v3/runs/{run_id}", openapi_extra=PUBLIC_READ, **RUN_RESPONSE)  # type: ignore[arg-type]
async def retrieve_run(
    run_id: RunId, request: Request, service: ServiceDep, environment: EnvironmentDep
) -> Run[Any, Any]:
    """Retrieve a run: status, payload, output or error, attempts, related runs, schedule."""
    record = await service.require(run_id)
    require_run(request, record)
    run = Run.from_record(record)
    run.related_runs, run.schedule, run.waiting_reason = await asyncio.gather(
        _related_runs(service, record),
        run_schedule(environment, record.options.schedule_id),
        waiting_reason(service, environment.limits, record),
    )
    return run


MAX_RELATED_CHILDREN = 100


async def _related_runs(service: RunService, record: RunRecord) -> RelatedRuns:
    """Parent, root and waited-for children, each read exactly (not from visibility)."""
    options = record.options
    ids = [options.parent_run_id, options.root_run_id, *record.child_run_ids[:MAX_RELATED_CHILDREN]]
    found = await asyncio.gather(*(service.retrieve(i) if i else _none() for i in ids))
    parent, root, *children = (run_summary(r) if r else None for r in found)
    return RelatedRuns(parent=parent, root=root, children=[c for c in children if c] or None)


async def _none() -> None:
    return None


@router.post("/api/v2/runs/{run_id}/cancel")
async def cancel_run(run_id: RunId, service: ServiceDep) -> dict[str, str]:
    """Cancel a run and its in-progress children; a finished run is left as it is."""
    await service.cancel(run_id)
    return {"id": run_id}


@router.post(
    "/api/v1/runs/{run_id}/replay",
    response_model=TriggerTaskResponse,
    response_model_exclude_none=True,
)
async def replay_run(
    run_id: RunId,
    service: ServiceDep,
    settings: SettingsDep,
    secret_key: SecretKeyDep,
    response: Response,
    http_request: Request,
    environment: EnvironmentDep,
    body: Annotated[ReplayRunRequest | None, Body()] = None,
) -> TriggerTaskResponse:
    """A new run of the same task, with the same payload or the overrides given."""
    request = body or ReplayRunRequest()
    given = request.model_fields_set
    computed = run_options(request, now=datetime.now(UTC))
    overrides: dict[str, Any] = {
        field: getattr(computed, field)
        for wire_field, field in _REPLAY_OVERRIDES.items()
        if wire_field in given
    }
    data, packet_type = await resolve_packet(
        http_request, environment, request.payload, request.payload_type
    )
    triggered = await service.replay(
        run_id,
        payload=decode_packet(data, packet_type),
        has_payload="payload" in given,
        **overrides,
    )
    response.headers["x-trigger-jwt"] = public_token_for_run(
        secret_key, settings.environment, triggered.run_id
    )
    return TriggerTaskResponse(id=triggered.run_id)


_REPLAY_OVERRIDES = {
    "tags": "tags",
    "metadata": "metadata",
    "max_attempts": "max_attempts",
    "max_duration": "max_duration_s",
    "delay": "delay_until",
    "ttl": "ttl_s",
    "idempotency_key": "idempotency_key",
    "queue": "queue",
    "concurrency_key": "concurrency_key",
    "priority": "priority_s",
    "test": "is_test",
}
"""Replay request field → the run option it overrides."""


@router.post("/api/v1/runs/{run_id}/reschedule", **RUN_RESPONSE)  # type: ignore[arg-type]
async def reschedule_run(
    run_id: RunId, body: RescheduleRunRequest, service: ServiceDep
) -> Run[Any, Any]:
    """Move a DELAYED run's start; answers the whole run with its new ``delayedUntil``."""
    try:
        delay_until = parse_delay(body.delay)
    except DurationError as exc:
        raise ApiHTTPError(400, f"Invalid delay: {exc}") from exc
    return Run.from_record(await service.reschedule(run_id, delay_until))


@router.get(
    "/api/v1/runs/{run_id}/metadata", response_model=MetadataBody, response_model_exclude_none=True
)
async def get_run_metadata(run_id: RunId, service: ServiceDep) -> MetadataBody:
    """The run's metadata."""
    return MetadataBody(metadata=(await service.require(run_id)).metadata or {})


@router.put(
    "/api/v1/runs/{run_id}/metadata", response_model=MetadataBody, response_model_exclude_none=True
)
async def update_run_metadata(
    run_id: RunId, body: MetadataBody, service: ServiceDep
) -> MetadataBody:
    """Replace an unfinished run's metadata (at most 256 KiB)."""
    check_metadata_size(body.metadata)
    return MetadataBody(metadata=await service.replace_metadata(run_id, body.metadata))
