"""``durableruns limits``: concurrency limits from the command line — list them with
their bounds and live counts, pause/resume, override/reset (also one key's bound).

Talks to Temporal directly (like ``durableruns status``) through the same service the
facade uses (``service/limits.py``), so it works without a running facade.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from durableruns.durations import parse_duration
from durableruns.engine.client import connect
from durableruns.service.limits import LimitService, LimitView
from durableruns.service.runs import RunService
from durableruns.settings import Settings

T = TypeVar("T")

limits_app = typer.Typer(
    help="Concurrency limits: list, pause, resume, override, reset.", no_args_is_help=True
)

Prefix = Annotated[
    str | None, typer.Option(help="Queue prefix (env DURABLERUNS_TASK_QUEUE_PREFIX)")
]
Address = Annotated[
    str | None, typer.Option(help="host:port of Temporal (env DURABLERUNS_TEMPORAL_ADDRESS)")
]
Name = Annotated[str, typer.Argument(help="A named limit, or task/<task id>")]
Key = Annotated[str | None, typer.Option("--key", help="One concurrency key's bound")]


def _run(prefix: str | None, address: str | None, act: Callable[[LimitService], Awaitable[T]]) -> T:
    given: dict[str, Any] = {"task_queue_prefix": prefix, "temporal_address": address}
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    settings = settings.model_copy(update={"sdk_metrics": False})

    async def go() -> T:
        client = await connect(settings)
        runs = RunService(client, task_queue_prefix=settings.task_queue_prefix)
        return await act(LimitService(client, runs, task_queue_prefix=settings.task_queue_prefix))

    return asyncio.run(go())


def line(view: LimitView) -> str:
    """One limit: its bounds now, live counts, paused."""
    state = view.state
    per_key = state.per_key_override if state.per_key_override is not None else state.spec.per_key
    total = state.total_bound
    paused = "  PAUSED" if state.paused else ""
    return (
        f"{view.name}  perKey={'-' if per_key is None else per_key}"
        f"  total={'-' if total is None else total}"
        f"  running={view.running}  queued={view.queued}{paused}"
    )


@limits_app.command("list")
def list_limits(task_queue_prefix: Prefix = None, temporal_address: Address = None) -> None:
    """Every limit of the deployed tasks (named and task/<id>)."""
    views = _run(task_queue_prefix, temporal_address, lambda s: s.list())
    typer.echo("\n".join(line(v) for v in views) or "no concurrency limits are deployed")


@limits_app.command()
def pause(name: Name, task_queue_prefix: Prefix = None, temporal_address: Address = None) -> None:
    """Start nothing new that holds the limit (running runs finish)."""
    typer.echo(line(_run(task_queue_prefix, temporal_address, lambda s: s.pause(name, True))))


@limits_app.command()
def resume(name: Name, task_queue_prefix: Prefix = None, temporal_address: Address = None) -> None:
    """Start runs holding the limit again."""
    typer.echo(line(_run(task_queue_prefix, temporal_address, lambda s: s.pause(name, False))))


@limits_app.command()
def override(
    name: Name,
    per_key: Annotated[int | None, typer.Option("--per-key", min=0)] = None,
    total: Annotated[int | None, typer.Option("--total", min=0)] = None,
    key: Key = None,
    ttl: Annotated[str | None, typer.Option(help="A key override's lifetime, e.g. 7d")] = None,
    task_queue_prefix: Prefix = None,
    temporal_address: Address = None,
) -> None:
    """Override the limit's bounds until reset, or (--key) one key's --per-key for --ttl."""

    async def act(service: LimitService) -> LimitView:
        if key is not None:
            if per_key is None:
                raise typer.BadParameter("a key override needs --per-key")
            ttl_s = parse_duration(ttl) if ttl is not None else None
            return await service.override_key(name, key, per_key, ttl_s)
        return await service.override(name, per_key=per_key, total=total)

    typer.echo(line(_run(task_queue_prefix, temporal_address, act)))


@limits_app.command()
def reset(
    name: Name, key: Key = None, task_queue_prefix: Prefix = None, temporal_address: Address = None
) -> None:
    """Back to the declared bounds (or clear one key's override)."""

    async def act(service: LimitService) -> LimitView:
        return await (service.reset_key(name, key) if key is not None else service.reset(name))

    typer.echo(line(_run(task_queue_prefix, temporal_address, act)))
