"""``/api/v1/waitpoints/tokens``: wait tokens, at Trigger.dev's paths and shapes.

Create (``x-trigger-jwt``: a public access token that may complete this token),
list (cursor pages, filters), retrieve, complete; and the callback URL, which needs
no key: the URL itself carries the token's capability, and completes that token once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response

from durableruns.api.deps import SecretKeyDep, SettingsDep, TokenServiceDep
from durableruns.api.environments import Environment
from durableruns.api.errors import ApiHTTPError
from durableruns.api.scopes import PUBLIC_COMPLETE_TOKEN
from durableruns.api.tokens import public_token_for_waitpoint
from durableruns.durations import DurationError, parse_duration
from durableruns.service.tokens import DEFAULT_PAGE_SIZE
from durableruns.wait_tokens import (
    CompleteAnswer,
    CreateTokenRequest,
    TokenFilter,
    TokenItem,
    TokenNotFoundError,
    TokenStatus,
)

router = APIRouter(tags=["waitpoints"])
callback_router = APIRouter(tags=["waitpoints"])
"""The callback route: no key (mounted without the secret-key check)."""

TokenId = Annotated[str, Path(description="The token's id, ``waitpoint_…``")]
MAX_CALLBACK_BODY = 1024 * 1024


@router.post("/api/v1/waitpoints/tokens")
async def create_token(
    body: CreateTokenRequest,
    tokens: TokenServiceDep,
    settings: SettingsDep,
    secret_key: SecretKeyDep,
    response: Response,
) -> dict[str, Any]:
    """Create a wait token (or find the one its idempotency key names: ``isCached``)."""
    record, cached = await tokens.create(
        timeout=body.timeout,
        idempotency_key=body.idempotency_key,
        idempotency_key_ttl=body.idempotency_key_ttl,
        tags=tuple(body.tags or ()),
    )
    response.headers["x-trigger-jwt"] = public_token_for_waitpoint(
        secret_key, settings.environment, record.id
    )
    return {"id": record.id, "isCached": cached, "url": tokens.url(record)}


@router.get("/api/v1/waitpoints/tokens")
async def list_tokens(
    tokens: TokenServiceDep,
    status: Annotated[str | None, Query(alias="filter[status]")] = None,
    tags: Annotated[str | None, Query(alias="filter[tags]")] = None,
    idempotency_key: Annotated[str | None, Query(alias="filter[idempotencyKey]")] = None,
    period: Annotated[str | None, Query(alias="filter[createdAt][period]")] = None,
    created_from: Annotated[str | None, Query(alias="filter[createdAt][from]")] = None,
    created_to: Annotated[str | None, Query(alias="filter[createdAt][to]")] = None,
    size: Annotated[int, Query(alias="page[size]", ge=1, le=100)] = DEFAULT_PAGE_SIZE,
    after: Annotated[str | None, Query(alias="page[after]")] = None,
    before: Annotated[str | None, Query(alias="page[before]")] = None,
) -> dict[str, Any]:
    """Tokens, newest first, one cursor page (``pagination.next`` / ``previous``)."""
    token_filter = TokenFilter(
        statuses=tuple(_statuses(status)),
        tags=tuple(t for t in (tags or "").split(",") if t),
        idempotency_key=idempotency_key,
        created_from=_period_start(period) if period else _when(created_from, "from"),
        created_to=_when(created_to, "to"),
    )
    page = await tokens.list(token_filter, limit=size, after=after, before=before)
    pagination = {k: v for k, v in (("next", page.next), ("previous", page.previous)) if v}
    data = [
        TokenItem.of(r, tokens.url(r), with_output=False).to_wire_body(with_output=False)
        for r in page.items
    ]
    return {"data": data, "pagination": pagination}


@router.get("/api/v1/waitpoints/tokens/{token_id}")
async def retrieve_token(token_id: TokenId, tokens: TokenServiceDep) -> dict[str, Any]:
    """A token: status, output (a JSON string) or its timeout error, times, tags."""
    record = await tokens.require(token_id)
    return TokenItem.of(record, tokens.url(record)).to_wire_body()


@router.post("/api/v1/waitpoints/tokens/{token_id}/complete", openapi_extra=PUBLIC_COMPLETE_TOKEN)
async def complete_token(
    token_id: TokenId,
    tokens: TokenServiceDep,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> dict[str, Any]:
    """Complete a token with ``data``: once; a second completion is a no-op that says
    so (``alreadyCompleted``, with the first completion's ``output``).

    A body with other keys is refused (400): ``{"approved": true}`` sent without the
    ``data`` wrapper would otherwise complete the token with null (Trigger.dev's server
    drops the unknown keys silently; the official client always sends ``{"data": …}``)."""
    unknown = sorted(set(body or {}) - {"data"})
    if unknown:
        raise ApiHTTPError(
            400,
            f"body.{unknown[0]}: unknown field; send the completion as"
            f' {{"data": {{"{unknown[0]}": …}}}}',
        )
    answer = await tokens.complete(token_id, (body or {}).get("data"))
    return _completed(answer)


@callback_router.post("/api/v1/waitpoints/tokens/{token_id}/callback/{secret}")
async def complete_by_callback(token_id: TokenId, secret: str, request: Request) -> dict[str, Any]:
    """Complete the token with the request's JSON body (any JSON, or none). No key:
    the URL is the capability; a wrong one is refused with 404 (telling nothing)."""
    raw = await request.body()
    if len(raw) > MAX_CALLBACK_BODY:
        raise ApiHTTPError(413, "body: larger than 1 MiB")
    try:
        output = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise ApiHTTPError(400, f"body: not valid JSON ({exc})") from exc
    environments: list[Environment] = request.app.state.environments
    for environment in environments:
        if await environment.tokens.retrieve(token_id) is not None:
            return _completed(
                await environment.tokens.complete_by_callback(token_id, secret, output)
            )
    raise TokenNotFoundError("No waitpoint token at this callback URL")


def _completed(answer: CompleteAnswer) -> dict[str, Any]:
    return {
        "success": True,
        "alreadyCompleted": not answer.completed_now,
        "output": answer.token.output,
    }


def _statuses(value: str | None) -> list[TokenStatus]:
    statuses = []
    for name in (value or "").split(","):
        if not name:
            continue
        try:
            statuses.append(TokenStatus(name.strip().upper()))
        except ValueError as exc:
            choices = ", ".join(s.value for s in TokenStatus)
            raise ApiHTTPError(400, f"filter[status]: {name!r} is not one of {choices}") from exc
    return statuses


def _period_start(period: str) -> datetime:
    try:
        return datetime.now(UTC) - timedelta(seconds=parse_duration(period))
    except DurationError as exc:
        raise ApiHTTPError(400, f"filter[createdAt][period]: {exc}") from exc


def _when(value: str | None, name: str) -> datetime | None:
    """Epoch milliseconds (what the official client sends) or an ISO datetime."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiHTTPError(400, f"filter[createdAt][{name}]: not a date") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)
