"""The tests' stack: a worker and the in-process facade on a fresh task-queue prefix, and
the settings and task modules they share."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from durableruns import sdk
from durableruns.api import create_app
from durableruns.catalog_models import Catalog
from durableruns.service.catalog import CatalogReader
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from durableruns.worker.attempt_activity import DEFAULT_ANNOUNCE_AFTER_S
from tests.helpers.waiting import eventually

SECRET_KEY = "tr_dev_test_secret_key"
EXAMPLE_MODULES = ["activities", "workflows"]
STACK_MODULES = [
    *EXAMPLE_MODULES,
    "tests.helpers.tasks.support_tasks",
    "tests.helpers.tasks.queue_tasks",
    "tests.helpers.tasks.suspension_tasks",
    "tests.helpers.tasks.log_tasks",
    "tests.helpers.tasks.token_tasks",
]
TEST_SHORT_WAIT_S = 0.5
"""Tests' short-wait threshold: timers of 0.5 s or more suspend their attempt, so the
suite exercises suspension and resume wherever it waits."""


@dataclass
class Stack:
    """A worker and a facade sharing one fresh task-queue prefix."""

    settings: Settings
    client: Client
    http: httpx.AsyncClient
    registry: TaskRegistry

    async def trigger(self, task_id: str, payload: Any = None, **options: Any) -> str:
        response = await self.http.post(
            f"/api/v1/tasks/{task_id}/trigger", json={"payload": payload, "options": options}
        )
        assert response.status_code == 200, response.text
        run_id: str = response.json()["id"]
        return run_id

    async def retrieve(self, run_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/v3/runs/{run_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_final(self, run_id: str, timeout: float = 30) -> dict[str, Any]:
        return await eventually(lambda: self.retrieve(run_id), lambda r: r["isCompleted"], timeout)

    async def wait_status(self, run_id: str, status: str, timeout: float = 15) -> dict[str, Any]:
        return await eventually(
            lambda: self.retrieve(run_id), lambda r: r["status"] == status, timeout
        )

    async def service_catalog(self) -> Catalog:
        """The catalog of deployed versions, fresh."""
        return await CatalogReader(
            self.client, task_queue_prefix=self.settings.task_queue_prefix
        ).get()

    async def run_ids_where(self, query: str) -> list[str]:
        """Run ids matching a visibility query, within this stack's queues."""
        scoped = f"{query} AND TaskQueue = '{self.settings.task_queue_prefix}:runs'"
        return [w.id async for w in self.client.list_workflows(scoped)]


def new_settings(**overrides: Any) -> Settings:
    return Settings(
        task_queue_prefix=f"test-{uuid.uuid4().hex[:8]}",
        state_dir=Path(tempfile.mkdtemp(prefix="durableruns-test-")),
        secret_key=SECRET_KEY,
        api_url="http://facade",
        **overrides,
    )


@contextlib.asynccontextmanager
async def open_stack(
    client: Client,
    registry: TaskRegistry,
    *,
    with_worker: bool = True,
    version: str = "20261128.1",
    short_wait_s: float = TEST_SHORT_WAIT_S,
    max_concurrent_attempts: int = 100,
    isolation: bool | None = None,
    announce_attempts: bool = True,
    announce_after_s: float = DEFAULT_ANNOUNCE_AFTER_S,
) -> AsyncIterator[Stack]:
    """A facade (in-process, also wired into the SDK) and, optionally, a worker serving
    ``registry``, on a fresh task-queue prefix so stacks never see each other's runs."""
    settings = new_settings()
    async with contextlib.AsyncExitStack() as resources:
        if with_worker:
            await resources.enter_async_context(
                running_worker(
                    client,
                    registry,
                    task_queue_prefix=settings.task_queue_prefix,
                    version=version,
                    short_wait_s=short_wait_s,
                    max_concurrent_attempts=max_concurrent_attempts,
                    isolation=isolation,
                    announce_attempts=announce_attempts,
                    announce_after_s=announce_after_s,
                )
            )
        transport = httpx.ASGITransport(app=create_app(settings, client=client))
        http = await resources.enter_async_context(
            httpx.AsyncClient(
                transport=transport,
                base_url=settings.api_url,
                headers={"Authorization": f"Bearer {SECRET_KEY}"},
            )
        )
        sdk.configure(base_url=settings.api_url, secret_key=SECRET_KEY, transport=transport)
        yield Stack(settings=settings, client=client, http=http, registry=registry)
