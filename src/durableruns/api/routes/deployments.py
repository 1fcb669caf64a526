"""``/api/v1/deployments`` (the official client's ``deployments.list`` and
``deployments.retrieveCurrent``): the worker versions we track in the catalog, as
Trigger.dev deployments. A version is DEPLOYED once a worker registered it; the current
one is the newest registered version, which new runs go to (``service/deployments.py``
pins each trigger to the newest version serving its task).

There is no build step, so no PENDING/BUILDING states, and no ``promote``: on Temporal's
worker deployments, promoting would mean routing new runs to an older version that still
has workers polling; here the newest version always takes new runs (``lockToVersion``
pins one run to another).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request

from durableruns.api.deps import ServiceDep
from durableruns.api.errors import ApiHTTPError
from durableruns.catalog_models import Catalog
from durableruns.durations import DurationError, parse_duration
from durableruns.errors import InvalidInputError

router = APIRouter(tags=["deployments"])

STATUSES = frozenset(
    {"PENDING", "BUILDING", "DEPLOYING", "DEPLOYED", "FAILED", "CANCELED", "TIMED_OUT"}
)


def deployment_id(version: str) -> str:
    """A stable id for a version: ``deployment_`` and a digest of its name."""
    return "deployment_" + hashlib.sha256(version.encode()).hexdigest()[:24]


def _deployment(catalog: Catalog, version: str) -> dict[str, Any]:
    registered = catalog.registered_at[version].isoformat()
    return {
        "id": deployment_id(version),
        "createdAt": registered,
        "shortCode": deployment_id(version).removeprefix("deployment_")[:8],
        "version": version,
        "runtime": "python",
        "runtimeVersion": None,
        "status": "DEPLOYED",
        "deployedAt": registered,
        "tasks": sorted(task.id for task in catalog.versions[version]),
    }


def _newest_first(catalog: Catalog) -> list[str]:
    return sorted(catalog.versions, key=lambda v: catalog.registered_at[v], reverse=True)


@router.get("/api/v1/deployments/current")
async def retrieve_current_deployment(service: ServiceDep) -> dict[str, Any]:
    """The version new runs go to (the newest registered); 404 before any worker ran."""
    catalog = await service.catalog.get()
    versions = _newest_first(catalog)
    if not versions:
        raise ApiHTTPError(404, "No version has been deployed", {"x-should-retry": "false"})
    return _deployment(catalog, versions[0])


@router.get("/api/v1/deployments")
async def list_deployments(request: Request, service: ServiceDep) -> dict[str, Any]:
    """Deployed versions newest first (``page[size]`` 1-100, default 20; ``page[after]``
    a deployment id; ``status``, ``from``/``to`` ISO dates, ``period``)."""
    params = request.query_params
    size_text = params.get("page[size]", "20")
    if not size_text.isdigit() or not 1 <= int(size_text) <= 100:
        raise InvalidInputError("page[size]", f"expected 1-100, got {size_text!r}")
    status = params.get("status")
    if status is not None and status not in STATUSES:
        raise InvalidInputError("status", f"unknown status {status!r}")
    earliest, latest = _bounds(params.get("from"), params.get("to"), params.get("period"))
    catalog = await service.catalog.get()
    versions = [
        v
        for v in _newest_first(catalog)
        if (status in (None, "DEPLOYED"))
        and (earliest is None or catalog.registered_at[v] >= earliest)
        and (latest is None or catalog.registered_at[v] <= latest)
    ]
    after = params.get("page[after]")
    if after:
        ids = [deployment_id(v) for v in versions]
        if after not in ids:
            raise InvalidInputError("page[after]", f"no deployment {after!r}")
        versions = versions[ids.index(after) + 1 :]
    size = int(size_text)
    page = versions[:size]
    pagination = {"next": deployment_id(page[-1])} if len(versions) > size and page else {}
    return {"data": [_deployment(catalog, v) for v in page], "pagination": pagination}


def _bounds(
    start: str | None, end: str | None, period: str | None
) -> tuple[datetime | None, datetime | None]:
    earliest = _date(start, "from")
    if period:
        try:
            since = datetime.now(UTC) - timedelta(seconds=parse_duration(period))
        except DurationError as exc:
            raise InvalidInputError("period", str(exc)) from exc
        earliest = max(earliest, since) if earliest else since
    return earliest, _date(end, "to")


def _date(text: str | None, field: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInputError(field, f"expected an ISO 8601 date, got {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
