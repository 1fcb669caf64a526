"""The dashboard's concurrency page in headless Chromium against a real facade and
worker: limits and queues with live counts, pause/resume, override and reset."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Dialog, expect
from temporalio.client import Client

from durableruns.task_definitions import TaskRegistry
from tests.helpers import eventually, new_settings
from tests.helpers.browser import SCREENSHOTS, Dash, dashboard_stack, log_in

WAIT_MS = 15_000


@pytest.fixture(scope="module")
async def dash(client: Client) -> AsyncIterator[Dash]:
    settings = new_settings()
    registry = TaskRegistry.from_modules(["tests.helpers.tasks.limit_tasks"])
    async with dashboard_stack(client, registry, settings) as dash:
        yield dash


async def test_the_concurrency_page_shows_counts_and_pauses_overrides_resets(
    browser: Browser, dash: Dash
) -> None:
    holder = await dash.trigger("one-slot", {"seconds": 30, "label": "holder"})
    await dash.wait_status(holder, "EXECUTING")
    queued = await dash.trigger("one-slot", {"label": "queued"})

    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    dialogs: list[str] = []

    async def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", record)
    await log_in(page, dash, "/dashboard/concurrency")
    await expect(page.locator("h1")).to_have_text("Concurrency")
    row = page.locator('tr[data-limit="task/one-slot"]')
    await expect(row.locator(".total")).to_contain_text("1")
    await expect(row.locator(".running")).to_have_text("1")
    await expect(row.locator(".queued")).to_have_text("1")
    await expect(page.locator('tr[data-limit="tenant"] .per-key')).to_contain_text("2")
    queue = page.locator('tr[data-queue="one-slot"]')
    await expect(queue).to_contain_text("task")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "concurrency-page.png", full_page=True)

    await row.locator("button.toggle").click()
    await expect(row).to_have_attribute("data-paused", "true")
    limit = (await dash.api.get("/api/v1/concurrency-limits/task%2Fone-slot")).json()
    assert limit["paused"] is True
    await row.locator("button.toggle").click()
    await expect(row).to_have_attribute("data-paused", "false")

    await row.locator("input.override-value").fill("3")
    await row.locator("button.override").click()
    await expect(row.locator(".total")).to_contain_text("3 (was 1)")
    await eventually(lambda: dash.retrieve(queued), lambda r: r["isCompleted"], timeout=30)
    await row.locator("button.reset").click()
    await expect(row.locator(".total")).to_have_text("1")

    await queue.locator("button.toggle").click()
    await expect(queue).to_have_attribute("data-paused", "true")
    await queue.locator("button.toggle").click()
    await expect(queue).to_have_attribute("data-paused", "false")
    assert dialogs == []
    await context.close()
    await dash.api.post(f"/api/v2/runs/{holder}/cancel")
