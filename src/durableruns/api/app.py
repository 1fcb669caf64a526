"""Assembles the facade: one router per resource, the error shape, and the Temporal
client the run service uses (connected at startup unless one is handed in)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from temporalio.client import Client

from durableruns.api.deps import require_secret_key
from durableruns.api.errors import install_error_handlers
from durableruns.api.routes import batches, queues, realtime, runs, runs_list, tasks
from durableruns.engine.batch_service import BatchService
from durableruns.engine.client import connect
from durableruns.engine.queue_service import QueueService
from durableruns.engine.service import RunService
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
    if client is not None:
        _bind_services(app, client, settings)
    install_error_handlers(app)
    authed = [Depends(require_secret_key)]
    app.include_router(tasks.router, dependencies=authed)
    app.include_router(runs.router, dependencies=authed)
    app.include_router(runs_list.router, dependencies=authed)
    app.include_router(realtime.router, dependencies=authed)
    app.include_router(batches.router, dependencies=authed)
    app.include_router(queues.router, dependencies=authed)
    return app


def _bind_services(app: FastAPI, client: Client, settings: Settings) -> None:
    runs = RunService(client, task_queue_prefix=settings.task_queue_prefix)
    app.state.service = runs
    app.state.batches = BatchService(client, runs, task_queue_prefix=settings.task_queue_prefix)
    app.state.queues = QueueService(client, runs, task_queue_prefix=settings.task_queue_prefix)
