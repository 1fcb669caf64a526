"""``/api/v1/bulk-actions`` (the official client's ``runs.bulk.*``): replay or cancel many
runs at once — by run ids, or by the ``runs.list`` filters — then poll, list and abort.
The work is a durable workflow (``service/bulk_actions.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import ConfigDict, Field

from durableruns.api.deps import EnvironmentDep
from durableruns.api.errors import ApiHTTPError
from durableruns.api.routes.runs_list import LEGACY_STATUSES
from durableruns.bulk_models import BulkActionRecord
from durableruns.durations import DurationError, parse_duration
from durableruns.errors import InvalidInputError, UnsupportedValueError
from durableruns.service.run_list import RunFilter, check_searchable
from durableruns.status import RunStatus
from durableruns.wire import WireModel

router = APIRouter(tags=["bulk actions"])

NOT_FOUND = {"x-should-retry": "false"}
BulkId = Annotated[str, Path(description="The bulk action's id, ``bulk_…``")]
Many = str | list[str] | None


class QueueName(WireModel):
    """A queue as the official client names it."""

    type: Literal["task", "custom"]
    name: str


class BulkActionFilter(WireModel):
    """The ``runs.list`` filters a bulk action selects by (``machine``, ``region`` are
    accepted and ignored: one worker pool)."""

    model_config = ConfigDict(extra="allow")

    status: Many = None
    task_identifier: Many = None
    version: Many = None
    tag: Many = None
    batch: str | None = None
    schedule: str | None = None
    bulk_action: str | None = None
    queue: QueueName | list[QueueName] | None = None
    is_test: bool | None = None
    from_: datetime | float | None = Field(default=None, alias="from")
    to: datetime | float | None = None
    period: str | None = None
    root_only: bool | None = None
    """durableruns extension: only runs with no parent (the dashboard's "root runs only")."""
    error_group: Many = None
    """durableruns extension: failed runs of these error groups (the errors page's runs)."""


class CreateBulkActionRequest(WireModel):
    """``POST /api/v1/bulk-actions``: the action and exactly one of ``filter``, ``runIds``."""

    action: Literal["cancel", "replay"]
    filter: BulkActionFilter | None = None
    run_ids: list[str] | None = Field(default=None, min_length=1)
    name: str | None = Field(default=None, max_length=255)
    target_region: str | None = None


def bulk_object(record: BulkActionRecord) -> dict[str, Any]:
    """A bulk action as ``BulkActionObject``."""
    body: dict[str, Any] = {
        "id": record.id,
        "type": record.type,
        "status": record.status,
        "counts": {"total": record.total, "success": record.success, "failure": record.failure},
        "createdAt": record.created_at.isoformat(),
    }
    if record.name:
        body["name"] = record.name
    if record.completed_at is not None:
        body["completedAt"] = record.completed_at.isoformat()
    return body


@router.post("/api/v1/bulk-actions")
async def create_bulk_action(
    body: CreateBulkActionRequest, environment: EnvironmentDep
) -> dict[str, str]:
    """Start replaying or canceling the runs selected; answers the action's id."""
    if (body.filter is None) == (body.run_ids is None):
        raise InvalidInputError("filter", "exactly one of filter or runIds must be given")
    run_filter = None if body.filter is None else _run_filter(body.filter)
    for number, run_id in enumerate(body.run_ids or ()):
        _searchable(run_id, f"runIds[{number}]")
    action_id = await environment.bulk_actions.create(
        "REPLAY" if body.action == "replay" else "CANCEL",
        run_ids=body.run_ids,
        run_filter=run_filter,
        name=body.name,
    )
    return {"id": action_id}


@router.get("/api/v1/bulk-actions")
async def list_bulk_actions(request: Request, environment: EnvironmentDep) -> dict[str, Any]:
    """Bulk actions newest first (``page[size]`` 1-100, default 20; ``page[after]``)."""
    params = request.query_params
    size_text = params.get("page[size]", "20")
    if not size_text.isdigit() or not 1 <= int(size_text) <= 100:
        raise InvalidInputError("page[size]", f"expected 1-100, got {size_text!r}")
    after = params.get("page[after]") or None
    page = await environment.bulk_actions.list(limit=int(size_text), after=after)
    pagination = {"next": page.next_after} if page.next_after else {}
    return {"data": [bulk_object(r) for r in page.actions], "pagination": pagination}


@router.get("/api/v1/bulk-actions/{bulk_id}")
async def retrieve_bulk_action(bulk_id: BulkId, environment: EnvironmentDep) -> dict[str, Any]:
    """A bulk action: status (PENDING, COMPLETED, ABORTED) and counts."""
    record = await environment.bulk_actions.retrieve(bulk_id)
    if record is None:
        raise ApiHTTPError(404, f"Bulk action {bulk_id} not found", NOT_FOUND)
    return bulk_object(record)


@router.post("/api/v1/bulk-actions/{bulk_id}/abort")
async def abort_bulk_action(bulk_id: BulkId, environment: EnvironmentDep) -> dict[str, str]:
    """Stop a bulk action after the runs in flight; a finished one is left as it is."""
    if await environment.bulk_actions.abort(bulk_id) is None:
        raise ApiHTTPError(404, f"Bulk action {bulk_id} not found", NOT_FOUND)
    return {"id": bulk_id}


# --- the filter -------------------------------------------------------------------------
def _run_filter(f: BulkActionFilter) -> RunFilter:
    """The body's filter as a run filter; InvalidInputError names the field at fault."""
    given = f.model_dump(by_alias=True, exclude_none=True)
    if not any(_non_empty(v) for k, v in given.items() if k not in ("machine", "region")):
        raise InvalidInputError("filter", "at least one filter must be given")
    now = datetime.now(UTC)
    created_from = _moment(f.from_, "filter.from")
    if f.period:
        try:
            seconds = parse_duration(f.period)
        except DurationError as exc:
            raise InvalidInputError("filter.period", str(exc)) from exc
        since = now - timedelta(seconds=seconds)
        created_from = max(created_from, since) if created_from else since
    return RunFilter(
        statuses=tuple(_status(s) for s in _many(f.status, "filter.status")),
        task_ids=_many(f.task_identifier, "filter.taskIdentifier"),
        versions=_many(f.version, "filter.version"),
        tags=_many(f.tag, "filter.tag"),
        batch_ids=_many(f.batch, "filter.batch"),
        schedule_ids=_many(f.schedule, "filter.schedule"),
        bulk_action_ids=_many(f.bulk_action, "filter.bulkAction"),
        error_groups=_many(f.error_group, "filter.errorGroup"),
        root_only=bool(f.root_only),
        queues=tuple(_queue(q) for q in _queues(f.queue)),
        is_test=f.is_test,
        created_from=created_from,
        created_to=_moment(f.to, "filter.to"),
    )


def _non_empty(value: Any) -> bool:
    """Trigger.dev's rule: a filter value counts unless it is blank (or only blanks)."""
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple):
        return any(_non_empty(v) for v in value)
    return value is not None


def _many(value: Many, field: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else list(value or ())
    return tuple(_searchable(v.strip(), field) for v in values if v.strip())


def _searchable(value: str, field: str) -> str:
    try:
        return check_searchable(value)
    except UnsupportedValueError as exc:
        raise InvalidInputError(field, str(exc)) from exc


def _status(name: str) -> RunStatus:
    upper = name.upper()
    if upper in LEGACY_STATUSES:
        return LEGACY_STATUSES[upper]
    try:
        return RunStatus(upper)
    except ValueError:
        raise InvalidInputError("filter.status", f"unknown status {name!r}") from None


def _queues(value: QueueName | list[QueueName] | None) -> list[QueueName]:
    return [value] if isinstance(value, QueueName) else list(value or ())


def _queue(queue: QueueName) -> str:
    name = _searchable(queue.name, "filter.queue.name")
    return f"task/{name}" if queue.type == "task" else name


def _moment(value: datetime | float | None, field: str) -> datetime | None:
    """A date, or epoch milliseconds."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidInputError(field, f"not a time: {value!r}") from exc
