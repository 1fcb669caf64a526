"""The dashboard's Tasks page in headless Chromium against a real facade and worker:
every deployed task with its versions, queue and latest runs, and the Test form that
prefills a payload from the task's schema, triggers a test run and opens its page.

Screenshot: ``artifacts/screenshots/tasks-page.png``.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, expect
from temporalio.client import Client

from durableruns.task_definitions import TaskRegistry
from tests.helpers import new_settings
from tests.helpers.browser import SCREENSHOTS, Dash, dashboard_stack, log_in

WAIT_MS = 20_000
VERSION = "20261128.1"


@pytest.fixture(scope="module")
async def dash(client: Client) -> AsyncIterator[Dash]:
    settings = new_settings()
    registry = TaskRegistry.from_modules(["workflows", "activities"])
    async with dashboard_stack(client, registry, settings) as dash:
        yield dash


async def test_the_tasks_page_lists_tasks_and_its_test_form_triggers_a_run(
    browser: Browser, dash: Dash
) -> None:
    earlier = await dash.trigger("hello-world", {"name": "Earlier"})
    await dash.wait_status(earlier, "COMPLETED")
    context = await browser.new_context(viewport={"width": 1360, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await log_in(page, dash, "/dashboard/tasks")
    hello = page.locator('tr[data-task="hello-world"]')
    await expect(hello).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator('tr[data-task="wait-for-approval"]')).to_be_visible(timeout=WAIT_MS)
    await expect(hello).to_contain_text(VERSION, timeout=WAIT_MS)
    await expect(hello).to_contain_text("3 attempts", timeout=WAIT_MS)
    await expect(hello.locator(f'.latest-runs a[href="/dashboard/runs/{earlier}"]')).to_be_visible(
        timeout=WAIT_MS
    )
    await expect(page.locator('tr[data-task="every-minute"]')).to_contain_text(
        "* * * * *", timeout=WAIT_MS
    )

    await hello.locator(".test-button").click()
    form = page.locator("#test-form")
    await expect(form).to_be_visible(timeout=WAIT_MS)
    await expect(form.locator("#test-task")).to_have_text("hello-world", timeout=WAIT_MS)
    prefilled = json.loads(await page.locator("#test-payload").input_value())
    assert prefilled == {"name": ""}  # from the task's payload schema

    # A payload that does not fit the schema: the facade's 422, shown in the form.
    await page.fill("#test-payload", "{}")
    await page.click("#test-submit")
    await expect(form.locator("#test-error")).to_contain_text("name", timeout=WAIT_MS)
    await page.fill("#test-payload", "{not json")
    await page.click("#test-submit")
    await expect(form.locator("#test-error")).to_contain_text("not JSON", timeout=WAIT_MS)

    await page.fill("#test-payload", json.dumps({"name": "Tester"}))
    await page.fill("#test-tags", "from-the-form")
    await page.screenshot(path=SCREENSHOTS / "tasks-page.png", full_page=True)
    await page.click("#test-submit")
    await page.wait_for_url(re.compile(r"/dashboard/runs/run_"))
    run_id = page.url.rsplit("/", 1)[-1]
    run = await dash.wait_status(run_id, "COMPLETED")
    assert run["output"] == {"message": "Hello, Tester!"}
    assert run["isTest"] is True and run["tags"] == ["from-the-form"]
    await context.close()


async def test_the_test_form_opens_from_the_address(browser: Browser, dash: Dash) -> None:
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await log_in(page, dash, "/dashboard/tasks?test=wait-for-approval")
    await expect(page.locator("#test-form")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#test-task")).to_have_text("wait-for-approval", timeout=WAIT_MS)
    await expect(page.locator("nav.topnav a", has_text="Tasks")).to_have_attribute(
        "href", "/dashboard/tasks"
    )
    await context.close()


async def test_a_favicon_for_every_page(dash: Dash) -> None:
    async with httpx.AsyncClient(base_url=dash.url) as anonymous:
        icon = await anonymous.get("/favicon.ico")
        static = await anonymous.get("/dashboard/static/favicon.svg")
        login = await anonymous.get("/dashboard/login")
    assert icon.status_code == static.status_code == 200
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")
    assert 'rel="icon" href="/dashboard/static/favicon.svg"' in login.text
