"""Wait tokens from anywhere: create, complete, retrieve and list them.

Inside task code these go through the run's runtime (the engine, no HTTP); from a
backend, over HTTP to the facade's ``/api/v1/waitpoints/tokens`` routes (the ones the
official client uses). ``durableruns.wait`` re-exports them next to ``for_token``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from durableruns.context import TaskRuntime, current_context
from durableruns.durations import parse_duration
from durableruns.errors import InvalidInputError
from durableruns.in_task import plain_payload
from durableruns.sdk.client import request
from durableruns.wait_tokens import (
    DEFAULT_TOKEN_TIMEOUT,
    CreateTokenRequest,
    TokenCompleted,
    TokenFilter,
    TokenItem,
    TokenItemPage,
    TokenStatus,
    WaitToken,
)

TokenRef = WaitToken | TokenItem | str
"""A token, or its id."""


def token_id_of(token: TokenRef) -> str:
    """The id of a token or of its id."""
    return token if isinstance(token, str) else token.id


def _runtime() -> TaskRuntime | None:
    ctx = current_context()
    return ctx.runtime if ctx is not None else None


def _timeout_text(timeout: str | float | timedelta | datetime) -> str | datetime:
    if isinstance(timeout, timedelta):
        return f"{timeout.total_seconds()}s"
    if isinstance(timeout, int | float):
        return f"{timeout}s"
    return timeout


async def create_token(
    *,
    timeout: str | float | timedelta | datetime = DEFAULT_TOKEN_TIMEOUT,
    idempotency_key: str | None = None,
    idempotency_key_ttl: str | float | None = None,
    tags: Sequence[str] | str | None = None,
) -> WaitToken:
    """A new wait token (or, for a known ``idempotency_key``, the one it names).

    ``timeout``: a duration (``"1h"``, seconds, a timedelta) or a datetime; the token
    is TIMED_OUT after it. Tags (up to 10) filter ``list_tokens``.
    """
    try:
        request_body = CreateTokenRequest(
            timeout=_timeout_text(timeout),
            idempotency_key=idempotency_key,
            idempotency_key_ttl=None if idempotency_key_ttl is None else str(idempotency_key_ttl),
            tags=[tags] if isinstance(tags, str) else list(tags) if tags is not None else None,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = ".".join(str(p) for p in first["loc"]) or "options"
        raise InvalidInputError(field_name, first["msg"]) from exc
    runtime = _runtime()
    if runtime is not None:
        return await runtime.create_token(
            request_body.timeout,
            request_body.idempotency_key,
            request_body.idempotency_key_ttl,
            tuple(request_body.tags or ()),
        )
    response = await request(
        "POST",
        "/api/v1/waitpoints/tokens",
        json=request_body.model_dump(mode="json", by_alias=True, exclude_none=True),
    )
    data = response.json()
    return WaitToken(
        id=data["id"],
        url=data["url"],
        is_cached=bool(data.get("isCached", False)),
        public_access_token=response.headers.get("x-trigger-jwt", ""),
    )


async def complete_token(token: TokenRef, output: Any = None) -> TokenCompleted:
    """Complete a token with ``output`` (JSON). The first completion wins; a later one
    is a no-op whose answer says so (``completed_now`` False, the first output). A
    timed-out token refuses: TokenTimedOutError in task code, BadRequestError over HTTP."""
    token_id = token_id_of(token)
    runtime = _runtime()
    if runtime is not None:
        return await runtime.complete_token(token_id, plain_payload(output))
    response = await request(
        "POST",
        f"/api/v1/waitpoints/tokens/{token_id}/complete",
        json={"data": plain_payload(output)},
    )
    data = response.json()
    return TokenCompleted(
        id=token_id,
        completed_now=not data.get("alreadyCompleted", False),
        output=data.get("output"),
    )


async def retrieve_token(token: TokenRef) -> TokenItem:
    """The token now: status, output or error, timeout, tags, idempotency key."""
    token_id = token_id_of(token)
    runtime = _runtime()
    if runtime is not None:
        return await runtime.retrieve_token(token_id)
    response = await request("GET", f"/api/v1/waitpoints/tokens/{token_id}")
    return TokenItem.from_wire_body(response.json())


def token_filter(
    *,
    status: TokenStatus | str | Sequence[TokenStatus | str] | None = None,
    tags: Sequence[str] | str | None = None,
    idempotency_key: str | None = None,
    period: str | None = None,
    from_: datetime | int | None = None,
    to: datetime | int | None = None,
) -> TokenFilter:
    """The filter of ``list_tokens`` (``from_``/``to``: datetimes or epoch ms)."""
    statuses = [status] if isinstance(status, str) else list(status or [])
    created_from = _when(from_)
    if period is not None:
        created_from = datetime.now(UTC) - timedelta(seconds=parse_duration(period))
    return TokenFilter(
        statuses=tuple(TokenStatus(s) for s in statuses),
        tags=(tags,) if isinstance(tags, str) else tuple(tags or ()),
        idempotency_key=idempotency_key,
        created_from=created_from,
        created_to=_when(to),
    )


def _when(value: datetime | int | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(value / 1000, UTC)


async def list_tokens_page(
    token_filter: TokenFilter,
    *,
    limit: int = 25,
    after: str | None = None,
    before: str | None = None,
) -> TokenItemPage:
    """One page of tokens, newest first, with its cursors (``next`` → ``after``)."""
    runtime = _runtime()
    if runtime is not None:
        return await runtime.list_tokens(token_filter, limit, after, before)
    params: dict[str, str] = {"page[size]": str(limit)}
    if after:
        params["page[after]"] = after
    if before:
        params["page[before]"] = before
    if token_filter.statuses:
        params["filter[status]"] = ",".join(s.value for s in token_filter.statuses)
    if token_filter.tags:
        params["filter[tags]"] = ",".join(token_filter.tags)
    if token_filter.idempotency_key:
        params["filter[idempotencyKey]"] = token_filter.idempotency_key
    if token_filter.created_from:
        params["filter[createdAt][from]"] = str(_ms(token_filter.created_from))
    if token_filter.created_to:
        params["filter[createdAt][to]"] = str(_ms(token_filter.created_to))
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = await request("GET", f"/api/v1/waitpoints/tokens?{query}")
    body = response.json()
    pagination = body.get("pagination", {})
    return TokenItemPage(
        items=[TokenItem.from_wire_body(item) for item in body["data"]],
        next=pagination.get("next"),
        previous=pagination.get("previous"),
    )


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


async def list_tokens(
    *,
    status: TokenStatus | str | Sequence[TokenStatus | str] | None = None,
    tags: Sequence[str] | str | None = None,
    idempotency_key: str | None = None,
    period: str | None = None,
    from_: datetime | int | None = None,
    to: datetime | int | None = None,
    limit: int = 25,
) -> AsyncIterator[TokenItem]:
    """Every token matching the filters, newest first, page after page (``limit`` is
    the page size). Read from Temporal visibility: may lag a change by about a second."""
    chosen = token_filter(
        status=status, tags=tags, idempotency_key=idempotency_key, period=period, from_=from_, to=to
    )
    after: str | None = None
    while True:
        page = await list_tokens_page(chosen, limit=limit, after=after)
        for item in page.items:
            yield item
        if page.next is None:
            return
        after = page.next
