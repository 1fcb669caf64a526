"""The run page's input-stream form, in headless Chromium against a real facade and
worker: a run WAITING on an input stream shows the form with that stream filled in, and
a value sent from it resumes the run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect
from temporalio.client import Client

from durableruns.task_definitions import TaskRegistry
from tests.helpers import eventually, new_settings
from tests.helpers.browser import SCREENSHOTS, Dash, chromium, dashboard_stack, log_in

WAIT_MS = 15_000


@pytest.fixture(scope="module")
async def dash(client: Client) -> AsyncIterator[Dash]:
    settings = new_settings()
    registry = TaskRegistry.from_modules(["workflows", "activities"])
    async with dashboard_stack(client, registry, settings) as dash:
        yield dash


async def test_a_value_sent_from_the_run_page_resumes_a_run_waiting_on_the_stream(
    client: Client, dash: Dash
) -> None:
    run_id = await dash.trigger("chat-agent", {"word_delay_s": 0})
    await eventually(
        lambda: dash.retrieve(run_id),
        lambda r: r["status"] == "WAITING" and any(w["kind"] == "input" for w in r["waits"]),
    )
    async with chromium() as browser:
        await _send_from_the_page(browser, dash, run_id)
    run = await eventually(lambda: dash.retrieve(run_id), lambda r: r["isCompleted"])
    assert run["status"] == "COMPLETED" and run["output"]["ended"] == "bye", run


async def _send_from_the_page(browser: Browser, dash: Dash, run_id: str) -> None:
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await log_in(page, dash, f"/dashboard/runs/{run_id}")
    card = page.locator("#input-card")
    await expect(card).to_be_visible()
    await expect(page.locator("#input-stream")).to_have_value("message")
    await expect(card).to_contain_text('waits for a value on "message"')
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "run-waiting-on-input-stream.png", full_page=True)
    await page.locator("#input-data").fill("{not json")
    await page.locator("#input-submit").click()
    await expect(card.locator(".message.error")).to_contain_text("Not valid JSON")
    await page.locator("#input-data").fill('{"text": "/bye"}')
    await page.locator("#input-submit").click()
    await expect(page.locator("#run-status .status")).to_have_attribute("data-status", "COMPLETED")
    await expect(card).to_be_hidden()
    await context.close()
