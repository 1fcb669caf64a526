"""``errors``: error groups (failed runs grouped by fingerprint) and their status.

Example::

    from durableruns.sdk import errors

    page = await errors.list(status=["unresolved"], period="7d")
    for group in page.data:
        print(group.count, group.error_type, group.error_message)
    await errors.resolve(page.data[0].id, resolved_in_version="20261204.2")
    await errors.ignore(other_id, total_occurrences=100, reason="known flake")
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from durableruns.sdk.client import request
from durableruns.wire_errors import (
    ErrorListItem,
    ErrorObject,
    IgnoreErrorRequest,
    ListErrorsResult,
    ResolveErrorRequest,
)

__all__ = [
    "ErrorListItem",
    "ErrorObject",
    "ListErrorsResult",
    "ignore",
    "list",
    "resolve",
    "retrieve",
    "unresolve",
]


async def list(  # shadows the builtin on purpose: as runs.list and schedules.list
    *,
    status: Sequence[str] = (),
    task: Sequence[str] = (),
    version: Sequence[str] = (),
    search: str | None = None,
    period: str | None = None,
    size: int | None = None,
    after: str | None = None,
) -> ListErrorsResult:
    """One page of error groups, most occurrences in the range first."""
    params: dict[str, str] = {}
    for key, values in (
        ("filter[status]", status),
        ("filter[taskIdentifier]", task),
        ("filter[version]", version),
    ):
        if values:
            params[key] = ",".join(values)
    for key, value in (
        ("filter[search]", search),
        ("filter[period]", period),
        ("page[size]", str(size) if size else None),
        ("page[after]", after),
    ):
        if value:
            params[key] = value
    query = f"?{urlencode(params)}" if params else ""
    response = await request("GET", f"/api/v1/errors{query}")
    return ListErrorsResult.model_validate(response.json())


async def retrieve(error_id: str) -> ErrorObject:
    """One error group (``error_…``)."""
    response = await request("GET", f"/api/v1/errors/{error_id}")
    return ErrorObject.model_validate(response.json())


async def resolve(error_id: str, *, resolved_in_version: str | None = None) -> ErrorObject:
    """Mark resolved: its next occurrence regresses it."""
    body = ResolveErrorRequest(resolved_in_version=resolved_in_version)
    response = await request("POST", f"/api/v1/errors/{error_id}/resolve", json=body.to_wire())
    return ErrorObject.model_validate(response.json())


async def ignore(
    error_id: str,
    *,
    duration_ms: int | None = None,
    total_occurrences: int | None = None,
    occurrence_rate: float | None = None,
    reason: str | None = None,
) -> ErrorObject:
    """Ignore for ``duration_ms``, until ``total_occurrences`` more, until more than
    ``occurrence_rate`` a minute, or (none given) for good."""
    body = IgnoreErrorRequest(
        duration=duration_ms,
        total_occurrences=total_occurrences,
        occurrence_rate=occurrence_rate,
        reason=reason,
    )
    response = await request("POST", f"/api/v1/errors/{error_id}/ignore", json=body.to_wire())
    return ErrorObject.model_validate(response.json())


async def unresolve(error_id: str) -> ErrorObject:
    """Back to unresolved."""
    response = await request("POST", f"/api/v1/errors/{error_id}/unresolve", json={})
    return ErrorObject.model_validate(response.json())
