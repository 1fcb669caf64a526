"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) render the facade's OpenAPI 3.1 schema in
headless Chromium with every request kept on the facade (no CDN): the operations are
listed, not merely answered with 200."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, Route, expect

from durableruns.api import create_app
from tests.helpers import new_settings
from tests.helpers.browser import SCREENSHOTS, chromium, serving

WAIT_MS = 30_000
TRIGGER_PATH = "/api/v1/tasks/{task_id}/trigger"


@pytest.fixture(scope="module")
async def docs_url() -> AsyncIterator[str]:
    # The docs need no Temporal: the app is served without its lifespan or a client.
    async with serving(create_app(new_settings())) as url:
        yield url


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as opened:
        yield opened


async def _offline_page(browser: Browser, base_url: str, outside: list[str]) -> Page:
    """A page whose requests to anywhere but the facade are recorded and refused."""
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)

    async def gate(route: Route) -> None:
        if route.request.url.startswith(base_url):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", gate)
    return page


async def test_swagger_ui_lists_the_operations_of_the_31_schema(
    browser: Browser, docs_url: str
) -> None:
    outside: list[str] = []
    page = await _offline_page(browser, docs_url, outside)
    await page.goto(f"{docs_url}/docs")
    trigger = page.locator(".opblock-summary-path", has_text=TRIGGER_PATH)
    await expect(trigger.first).to_be_visible(timeout=WAIT_MS)
    assert await page.locator(".opblock").count() > 20
    await expect(page.locator("body")).not_to_contain_text("Unable to render", timeout=WAIT_MS)
    await expect(page.locator("h1").first).to_contain_text("OAS 3.1", timeout=WAIT_MS)
    await page.screenshot(path=SCREENSHOTS / "api-docs-swagger.png")
    assert outside == []
    await page.context.close()


async def test_redoc_lists_the_operations(browser: Browser, docs_url: str) -> None:
    outside: list[str] = []
    page = await _offline_page(browser, docs_url, outside)
    await page.goto(f"{docs_url}/redoc")
    await expect(page.locator("h1").first).to_contain_text("durableruns", timeout=WAIT_MS)
    # ReDoc renders one section per operation; the trigger operation is among them.
    operations = page.locator('[data-section-id*="/operation/"]')
    await expect(operations.first).to_be_visible(timeout=WAIT_MS)
    assert await operations.count() > 20
    await expect(page.locator("body")).to_contain_text(TRIGGER_PATH, timeout=WAIT_MS)
    await page.screenshot(path=SCREENSHOTS / "api-docs-redoc.png")
    assert outside == []
    await page.context.close()
