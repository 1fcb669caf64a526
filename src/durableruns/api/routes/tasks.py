"""``/api/v1/tasks``: triggering runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Header, Path, Request, Response

from durableruns.api.deps import EnvironmentDep, SecretKeyDep, ServiceDep, SettingsDep
from durableruns.api.routes.packets import resolve_packet
from durableruns.api.tokens import public_token_for_run
from durableruns.catalog_models import TaskDescriptor
from durableruns.options import run_options
from durableruns.packets import decode_packet
from durableruns.task_definitions import TASK_ID_PATTERN
from durableruns.wire import TriggerTaskRequest, TriggerTaskResponse

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


@router.get("", response_model=list[TaskDescriptor])
async def list_tasks(service: ServiceDep) -> list[TaskDescriptor]:
    """Every deployed version's tasks: id, version, queue, retry settings, payload schema."""
    catalog = await service.catalog.get()
    return [task for version in catalog.versions.values() for task in version]


@router.post(
    "/{task_id}/trigger", response_model=TriggerTaskResponse, response_model_exclude_none=True
)
async def trigger_task(
    task_id: Annotated[str, Path(pattern=TASK_ID_PATTERN.pattern)],
    service: ServiceDep,
    settings: SettingsDep,
    secret_key: SecretKeyDep,
    response: Response,
    http_request: Request,
    environment: EnvironmentDep,
    body: Annotated[TriggerTaskRequest | None, Body()] = None,
    request_key: Annotated[str | None, Header(alias="x-trigger-request-idempotency-key")] = None,
) -> TriggerTaskResponse:
    """Trigger a run of a task (deployed or not); answers its run id.

    A repeated ``x-trigger-request-idempotency-key`` returns the first request's run.
    """
    request = body or TriggerTaskRequest()
    data, packet_type = await resolve_packet(
        http_request, environment, request.payload, request.options.payload_type
    )
    payload = decode_packet(data, packet_type)
    options = run_options(request.options, now=datetime.now(UTC))
    run_id = service.request_run_id(task_id, request_key) if request_key else None
    triggered = await service.trigger(
        task_id,
        payload,
        options,
        run_id=run_id,
        default_ttl_s=settings.default_ttl_s,
        payload_checked=True,  # by decode_packet
    )
    response.headers["x-trigger-jwt"] = public_token_for_run(
        secret_key, settings.environment, triggered.run_id
    )
    # A retried request gets the first answer, which was not cached.
    is_cached = triggered.is_cached and options.idempotency_key_hash is not None
    return TriggerTaskResponse(id=triggered.run_id, is_cached=is_cached)
