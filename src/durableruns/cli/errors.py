"""``durableruns errors list|show|resolve|ignore|unresolve``: the environment's error
groups, read and changed through ``service.error_groups`` (straight to Temporal, like
``durableruns status``: no facade needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import typer

from durableruns.durations import parse_duration
from durableruns.engine.client import connect
from durableruns.error_fingerprint import is_error_group_id
from durableruns.error_group_models import ErrorGroup, ErrorGroupStatus, IgnoreRule
from durableruns.errors import InvalidInputError
from durableruns.service.error_groups import CountedGroup, ErrorGroupService, GroupFilter
from durableruns.settings import Settings

app = typer.Typer(help="Error groups: failed runs grouped by fingerprint.", no_args_is_help=True)
T = TypeVar("T")
Prefix = Annotated[
    str | None, typer.Option(help="Queue prefix (env DURABLERUNS_TASK_QUEUE_PREFIX)")
]
Address = Annotated[
    str | None, typer.Option(help="host:port of Temporal (env DURABLERUNS_TEMPORAL_ADDRESS)")
]
GroupId = Annotated[str, typer.Argument(help="The group's id, error_…")]


def _call(
    address: str | None, prefix: str | None, use: Callable[[ErrorGroupService], Awaitable[T]]
) -> T:
    given: dict[str, Any] = {"temporal_address": address, "task_queue_prefix": prefix}
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    settings = settings.model_copy(update={"sdk_metrics": False})

    async def go() -> T:
        client = await connect(settings)
        return await use(ErrorGroupService(client, task_queue_prefix=settings.task_queue_prefix))

    return asyncio.run(go())


@app.command("list")
def list_groups(
    status: Annotated[
        list[str] | None, typer.Option(help="unresolved, resolved or ignored; repeatable")
    ] = None,
    task: Annotated[list[str] | None, typer.Option(help="Task id; repeatable")] = None,
    period: Annotated[str | None, typer.Option(help="Count within, e.g. 24h, 7d")] = None,
    temporal_address: Address = None,
    task_queue_prefix: Prefix = None,
) -> None:
    """Groups, most occurrences first: count, status, task, type and message."""
    now = datetime.now(UTC)
    try:
        statuses = tuple(ErrorGroupStatus(s) for s in status or ())
        start = now - timedelta(seconds=parse_duration(period)) if period else None
    except ValueError as exc:
        raise InvalidInputError("--status/--period", str(exc)) from exc
    group_filter = GroupFilter(statuses=statuses, task_ids=tuple(task or ()), start=start)
    rows = _call(temporal_address, task_queue_prefix, lambda s: s.list(group_filter, now=now))
    typer.echo(render_list(rows))


@app.command()
def show(
    group_id: GroupId, temporal_address: Address = None, task_queue_prefix: Prefix = None
) -> None:
    """One group in full."""
    group = _call(temporal_address, task_queue_prefix, lambda s: s.get(_checked(group_id)))
    typer.echo(render_group(_found(group_id, group)))


@app.command()
def resolve(
    group_id: GroupId,
    version: Annotated[str | None, typer.Option(help="The version that fixed it")] = None,
    temporal_address: Address = None,
    task_queue_prefix: Prefix = None,
) -> None:
    """Mark resolved: its next occurrence regresses it."""
    group = _call(
        temporal_address, task_queue_prefix, lambda s: s.resolve(_checked(group_id), version)
    )
    typer.echo(render_group(_found(group_id, group)))


@app.command()
def ignore(
    group_id: GroupId,
    duration: Annotated[str | None, typer.Option(help="For this long, e.g. 1d")] = None,
    occurrences: Annotated[int | None, typer.Option(help="Until this many more", min=1)] = None,
    rate: Annotated[float | None, typer.Option(help="Until more than this a minute")] = None,
    reason: Annotated[str | None, typer.Option(help="Why")] = None,
    temporal_address: Address = None,
    task_queue_prefix: Prefix = None,
) -> None:
    """Ignore for a while, until N more or a rate, or (no bound) for good."""
    try:
        until = (
            datetime.now(UTC) + timedelta(seconds=parse_duration(duration)) if duration else None
        )
        rule = IgnoreRule(
            until=until, total_occurrences=occurrences, occurrence_rate=rate, reason=reason
        )
    except ValueError as exc:
        raise InvalidInputError("--duration/--rate", str(exc)) from exc
    group = _call(temporal_address, task_queue_prefix, lambda s: s.ignore(_checked(group_id), rule))
    typer.echo(render_group(_found(group_id, group)))


@app.command()
def unresolve(
    group_id: GroupId, temporal_address: Address = None, task_queue_prefix: Prefix = None
) -> None:
    """Back to unresolved."""
    group = _call(temporal_address, task_queue_prefix, lambda s: s.unresolve(_checked(group_id)))
    typer.echo(render_group(_found(group_id, group)))


def render_list(rows: list[CountedGroup]) -> str:
    """One line per group."""
    if not rows:
        return "No error groups."
    lines = []
    for row in rows:
        group = row.group
        lines.append(
            f"{group.id}  {row.count:>6}  {row.status.value:<10}  {group.task_id}  "
            f"{group.error_type}: {group.message}"
        )
    return "\n".join(lines)


def render_group(group: ErrorGroup) -> str:
    """A group's fields, one a line."""
    now = datetime.now(UTC)
    fields: list[tuple[str, Any]] = [
        ("id", group.id),
        ("status", group.effective_status(now).value),
        ("task", group.task_id),
        ("error", f"{group.error_type}: {group.message}"),
        ("example", group.sample_message),
        ("where", group.frame or "-"),
        ("count", group.count),
        ("first seen", group.first_seen.isoformat()),
        ("last seen", group.last_seen.isoformat()),
        ("versions", ", ".join(group.versions) or "-"),
        ("sample run", group.sample_run_id),
        ("last run", group.last_run_id),
    ]
    if group.resolved_at:
        fields.append(
            ("resolved", f"{group.resolved_at.isoformat()} {group.resolved_in_version or ''}")
        )
    if group.regressions:
        fields.append(("regressions", group.regressions))
    if group.ignore:
        rule = group.ignore
        bounds = [
            f"until {rule.until.isoformat()}" if rule.until else "",
            f"{rule.total_occurrences} more" if rule.total_occurrences else "",
            f"> {rule.occurrence_rate:g}/min" if rule.occurrence_rate else "",
        ]
        fields.append(("ignored", " ".join(b for b in bounds if b) or "for good"))
    return "\n".join(f"{name:<12} {value}" for name, value in fields)


def _checked(group_id: str) -> str:
    if not is_error_group_id(group_id):
        raise InvalidInputError("GROUP_ID", f"{group_id!r} is not an error group id (error_…)")
    return group_id


def _found(group_id: str, group: ErrorGroup | None) -> ErrorGroup:
    if group is None:
        raise InvalidInputError("GROUP_ID", f"no error group {group_id}")
    return group
