"""Probes for orchestrators: ``/healthz`` says the process serves HTTP, ``/readyz``
that Temporal is reachable and every environment's namespace exists. Neither needs a
key: a load balancer has none, and they reveal nothing but namespace names."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from durableruns.service.health import namespace_problems

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> JSONResponse | dict[str, Any]:
    """Ready when Temporal answers for every served environment's namespace."""
    environments = request.app.state.environments
    if not environments:
        return JSONResponse({"status": "starting"}, status_code=503)
    client = environments[0].runs.client
    namespaces = [env.settings.namespace for env in environments]
    problems = await namespace_problems(client, namespaces)
    if problems:
        return JSONResponse({"status": "unready", "problems": problems}, status_code=503)
    return {"status": "ready", "namespaces": namespaces}
