"""``/api/v3/batches`` and ``/api/v2/batches``: the two-phase batch trigger the official
client uses (create, then stream NDJSON items), and reading a batch back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import ValidationError

from durableruns.api.deps import BatchServiceDep, EnvironmentDep, SecretKeyDep, SettingsDep
from durableruns.api.environments import Environment
from durableruns.api.errors import ApiHTTPError, describe_validation_error
from durableruns.api.routes.packets import resolve_packet
from durableruns.api.scopes import PUBLIC_READ, require_batch
from durableruns.api.tokens import public_token_for_batch
from durableruns.batch_models import BatchRecord
from durableruns.errors import InvalidInputError
from durableruns.options import run_options
from durableruns.packets import decode_packet
from durableruns.service.batches import MAX_BATCH_ITEMS, BatchItemRun
from durableruns.wire_batches import (
    Batch,
    BatchItemLine,
    BatchProcessing,
    CreateBatchRequest,
    CreateBatchResponse,
    StreamBatchItemsResponse,
)

router = APIRouter(tags=["batches"])

BatchId = Annotated[str, Path(description="The batch's id, ``batch_…``")]
NOT_FOUND = {"x-should-retry": "false"}


@router.post(
    "/api/v3/batches",
    status_code=202,
    response_model=CreateBatchResponse,
    response_model_exclude_none=True,
)
async def create_batch(
    body: CreateBatchRequest,
    batches: BatchServiceDep,
    settings: SettingsDep,
    secret_key: SecretKeyDep,
    response: Response,
) -> CreateBatchResponse:
    """Phase 1: create a batch of ``runCount`` runs (at most 1,000)."""
    batch, is_cached = await batches.create(
        body.run_count, body.task_identifiers, body.idempotency_key
    )
    response.headers["x-trigger-jwt"] = public_token_for_batch(
        secret_key, settings.environment, batch.id
    )
    return CreateBatchResponse(
        id=batch.id,
        run_count=batch.run_count,
        is_cached=is_cached,
        idempotency_key=body.idempotency_key,
    )


ITEMS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-ndjson": {
                "schema": {
                    "type": "string",
                    "description": "One JSON object {index, task, payload, options} per line",
                }
            }
        },
    }
}
"""The items body for the OpenAPI document (the route reads the raw stream)."""


@router.post(
    "/api/v3/batches/{batch_id}/items",
    response_model=StreamBatchItemsResponse,
    response_model_exclude_none=True,
    openapi_extra=ITEMS_BODY,
)
async def stream_batch_items(
    batch_id: BatchId,
    request: Request,
    batches: BatchServiceDep,
    settings: SettingsDep,
    environment: EnvironmentDep,
) -> StreamBatchItemsResponse:
    """Phase 2: the items as NDJSON (one ``{index, task, payload, options}`` per line).

    Every line is validated before any run is created; items already seen are skipped.
    """
    batch = await _require(batches, batch_id)
    raw = b""
    async for chunk in request.stream():
        raw += chunk
    items = await _parse_items(raw, batch, request, environment)
    result = await batches.add_items(batch, items, default_ttl_s=settings.default_ttl_s)
    return StreamBatchItemsResponse(
        id=batch.id,
        items_accepted=result.accepted,
        items_deduplicated=result.deduplicated,
        sealed=result.sealed,
        enqueued_count=result.accepted,
        expected_count=batch.run_count,
    )


@router.get(
    "/api/v2/batches/{batch_id}",
    openapi_extra=PUBLIC_READ,
    response_model=Batch,
    response_model_exclude_none=True,
)
async def retrieve_batch(batch_id: BatchId, request: Request, batches: BatchServiceDep) -> Batch:
    """A batch and its run ids, in item order."""
    require_batch(request, batch_id)
    batch = await _require(batches, batch_id)
    return Batch(
        id=batch.id,
        status="COMPLETED" if batch.sealed else ("PROCESSING" if batch.run_ids else "PENDING"),
        idempotency_key=batch.idempotency_key,
        created_at=batch.created_at,
        updated_at=batch.updated_at,
        run_count=batch.run_count,
        runs=[batch.run_ids[i] for i in sorted(batch.run_ids)],
        processing=BatchProcessing(completed_at=batch.sealed_at),
    )


async def _require(batches: BatchServiceDep, batch_id: str) -> BatchRecord:
    batch = await batches.retrieve(batch_id)
    if batch is None:
        raise ApiHTTPError(404, "Batch not found", NOT_FOUND)
    return batch


async def _parse_items(
    raw: bytes, batch: BatchRecord, request: Request, environment: Environment
) -> list[BatchItemRun]:
    """Every NDJSON line as a run to create; a 400 naming the first bad line otherwise."""
    lines = [line for line in raw.decode("utf-8", errors="replace").splitlines() if line.strip()]
    if len(lines) > MAX_BATCH_ITEMS:
        raise ApiHTTPError(
            400, f"items: at most {MAX_BATCH_ITEMS} items per batch, got {len(lines)}"
        )
    now = datetime.now(UTC)
    items: list[BatchItemRun] = []
    for number, line in enumerate(lines, start=1):
        where = f"items line {number}"
        try:
            item = BatchItemLine.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ApiHTTPError(400, f"{where}: not valid JSON ({exc.msg})") from exc
        except ValidationError as exc:
            detail = describe_validation_error(dict(exc.errors()[0]))
            raise ApiHTTPError(400, f"{where}: {detail}") from exc
        except (RecursionError, ValueError):  # too deep to parse; a 4,300-digit integer
            raise ApiHTTPError(
                400, f"{where}: not valid JSON (nested too deeply, or a number too long)"
            ) from None
        if item.index >= batch.run_count:
            raise ApiHTTPError(
                400, f"{where}: index {item.index} is outside the batch's {batch.run_count} items"
            )
        try:
            data, packet_type = await resolve_packet(
                request, environment, item.payload, item.options.payload_type
            )
            payload = decode_packet(data, packet_type)
            options = run_options(item.options, now=now)
        except InvalidInputError as exc:
            raise ApiHTTPError(exc.http_status or 400, f"{where}: {exc}") from exc
        items.append(BatchItemRun(item.index, item.task, payload, options))
    return items
