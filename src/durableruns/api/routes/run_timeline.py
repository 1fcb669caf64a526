"""``GET /api/v1/runs/{id}/timeline`` (a durableruns extension): the run's waterfall —
attempts, their executions and continuations, waits, child runs, steps — read from the
run's own history (``service/run_timeline.py``), so it needs no collector and no worker."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from durableruns.api.deps import ServiceDep
from durableruns.service.run_timeline import run_timeline
from durableruns.wire_logs import RunTimeline

router = APIRouter(tags=["runs"])


@router.get(
    "/api/v1/runs/{run_id}/timeline", response_model=RunTimeline, response_model_exclude_none=True
)
async def get_run_timeline(
    run_id: Annotated[str, Path(description="The run's id, ``run_…``")], service: ServiceDep
) -> RunTimeline:
    """The run's spans, parents first, each with its start and (when over) its end."""
    record = await service.require(run_id)
    spans, truncated = await run_timeline(service.client, record)
    return RunTimeline(data=spans, truncated=truncated)
