"""``/api/v1/concurrency-limits``: Trigger.dev's ``concurrencyLimits.*`` — list, retrieve
(also for one key), override (the bounds, or one key's for a TTL), reset, pause/resume.
Inline limits are addressed as ``task/<task id>``."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from durableruns.api.deps import get_environment
from durableruns.api.errors import ApiHTTPError
from durableruns.durations import DurationError, parse_duration
from durableruns.errors import LimitChangeError, UnknownLimitError
from durableruns.service.limits import LimitService, LimitView, key_view
from durableruns.wire_limits import (
    ConcurrencyLimitItem,
    ConcurrencyLimitKeyItem,
    ConcurrencyLimitPage,
    KeyBound,
    LimitBound,
    OverrideLimitBody,
    Page,
    PauseLimitBody,
    ResetLimitBody,
)

router = APIRouter(prefix="/api/v1/concurrency-limits", tags=["concurrency limits"])

LimitName = Annotated[str, Path(description="A named limit, or ``task/<task id>``")]


def _service(request: Request) -> LimitService:
    return get_environment(request).limits


def _json(
    body: ConcurrencyLimitItem | ConcurrencyLimitKeyItem | ConcurrencyLimitPage,
) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json", by_alias=True))


def limit_item(view: LimitView) -> ConcurrencyLimitItem:
    """A limit in Trigger.dev's shape."""
    state, declared = view.state, view.declared

    def bound(base: int | None, override: int | None) -> LimitBound:
        return LimitBound(
            current=override if override is not None else base,
            base=base,
            override=override,
            overridden_at=state.overridden_at if override is not None else None,
        )

    return ConcurrencyLimitItem(
        id="climit_" + hashlib.sha256(view.name.encode()).hexdigest()[:24],
        name=view.name,
        per_key=bound(declared.per_key, state.per_key_override),
        total=bound(declared.total, state.total_override),
        running=view.running,
        queued=view.queued,
        paused=state.paused,
    )


def _key_item(view: LimitView, key: str) -> ConcurrencyLimitKeyItem:
    one = key_view(view, key, datetime.now(UTC))
    return ConcurrencyLimitKeyItem(
        name=one.name,
        concurrency_key=key,
        per_key=KeyBound(
            current=one.current, base=one.base, override=one.override, expires_at=one.expires_at
        ),
        running=one.running,
        paused=one.paused,
    )


def _not_found(exc: UnknownLimitError) -> ApiHTTPError:
    return ApiHTTPError(404, exc.reason, {"x-should-retry": "false"})


@router.get("")
async def list_limits(
    request: Request,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=100)] = 25,
) -> JSONResponse:
    """Every named and inline limit of the deployed tasks, with live counts."""
    views = await _service(request).list()
    chosen = views[(page - 1) * per_page : page * per_page]
    return _json(
        ConcurrencyLimitPage(
            data=[limit_item(v) for v in chosen],
            pagination=Page(
                current_page=page,
                total_pages=max(1, math.ceil(len(views) / per_page)),
                count=len(views),
            ),
        )
    )


@router.post("/{name:path}/override")
async def override_limit(
    name: LimitName, body: OverrideLimitBody, request: Request
) -> JSONResponse:
    """Override the limit's bounds, or (with ``concurrencyKey``) one key's ``perKey``."""
    service = _service(request)
    try:
        if body.concurrency_key is not None and body.per_key is not None:
            view = await service.override_key(
                name, body.concurrency_key, body.per_key, _ttl_s(body.ttl)
            )
            return _json(_key_item(view, body.concurrency_key))
        view = await service.override(name, per_key=body.per_key, total=body.total)
    except UnknownLimitError as exc:
        raise _not_found(exc) from exc
    return _json(limit_item(view))


@router.post("/{name:path}/reset")
async def reset_limit(
    name: LimitName, request: Request, body: ResetLimitBody | None = None
) -> JSONResponse:
    """Back to the declared bounds, or clear one key's override."""
    service = _service(request)
    try:
        if body is not None and body.concurrency_key is not None:
            view = await service.reset_key(name, body.concurrency_key)
            return _json(_key_item(view, body.concurrency_key))
        view = await service.reset(name)
    except UnknownLimitError as exc:
        raise _not_found(exc) from exc
    return _json(limit_item(view))


@router.post("/{name:path}/pause")
async def pause_limit(name: LimitName, body: PauseLimitBody, request: Request) -> JSONResponse:
    """Pause (nothing holding the limit starts; running runs finish) or resume."""
    try:
        view = await _service(request).pause(name, body.action == "pause")
    except UnknownLimitError as exc:
        raise _not_found(exc) from exc
    return _json(limit_item(view))


@router.get("/{name:path}")
async def retrieve_limit(
    name: LimitName,
    request: Request,
    concurrency_key: Annotated[str | None, Query(alias="concurrencyKey", min_length=1)] = None,
) -> JSONResponse:
    """A limit's bounds and live counts, or its view for one concurrency key."""
    try:
        view = await _service(request).get(name)
    except UnknownLimitError as exc:
        raise _not_found(exc) from exc
    if concurrency_key is not None:
        return _json(_key_item(view, concurrency_key))
    return _json(limit_item(view))


def _ttl_s(ttl: str | int | None) -> float | None:
    if ttl is None:
        return None
    try:
        return parse_duration(ttl)
    except DurationError as exc:
        raise LimitChangeError("ttl", str(exc)) from None
