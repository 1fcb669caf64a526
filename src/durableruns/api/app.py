"""Assembles the facade: one router per resource, the error shape, and the Temporal
client the run service uses (connected at startup unless one is handed in)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI
from temporalio.client import Client

from durableruns.api.deadline import EngineDeadline
from durableruns.api.deps import require_secret_key
from durableruns.api.docs import install_docs
from durableruns.api.environments import Environment
from durableruns.api.errors import install_error_handlers
from durableruns.api.routes import (
    alerts,
    auth,
    batches,
    bulk_actions,
    concurrency_limits,
    deployments,
    errors,
    health,
    idempotency,
    input_streams,
    logs,
    metrics,
    packets,
    queues,
    realtime,
    realtime_sets,
    reports,
    run_timeline,
    run_trace,
    runs,
    runs_list,
    schedules,
    streams,
    tasks,
    waitpoints,
)
from durableruns.dashboard import routes as dashboard
from durableruns.engine.client import connect
from durableruns.service.packet_store import packet_store
from durableruns.settings import Settings
from durableruns.wire import ErrorBody

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Malformed request; the error names the field"),
        (401, "Missing or wrong secret key"),
        (403, "These credentials may not do this"),
        (404, "No such run, batch or queue"),
        (413, "A payload, output or metadata over its limit; the error names limit and size"),
        (422, "Well-formed, but a value was refused; the error names the field"),
        (503, "The run engine is unavailable"),
    )
}
"""Every route answers errors in the one shape: documented so, instead of FastAPI's
``HTTPValidationError`` (our 422 is ``{"error": …}`` too)."""


def create_app(settings: Settings, *, client: Client | None = None) -> FastAPI:
    """The FastAPI app for ``settings``; pass ``client`` to reuse a Temporal connection."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if client is None:
            _bind_services(app, await connect(settings), settings)
        yield

    app = FastAPI(
        title="durableruns",
        summary="Trigger.dev's management API for runs on Temporal.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # install_docs serves /docs from local assets
        redoc_url=None,  # install_docs serves /redoc from local assets too
    )
    app.state.settings = settings
    app.state.secret_key = settings.dev_secret_key()
    app.state.environments = []
    app.state.packet_store = packet_store(settings)
    if client is not None:
        _bind_services(app, client, settings)
    install_error_handlers(app)
    app.add_middleware(EngineDeadline, deadline_s=settings.engine_deadline_s)
    install_docs(app)
    app.include_router(health.router)  # probes: no key
    authed = [Depends(require_secret_key)]
    app.include_router(tasks.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(runs.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(logs.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(run_timeline.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(run_trace.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(idempotency.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(bulk_actions.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(deployments.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(runs_list.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(errors.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(alerts.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(reports.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(realtime.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(realtime_sets.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(streams.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(input_streams.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(auth.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(batches.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(queues.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(concurrency_limits.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(schedules.router, dependencies=authed, responses=ERROR_RESPONSES)
    app.include_router(packets.router, dependencies=authed, responses=ERROR_RESPONSES)
    # The official client asks for the time zones without a key.
    app.include_router(schedules.public_router)
    # The official client PUTs to an upload URL as to an object store, with no key.
    app.include_router(packets.upload_router, responses=ERROR_RESPONSES)
    app.include_router(waitpoints.router, dependencies=authed, responses=ERROR_RESPONSES)
    # A token's callback URL carries its own capability: no key.
    app.include_router(waitpoints.callback_router, responses=ERROR_RESPONSES)
    app.include_router(metrics.router)  # scrapers carry no key
    # Pages check the session themselves: without one they show the login, not a 401.
    app.include_router(dashboard.router)
    return app


def _bind_services(app: FastAPI, client: Client, settings: Settings) -> None:
    """One Environment per served environment, this process's own first."""
    names = [settings.environment, *(e for e in settings.environments if e != settings.environment)]
    app.state.environments = [
        Environment.connect(client, settings.for_environment(name)) for name in names
    ]
