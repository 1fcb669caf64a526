"""Browser-test support: the facade on a real local socket, and Debian's Chromium driven
by Playwright (which never downloads a browser of its own here).

``make test`` installs ``chromium`` with apt and the ``playwright`` package with pip;
``DURABLERUNS_CHROMIUM`` points at another binary if needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Locator, Page, async_playwright
from temporalio.client import Client

from durableruns.api import create_app
from durableruns.settings import Settings
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.helpers import SECRET_KEY, eventually, new_settings

CHROMIUM = os.environ.get("DURABLERUNS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DASHBOARD_VERSION = "20261128.1"
"""The worker version the dashboard tests' runs carry."""
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a free 127.0.0.1 port in this event loop; yields
    its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def dashboard_stack(
    client: Client,
    registry: TaskRegistry,
    settings: Settings | None = None,
    short_wait_s: float | None = None,
) -> AsyncIterator[Dash]:
    """A worker of ``registry`` and the facade on a real socket, for one test module's
    pages: each module gets its own task-queue prefix (``new_settings()`` unless given)."""
    settings = settings or new_settings()
    worker_options: dict[str, Any] = {} if short_wait_s is None else {"short_wait_s": short_wait_s}
    async with (
        running_worker(
            client,
            registry,
            task_queue_prefix=settings.task_queue_prefix,
            version=DASHBOARD_VERSION,
            **worker_options,
        ),
        serving(create_app(settings, client=client)) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {SECRET_KEY}"}) as api,
    ):
        yield Dash(url=url, api=api)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium from the system's package."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) "
            "or set DURABLERUNS_CHROMIUM"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Dash:
    """A facade on a real socket, its worker, and an API client with the secret key."""

    url: str
    api: httpx.AsyncClient

    async def trigger(self, task_id: str, payload: Any, **options: Any) -> str:
        body = {"payload": payload, "options": options}
        response = await self.api.post(f"/api/v1/tasks/{task_id}/trigger", json=body)
        assert response.status_code == 200, response.text
        run_id: str = response.json()["id"]
        return run_id

    async def retrieve(self, run_id: str) -> dict[str, Any]:
        response = await self.api.get(f"/api/v3/runs/{run_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_status(self, run_id: str, status: str) -> dict[str, Any]:
        return await eventually(lambda: self.retrieve(run_id), lambda r: r["status"] == status)


@dataclass
class Tab:
    """A page of the logged-in context, and the dialogs it opened (there should be none)."""

    page: Page
    dialogs: list[str]


async def log_in(page: Page, dash: Dash, path: str = "/dashboard") -> None:
    """Open ``path`` and log in through the form it redirects to."""
    await page.goto(dash.url + path)
    await page.fill("#secret-key", SECRET_KEY)
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r"/dashboard(\?|/|$)"))


def row(page: Page, run_id: str) -> Locator:
    """The runs list's row of ``run_id``."""
    return page.locator(f'tr[data-run-id="{run_id}"]')
