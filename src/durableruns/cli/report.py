"""``durableruns report health``: the project health verdict (``health_report``), read
straight from Temporal like ``durableruns status``; the same verdict as
``GET /api/v1/reports/health``."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from durableruns.engine.client import connect
from durableruns.errors import InvalidInputError
from durableruns.health_report import render_text, view_model
from durableruns.service.health_report import gather
from durableruns.service.runs import RunService
from durableruns.settings import Settings

PERIOD = re.compile(r"^([1-9]\d*)([mhdw])$")
UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}


def report(
    key: Annotated[str, typer.Argument(help="The report: health")] = "health",
    period: Annotated[str, typer.Option(help="The window: 30m, 1h, 24h, 7d")] = "1h",
    json_output: Annotated[bool, typer.Option("--json", help="The view model as JSON")] = False,
    temporal_address: Annotated[
        str | None, typer.Option(help="host:port of Temporal (env DURABLERUNS_TEMPORAL_ADDRESS)")
    ] = None,
    task_queue_prefix: Annotated[
        str | None, typer.Option(help="Queue prefix (env DURABLERUNS_TASK_QUEUE_PREFIX)")
    ] = None,
) -> None:
    """Is the project healthy, and if not, is it the code or the platform?"""
    if key != "health":
        raise InvalidInputError("KEY", f"no report {key!r}; available: health")
    match = PERIOD.match(period)
    if not match or int(match.group(1)) * UNIT_MINUTES[match.group(2)] > 90 * 1440:
        raise InvalidInputError("--period", "expected a whole number of m, h, d or w, at most 90d")
    minutes = int(match.group(1)) * UNIT_MINUTES[match.group(2)]
    given: dict[str, Any] = {
        "temporal_address": temporal_address,
        "task_queue_prefix": task_queue_prefix,
    }
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    settings = settings.model_copy(update={"sdk_metrics": False})
    view = asyncio.run(_view(settings, minutes, period))
    typer.echo(json.dumps(view, indent=2) if json_output else render_text(view), nl=json_output)


async def _view(settings: Settings, minutes: int, period: str) -> dict[str, Any]:
    client = await connect(settings)
    runs = RunService(client, task_queue_prefix=settings.task_queue_prefix)
    now = datetime.now(UTC)
    inputs = await gather(
        client,
        runs,
        task_queue_prefix=settings.task_queue_prefix,
        window=timedelta(minutes=minutes),
        now=now,
    )
    return view_model(inputs, scope=settings.environment, period=f"last {period}", generated_at=now)
