"""``/api/v1/errors``: error groups at Trigger.dev's paths and shapes (list, retrieve,
resolve, ignore, unresolve), from the environment's error-groups workflow
(``service.error_groups``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request
from starlette.datastructures import QueryParams

from durableruns.api.deps import get_environment
from durableruns.api.errors import ApiHTTPError
from durableruns.durations import DurationError, parse_duration
from durableruns.error_fingerprint import is_error_group_id
from durableruns.error_group_models import ErrorGroup, ErrorGroupStatus, IgnoreRule
from durableruns.service.error_groups import CountedGroup, ErrorGroupService, GroupFilter
from durableruns.wire_errors import (
    ErrorListItem,
    ErrorObject,
    ErrorPagination,
    IgnoreErrorRequest,
    ListErrorsResult,
    ResolveErrorRequest,
)

router = APIRouter(prefix="/api/v1/errors", tags=["errors"])
ErrorId = Annotated[str, Path(description="The error group's id, ``error_…``")]
RESPONSE = {"response_model": ErrorObject, "response_model_exclude_none": True}
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
SPARKLINE_HOURS = 24
_KNOWN_KEYS = frozenset(
    {
        "filter[status]",
        "filter[taskIdentifier]",
        "filter[version]",
        "filter[search]",
        "filter[period]",
        "filter[from]",
        "filter[to]",
        "page[size]",
        "page[after]",
        "page[before]",
    }
)


async def get_error_groups(request: Request) -> ErrorGroupService:
    """The caller's environment's error groups, made on first use."""
    environment = get_environment(request)
    service: ErrorGroupService | None = environment.cache.get("error_groups")
    if service is None:
        runs = environment.runs
        service = environment.cache["error_groups"] = ErrorGroupService(
            runs.client, task_queue_prefix=runs.task_queue_prefix
        )
    return service


ErrorGroupsDep = Annotated[ErrorGroupService, Depends(get_error_groups)]


@router.get("", response_model=ListErrorsResult, response_model_exclude_none=True)
async def list_errors(request: Request, groups: ErrorGroupsDep) -> ListErrorsResult:
    """List error groups, most occurrences in the range first."""
    now = datetime.now(UTC)
    params = request.query_params
    group_filter = parse_group_filter(params, now=now)
    size = _page_size(params.get("page[size]"))
    rows = await groups.list(group_filter, now=now)
    ids = [row.group.id for row in rows]
    start = 0
    if after := params.get("page[after]"):
        start = _index(ids, after, "page[after]") + 1
    elif before := params.get("page[before]"):
        start = max(0, _index(ids, before, "page[before]") - size)
    page = rows[start : start + size]
    pagination = ErrorPagination(
        next=page[-1].group.id if page and start + size < len(rows) else None,
        previous=page[0].group.id if page and start > 0 else None,
    )
    return ListErrorsResult(data=[list_item(row, now) for row in page], pagination=pagination)


@router.get("/{error_id}", **RESPONSE)  # type: ignore[arg-type]
async def retrieve_error(error_id: ErrorId, groups: ErrorGroupsDep) -> ErrorObject:
    """One error group, with the versions it affected."""
    return error_object(_found(error_id, await groups.get(_checked(error_id))))


@router.post("/{error_id}/resolve", **RESPONSE)  # type: ignore[arg-type]
async def resolve_error(
    error_id: ErrorId,
    groups: ErrorGroupsDep,
    body: Annotated[ResolveErrorRequest | None, Body()] = None,
) -> ErrorObject:
    """Mark resolved (optionally in a version): the next occurrence regresses it."""
    version = body.resolved_in_version if body else None
    return error_object(_found(error_id, await groups.resolve(_checked(error_id), version)))


@router.post("/{error_id}/ignore", **RESPONSE)  # type: ignore[arg-type]
async def ignore_error(
    error_id: ErrorId,
    groups: ErrorGroupsDep,
    body: Annotated[IgnoreErrorRequest | None, Body()] = None,
) -> ErrorObject:
    """Ignore for a while (``duration`` ms), until N more or a rate, or for good."""
    body = body or IgnoreErrorRequest()
    until = datetime.now(UTC) + timedelta(milliseconds=body.duration) if body.duration else None
    rule = IgnoreRule(
        until=until,
        occurrence_rate=body.occurrence_rate,
        total_occurrences=body.total_occurrences,
        reason=body.reason,
    )
    return error_object(_found(error_id, await groups.ignore(_checked(error_id), rule)))


@router.post("/{error_id}/unresolve", **RESPONSE)  # type: ignore[arg-type]
async def unresolve_error(error_id: ErrorId, groups: ErrorGroupsDep) -> ErrorObject:
    """Back to unresolved, from resolved or ignored."""
    return error_object(_found(error_id, await groups.unresolve(_checked(error_id))))


# --- shapes ----------------------------------------------------------------------------
def sparkline(group: ErrorGroup, now: datetime) -> list[int]:
    """Occurrences per hour over the last :data:`SPARKLINE_HOURS`, oldest first."""
    hour = int(now.timestamp()) // 3600
    return [group.hourly.get(h, 0) for h in range(hour - SPARKLINE_HOURS + 1, hour + 1)]


def list_item(row: CountedGroup, now: datetime) -> ErrorListItem:
    """The list's shape of a counted group."""
    group = row.group
    return ErrorListItem(
        id=group.id,
        fingerprint=group.fingerprint,
        task_identifier=group.task_id,
        error_type=group.error_type,
        error_message=group.message,
        status=row.status.value,
        count=row.count,
        first_seen=group.first_seen,
        last_seen=group.last_seen,
        resolved_at=group.resolved_at,
        ignored_until=group.ignore.until if group.ignore else None,
        sample_run_id=group.sample_run_id,
        sparkline=sparkline(group, now),
    )


def error_object(group: ErrorGroup) -> ErrorObject:
    """The retrieve shape of a group."""
    now = datetime.now(UTC)
    rule = group.ignore
    return ErrorObject(
        id=group.id,
        fingerprint=group.fingerprint,
        task_identifier=group.task_id,
        error_type=group.error_type,
        error_message=group.message,
        status=group.effective_status(now).value,
        count=group.count,
        first_seen=group.first_seen,
        last_seen=group.last_seen,
        affected_versions=group.versions,
        resolved_at=group.resolved_at,
        resolved_in_version=group.resolved_in_version,
        ignored_at=group.ignored_at,
        ignored_until=rule.until if rule else None,
        ignored_reason=rule.reason if rule else None,
        ignored_until_occurrence_rate=rule.occurrence_rate if rule else None,
        ignored_until_total_occurrences=rule.total_occurrences if rule else None,
        frame=group.frame or None,
        sample_message=group.sample_message or None,
        sample_run_id=group.sample_run_id,
        last_run_id=group.last_run_id,
        regressed_at=group.regressed_at,
        regressions=group.regressions,
        sparkline=sparkline(group, now),
    )


# --- query parameters ------------------------------------------------------------------
def parse_group_filter(params: QueryParams, *, now: datetime) -> GroupFilter:
    """The filter in ``params``; ApiHTTPError(400) names the parameter at fault."""
    for key in params:
        if key.startswith(("filter[", "page[")) and key not in _KNOWN_KEYS:
            raise ApiHTTPError(400, f"{key}: unknown parameter")
    start, end = _time(params, "filter[from]"), _time(params, "filter[to]")
    if period := params.get("filter[period]"):
        try:
            start = now - timedelta(seconds=parse_duration(period))
        except DurationError as exc:
            raise ApiHTTPError(400, f"filter[period]: {exc}") from exc
    return GroupFilter(
        statuses=tuple(_status(s) for s in _list(params, "filter[status]")),
        task_ids=_list(params, "filter[taskIdentifier]"),
        versions=_list(params, "filter[version]"),
        search=params.get("filter[search]") or None,
        start=start,
        end=end,
    )


def _list(params: QueryParams, key: str) -> tuple[str, ...]:
    values = [v.strip() for raw in params.getlist(key) for v in raw.split(",")]
    return tuple(v for v in values if v)


def _status(value: str) -> ErrorGroupStatus:
    try:
        return ErrorGroupStatus(value.lower())
    except ValueError:
        allowed = ", ".join(s.value for s in ErrorGroupStatus)
        raise ApiHTTPError(400, f"filter[status]: {value!r} is not one of {allowed}") from None


def _time(params: QueryParams, key: str) -> datetime | None:
    raw = params.get(key)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiHTTPError(400, f"{key}: expected an ISO 8601 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _page_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ApiHTTPError(400, f"page[size]: expected an integer from 1 to {MAX_PAGE_SIZE}")
    return int(raw)


def _index(ids: list[str], error_id: str, key: str) -> int:
    try:
        return ids.index(error_id)
    except ValueError:
        raise ApiHTTPError(400, f"{key}: {error_id!r} is not an error on this list") from None


def _checked(error_id: str) -> str:
    if not is_error_group_id(error_id):
        raise ApiHTTPError(404, f"No error group {error_id}")
    return error_id


def _found(error_id: str, group: ErrorGroup | None) -> ErrorGroup:
    if group is None:
        raise ApiHTTPError(404, f"No error group {error_id}")
    return group
