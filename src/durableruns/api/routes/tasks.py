"""``/api/v1/tasks``: triggering runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from durableruns.api.deps import SecretKeyDep, ServiceDep, SettingsDep
from durableruns.api.tokens import public_token_for_run
from durableruns.models import RunOptions
from durableruns.packets import decode_packet
from durableruns.task_definitions import TASK_ID_PATTERN
from durableruns.wire import TriggerTaskRequest, TriggerTaskResponse

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


@router.post("/{task_id}/trigger", response_model=TriggerTaskResponse, response_model_by_alias=True)
async def trigger_task(
    task_id: Annotated[str, Path(pattern=TASK_ID_PATTERN.pattern)],
    service: ServiceDep,
    settings: SettingsDep,
    secret_key: SecretKeyDep,
    response: Response,
    body: Annotated[TriggerTaskRequest | None, Body()] = None,
) -> TriggerTaskResponse:
    """Trigger a run of a task (deployed or not); answers its run id."""
    request = body or TriggerTaskRequest()
    payload = decode_packet(request.payload, request.options.payload_type)
    opts = request.options
    run_id = await service.trigger(
        task_id,
        payload,
        RunOptions(
            tags=tuple(opts.tags or ()),
            metadata=opts.metadata,
            max_attempts=opts.max_attempts,
            max_duration_s=opts.max_duration,
            is_test=bool(opts.test),
        ),
    )
    response.headers["x-trigger-jwt"] = public_token_for_run(
        secret_key, settings.environment, run_id
    )
    return TriggerTaskResponse(id=run_id, is_cached=False)
