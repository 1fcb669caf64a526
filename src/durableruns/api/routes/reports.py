"""``GET /api/v1/reports/{key}``: the project health verdict at the path and with the
parameters of Trigger.dev's reports (the official client's ``getReport``): ``period``
(``30m``, ``1h``, ``7d``; at most 90 days) and ``format`` (``markdown``, the default, or
``ansi`` — both plain text here — or ``json``, the ``ReportViewModel``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from durableruns.api.deps import EnvironmentDep
from durableruns.api.environments import Environment
from durableruns.api.errors import ApiHTTPError
from durableruns.health_report import render_text, view_model
from durableruns.service.health_report import gather

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
REPORTS = ("health",)
PERIOD = re.compile(r"^([1-9]\d*)([mhdw])$")
UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}
MAX_MINUTES = 90 * 1440


def period_minutes(period: str) -> int:
    """Minutes in a ``30m`` / ``1h`` / ``7d`` / ``2w`` period; ApiHTTPError(400) otherwise."""
    match = PERIOD.match(period)
    minutes = int(match.group(1)) * UNIT_MINUTES[match.group(2)] if match else 0
    if not match or minutes > MAX_MINUTES:
        raise ApiHTTPError(
            400, "period: expected a positive whole number of m, h, d or w, at most 90d"
        )
    return minutes


@router.get(
    "/{key}",
    response_model=None,
    responses={
        200: {
            "description": "The report: text (markdown, ansi) or the view model (json)",
            "content": {
                "text/markdown": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def get_report(
    environment: EnvironmentDep,
    key: Annotated[str, Path(description="The report: health", max_length=64)],
    period: Annotated[str, Query(max_length=16)] = "1h",
    format: Annotated[str, Query(max_length=16)] = "markdown",
) -> Response:
    """A report: the project's health, as text or as Trigger.dev's view model."""
    if key not in REPORTS:
        raise ApiHTTPError(404, f"No report {key!r}; available: {', '.join(REPORTS)}")
    if format not in ("markdown", "ansi", "json"):
        raise ApiHTTPError(400, "format: expected markdown, ansi or json")
    minutes = period_minutes(period)
    view = await health_view(environment, minutes, period)
    if format == "json":
        return JSONResponse(view)
    return PlainTextResponse(render_text(view), media_type="text/markdown")


async def health_view(environment: Environment, minutes: int, period: str) -> dict[str, Any]:
    """The health view model of ``environment`` over the last ``minutes``."""
    now = datetime.now(UTC)
    runs = environment.runs
    inputs = await gather(
        runs.client,
        runs,
        task_queue_prefix=runs.task_queue_prefix,
        window=timedelta(minutes=minutes),
        now=now,
    )
    return view_model(inputs, scope=environment.name, period=f"last {period}", generated_at=now)
