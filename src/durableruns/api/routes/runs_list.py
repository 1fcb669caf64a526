"""``GET /api/v1/runs``: Trigger.dev's run list, with its bracketed query keys and
keyset cursors, served from Temporal visibility (``engine.run_list``).

Cursors are ``base64url(JSON {t: created-at µs, id: run id}) . base64url(HMAC)``, signed
with the environment's secret key: opaque to clients, and a cursor we did not issue
(edited, or from another environment) is refused with 400 instead of being trusted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import QueryParams

from durableruns import status as st
from durableruns.api.deps import SecretKeyDep, SettingsDep, get_environment
from durableruns.api.errors import ApiHTTPError
from durableruns.durations import DurationError, parse_duration
from durableruns.service.run_list import (
    ListedRunRow,
    Position,
    RunFilter,
    RunLister,
    UnsupportedValueError,
    check_searchable,
)
from durableruns.status import RunStatus
from durableruns.wire import status_flags
from durableruns.wire_runs_list import ListedRun, Pagination, RunEnv, RunListResponse

router = APIRouter(tags=["runs"])
T = TypeVar("T")

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
LEGACY_STATUSES = {
    "WAITING_FOR_DEPLOY": RunStatus.PENDING_VERSION,
    "REATTEMPTING": RunStatus.EXECUTING,
    "FROZEN": RunStatus.WAITING,
    "INTERRUPTED": RunStatus.FAILED,
}
"""Trigger.dev's v1 status names, still accepted by its list filter."""
IGNORED_FILTERS = frozenset({"filter[machine]", "filter[region]"})
"""Accepted for the official client's sake; runs have no machine or region here."""
_KNOWN_KEYS = frozenset(
    {
        "filter[status]",
        "filter[taskIdentifier]",
        "filter[version]",
        "filter[tag]",
        "filter[batch]",
        "filter[schedule]",
        "filter[bulkAction]",
        "filter[queue]",
        "filter[idempotencyKey]",
        "filter[parentRunId]",
        "filter[createdAt][from]",
        "filter[createdAt][to]",
        "filter[createdAt][period]",
        "filter[isTest]",
        "filter[errorGroup]",
        "filter[rootOnly]",
        "page[size]",
        "page[after]",
        "page[before]",
        *IGNORED_FILTERS,
    }
)
"""Every query key the list understands; any other ``filter[…]``/``page[…]`` is a 400."""


async def get_run_lister(request: Request) -> RunLister:
    """The caller's environment's run lister, made on first use from its run service."""
    cache = get_environment(request).cache
    lister: RunLister | None = cache.get("run_lister")
    if lister is None:
        lister = cache["run_lister"] = RunLister.of(get_environment(request).runs)
    return lister


def _query_parameters() -> list[dict[str, object]]:
    """The list's bracketed query keys for the OpenAPI document (the route reads them
    from the raw query string, so FastAPI cannot derive them)."""
    described = {
        "filter[status]": "Statuses, comma-separated (Trigger.dev's, v1 names too)",
        "filter[createdAt][from]": "Created at or after, epoch milliseconds",
        "filter[createdAt][to]": "Created at or before, epoch milliseconds",
        "filter[createdAt][period]": "Created within this duration, e.g. 30m, 1d, 7d",
        "filter[isTest]": "true or false",
        "filter[errorGroup]": "Failed runs of these error groups (``error_…``)",
        "filter[rootOnly]": "true: only runs with no parent (durableruns extension)",
        "page[size]": f"Runs per page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})",
        "page[after]": "The cursor of the next page",
        "page[before]": "The cursor of the previous page",
    }
    schemas: dict[str, dict[str, object]] = {
        "filter[isTest]": {"type": "string", "enum": ["true", "false"]},
        "filter[rootOnly]": {"type": "string", "enum": ["true", "false"]},
        "page[size]": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
    }
    return [
        {
            "name": key,
            "in": "query",
            "required": False,
            "description": described.get(key, "Comma-separated values to match"),
            "schema": schemas.get(key, {"type": "string"}),
        }
        for key in sorted(_KNOWN_KEYS)
    ]


@router.get(
    "/api/v1/runs",
    response_model=RunListResponse,
    response_model_exclude_none=True,
    openapi_extra={"parameters": _query_parameters()},
)
async def list_runs(
    request: Request,
    lister: Annotated[RunLister, Depends(get_run_lister)],
    settings: SettingsDep,
    secret_key: SecretKeyDep,
) -> JSONResponse:
    """List runs, newest first, by status, task, tag, version, batch or creation time."""
    params = request.query_params
    run_filter = parse_filter(params, now=datetime.now(UTC))
    size = _page_size(params.get("page[size]"))
    after = _cursor(params, "page[after]", secret_key)
    before = _cursor(params, "page[before]", secret_key)
    if after is not None and before is not None:
        # The official client's getPreviousPage()/getNextPage() send the cursor the page
        # was fetched with beside the one they take from it: the later-issued one is meant.
        if before.hops >= after.hops:
            after = None
        else:
            before = None
    used = after or before
    hops = used.hops + 1 if used else 0
    page = await lister.page(
        run_filter,
        size,
        after=after.position if after else None,
        before=before.position if before else None,
    )
    env = RunEnv(id=settings.environment, name=settings.environment)
    items = [listed_run(row, env).to_wire() for row in page.rows]
    cursors = [encode_cursor(row.position, secret_key, hops) for row in page.rows]
    pagination = Pagination()
    if cursors:
        # Going backwards the older side always has more: the row at the cursor.
        more_older = page.has_more if before is None else True
        more_newer = page.has_more if before is not None else after is not None
        pagination.next = cursors[-1] if more_older else None
        pagination.previous = cursors[0] if more_newer else None
    # A JSONResponse, so list items keep their own to_wire() (no retrieve-only fields).
    return JSONResponse({"data": items, "pagination": pagination.to_wire()})


def listed_run(row: ListedRunRow, env: RunEnv) -> ListedRun:
    """The list item for a visibility row."""
    status = row.status
    return ListedRun(
        id=row.run_id,
        status=status,
        task_identifier=row.task_id,
        version=row.version,
        idempotency_key=row.idempotency_key,
        **status_flags(status),
        is_test=row.is_test,
        created_at=row.created_at,
        updated_at=row.closed_at or row.created_at,
        finished_at=row.closed_at if st.is_completed(status) else None,
        tags=sorted(row.tags),
        depth=row.depth,
        trigger_function=row.trigger_function,
        batch_id=row.batch_id,
        duration_ms=row.duration_ms,
        parent_run_id=row.parent_run_id,
        env=env,
    )


# --- query parameters ----------------------------------------------------------------
def parse_filter(params: QueryParams, *, now: datetime) -> RunFilter:
    """The filter in ``params``; ApiHTTPError(400) names the parameter at fault."""
    for key in params:
        if key.startswith(("filter[", "page[")) and key not in _KNOWN_KEYS:
            raise ApiHTTPError(400, f"{key}: unknown parameter")
    created_from = _epoch_ms(params, "filter[createdAt][from]")
    period = _value(params, "filter[createdAt][period]")
    if period:
        since = now - timedelta(seconds=_period_seconds(period))
        created_from = max(created_from, since) if created_from else since
    return RunFilter(
        statuses=tuple(_status(s) for s in _list(params, "filter[status]")),
        task_ids=_list(params, "filter[taskIdentifier]"),
        versions=_list(params, "filter[version]"),
        tags=_list(params, "filter[tag]"),
        batch_ids=_list(params, "filter[batch]"),
        queues=_list(params, "filter[queue]"),
        schedule_ids=_list(params, "filter[schedule]"),
        idempotency_key=_value(params, "filter[idempotencyKey]"),
        parent_run_id=_value(params, "filter[parentRunId]"),
        error_groups=_list(params, "filter[errorGroup]"),
        created_from=created_from,
        created_to=_epoch_ms(params, "filter[createdAt][to]"),
        is_test=_boolean(params, "filter[isTest]"),
        root_only=bool(_boolean(params, "filter[rootOnly]")),
        bulk_action_ids=_list(params, "filter[bulkAction]"),
    )


def _value(params: QueryParams, key: str) -> str | None:
    """The parameter's value (repeats joined by commas), checked searchable."""
    values = [v for v in params.getlist(key) if v.strip()]
    if not values:
        return None
    value = ",".join(v.strip() for v in values)
    try:
        return check_searchable(value)
    except UnsupportedValueError as exc:
        raise ApiHTTPError(400, f"{key}: {exc}") from exc


def _list(params: QueryParams, key: str) -> tuple[str, ...]:
    value = _value(params, key)
    return tuple(item.strip() for item in value.split(",") if item.strip()) if value else ()


def _status(name: str) -> RunStatus:
    upper = name.upper()
    if upper in LEGACY_STATUSES:
        return LEGACY_STATUSES[upper]
    try:
        return RunStatus(upper)
    except ValueError:
        raise ApiHTTPError(400, f"filter[status]: unknown status {name!r}") from None


def _epoch_ms(params: QueryParams, key: str) -> datetime | None:
    return _parsed(params, key, "epoch milliseconds", _from_epoch_ms)


def _from_epoch_ms(text: str) -> datetime:
    return datetime.fromtimestamp(int(text) / 1000, UTC)


def _boolean(params: QueryParams, key: str) -> bool | None:
    return _parsed(params, key, "true or false", {"true": True, "false": False}.__getitem__)


def _parsed(params: QueryParams, key: str, expected: str, parse: Callable[[str], T]) -> T | None:
    value = _value(params, key)
    if value is None:
        return None
    try:
        return parse(value.lower())
    except (ValueError, KeyError, OverflowError, OSError):
        raise ApiHTTPError(400, f"{key}: expected {expected}, got {value!r}") from None


def _period_seconds(period: str) -> float:
    try:
        seconds = parse_duration(period)
    except DurationError:
        seconds = 0
    if seconds <= 0 or seconds > 10 * 365 * 86_400:
        raise ApiHTTPError(
            400,
            f"filter[createdAt][period]: expected a duration such as 30m, 1d or 7d, got {period!r}",
        )
    return seconds


def _page_size(value: str | None) -> int:
    if value is None or not value.strip():
        return DEFAULT_PAGE_SIZE
    try:
        size = int(value)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ApiHTTPError(400, f"page[size]: expected a number from 1 to {MAX_PAGE_SIZE}")
    return size


# --- cursors -------------------------------------------------------------------------
@dataclass(frozen=True)
class Cursor:
    """A decoded cursor: the position, and how many pages from a first page it was issued."""

    position: Position
    hops: int = 0


def encode_cursor(position: Position, secret_key: str, hops: int = 0) -> str:
    """An opaque, signed cursor for ``position``, issued ``hops`` pages from a first page."""
    micros = (position.created_at - _EPOCH) // timedelta(microseconds=1)
    fields: dict[str, object] = {"t": micros, "id": position.run_id}
    if hops:
        fields["h"] = hops
    body = json.dumps(fields, separators=(",", ":")).encode()
    return f"{_b64(body)}.{_b64(_signature(body, secret_key))}"


def decode_cursor(cursor: str, secret_key: str) -> Position:
    """The position in a cursor we issued; ValueError for anything else."""
    return _decode(cursor, secret_key).position


def _decode(cursor: str, secret_key: str) -> Cursor:
    try:
        body_part, _, signature_part = cursor.partition(".")
        body = _unb64(body_part)
        if not hmac.compare_digest(_unb64(signature_part), _signature(body, secret_key)):
            raise ValueError("bad signature")
        data = json.loads(body)
        created_at = _EPOCH + timedelta(microseconds=int(data["t"]))
        return Cursor(Position(created_at, str(data["id"])), int(data["h"]) if "h" in data else 0)
    except (binascii.Error, KeyError, TypeError, OverflowError) as exc:
        raise ValueError(str(exc)) from exc


def _cursor(params: QueryParams, key: str, secret_key: str) -> Cursor | None:
    value = params.get(key)
    if not value:
        return None
    try:
        return _decode(value, secret_key)
    except ValueError:
        raise ApiHTTPError(400, f"{key}: not a cursor this server issued") from None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _signature(body: bytes, secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"run-list-cursor\x00" + body, hashlib.sha256).digest()[
        :16
    ]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
