"""The dashboard's alerts page and the home page's health line, in headless Chromium
against a real facade, worker and receiver: an alert created from the form delivers a
signed webhook, its delivery shows up with its try, and it can be disabled; the home
page leads with the health verdict."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect
from temporalio.client import Client

from durableruns.task_definitions import TaskRegistry
from tests.helpers import new_settings
from tests.helpers.browser import SCREENSHOTS, Dash, dashboard_stack, log_in
from tests.helpers.receivers import http_receiver
from tests.helpers.tasks import error_tasks

WAIT_MS = 30_000
SECRET = "dashboard-secret-123"


@pytest.fixture(scope="module")
async def dash(client: Client) -> AsyncIterator[Dash]:
    settings = new_settings()
    registry = TaskRegistry([error_tasks.err_divide])
    async with dashboard_stack(client, registry, settings) as dash:
        yield dash


async def test_an_alert_made_in_the_form_delivers_and_the_home_page_shows_health(
    browser: Browser, dash: Dash
) -> None:
    page = await browser.new_page()
    try:
        async with http_receiver() as receiver:
            await log_in(page, dash, "/dashboard/alerts")
            await page.fill("input[name=name]", "from the dashboard")
            await page.fill("input[name=url]", receiver.url)
            await page.fill("input[name=secret]", SECRET)
            await page.click("#create-alert")
            rows = page.locator("#alerts-body tr")
            await expect(rows).to_have_count(1, timeout=WAIT_MS)
            await expect(rows.nth(0)).to_contain_text("signed (secret set)")
            assert SECRET not in await page.content()

            await dash.wait_status(await dash.trigger("err-divide", None), "FAILED")
            delivered = page.locator("#alerts-body li[data-status=delivered]")
            await expect(delivered.first).to_be_visible(timeout=WAIT_MS)
            assert receiver.received and receiver.received[0].signed_with(SECRET)
            await page.screenshot(path=str(SCREENSHOTS / "alerts.png"), full_page=True)

            await rows.nth(0).locator("button[data-action=disable]").click()
            await expect(rows.nth(0).locator("button[data-action=enable]")).to_be_visible(
                timeout=WAIT_MS
            )

        await page.goto(dash.url + "/dashboard")
        # One run, failed: above a baseline of none, below the 3 that make it "failing".
        await expect(page.locator("#health-headline")).to_contain_text(
            "⚠ EXECUTION: More runs fail than usual", timeout=WAIT_MS
        )
        await expect(page.locator("#health")).to_have_attribute("data-severity", "warn")
        await expect(page.locator("#health-action")).to_contain_text("→")
    finally:
        await page.close()
