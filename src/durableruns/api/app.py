"""Assembles the facade: one router per resource, the error shape, and the Temporal
client the run service uses (connected at startup unless one is handed in)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from temporalio.client import Client

from durableruns.api.deps import require_secret_key
from durableruns.api.environments import Environment
from durableruns.api.errors import install_error_handlers
from durableruns.api.routes import (
    batches,
    metrics,
    queues,
    realtime,
    run_timeline,
    runs,
    runs_list,
    schedules,
    tasks,
)
from durableruns.dashboard import routes as dashboard
from durableruns.engine.client import connect
from durableruns.settings import Settings


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
    )
    app.state.settings = settings
    app.state.secret_key = settings.dev_secret_key()
    app.state.environments = []
    if client is not None:
        _bind_services(app, client, settings)
    install_error_handlers(app)
    authed = [Depends(require_secret_key)]
    app.include_router(tasks.router, dependencies=authed)
    app.include_router(runs.router, dependencies=authed)
    app.include_router(run_timeline.router, dependencies=authed)
    app.include_router(runs_list.router, dependencies=authed)
    app.include_router(realtime.router, dependencies=authed)
    app.include_router(batches.router, dependencies=authed)
    app.include_router(queues.router, dependencies=authed)
    app.include_router(schedules.router, dependencies=authed)
    # The official client asks for the time zones without a key.
    app.include_router(schedules.public_router)
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
