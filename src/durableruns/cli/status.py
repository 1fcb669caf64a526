"""``durableruns status``: the stack's workers, task queues with poller counts, and the
runs that are not executing, each with why (its ``waitingReason``).

Registered on the CLI's app in ``cli.py``; the gathering is ``service/stack_status.py``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from durableruns.engine.client import connect
from durableruns.service.stack_status import StackStatus, stack_status
from durableruns.settings import Settings


def status(
    temporal_address: Annotated[
        str | None,
        typer.Option(help="host:port of Temporal (env DURABLERUNS_TEMPORAL_ADDRESS)"),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option(help="Namespace (env DURABLERUNS_NAMESPACE, default default)")
    ] = None,
    task_queue_prefix: Annotated[
        str | None, typer.Option(help="Queue prefix (env DURABLERUNS_TASK_QUEUE_PREFIX)")
    ] = None,
) -> None:
    """Print the stack's workers, task queues with poller counts, and queued runs."""
    overrides: dict[str, Any] = {
        "temporal_address": temporal_address,
        "namespace": namespace,
        "task_queue_prefix": task_queue_prefix,
    }
    given = {k: v for k, v in overrides.items() if v is not None}
    settings = Settings(**given).model_copy(update={"sdk_metrics": False})
    typer.echo(render(asyncio.run(_gather(settings)), settings))


async def _gather(settings: Settings) -> StackStatus:
    client = await connect(settings)
    return await stack_status(client, task_queue_prefix=settings.task_queue_prefix)


def render(status: StackStatus, settings: Settings) -> str:
    """The status as text, one section per kind of thing."""
    lines = [f"Temporal {settings.temporal_address}, namespace {settings.namespace}"]
    lines.append(f"Workers ({len(status.workers)}):")
    lines += [f"  {identity}" for identity in status.workers] or ["  none polling"]
    lines.append("Task queues (pollers):")
    width = max((len(q.name) for q in status.queues), default=0)
    for queue in status.queues:
        version = queue.version or "any version (pending runs)"
        lines.append(f"  {queue.name:<{width}}  {len(queue.pollers)}  {version}")
    if not status.queues:
        lines.append("  none: no version is deployed")
    more = "+" if status.more_runs else ""
    lines.append(f"Runs not executing ({len(status.runs)}{more}):")
    for run in status.runs:
        lines.append(f"  {run.run_id}  {run.task_id}  {run.status}  {run.reason}")
    if not status.runs:
        lines.append("  none")
    return "\n".join(lines)
