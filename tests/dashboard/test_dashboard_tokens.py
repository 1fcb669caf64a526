"""The dashboard's wait tokens, in headless Chromium against a real facade and worker:
a waiting run's page shows its token and completes it from a JSON form; the tokens
page lists tokens, filtered by status and tag."""

from __future__ import annotations

import uuid
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


@pytest.fixture(scope="module")
async def browser(dash: Dash) -> AsyncIterator[Browser]:
    async with chromium() as opened:
        yield opened


async def test_a_waiting_runs_page_completes_its_token_with_json(
    browser: Browser, dash: Dash
) -> None:
    run_id = await dash.trigger("wait-for-approval", {})
    run = await eventually(
        lambda: dash.retrieve(run_id),
        lambda r: r["status"] == "WAITING" and (r.get("metadata") or {}).get("tokenId"),
    )
    token_id = run["metadata"]["tokenId"]
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await log_in(page, dash, f"/dashboard/runs/{run_id}")
    card = page.locator("#token-card")
    await expect(card).to_be_visible()
    await expect(card.locator(f'[data-token="{token_id}"]')).to_contain_text(token_id)
    await expect(card.locator(".status")).to_have_attribute("data-status", "WAITING")
    await expect(card).to_contain_text("approval")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "run-waiting-on-token.png", full_page=True)
    await card.locator("textarea").fill("{not json")
    await card.locator("button[type=submit]").click()
    await expect(card.locator(".message.error")).to_contain_text("Not valid JSON")
    await card.locator("textarea").fill('{"approved": true}')
    await card.locator("button[type=submit]").click()
    await expect(page.locator("#run-status .status")).to_have_attribute("data-status", "COMPLETED")
    await expect(page.locator("#output")).to_contain_text('"approved": true')
    await expect(card).to_be_hidden()
    await context.close()


async def test_the_tokens_page_lists_and_filters_tokens(browser: Browser, dash: Dash) -> None:
    tag = f"dash-{uuid.uuid4().hex[:8]}"
    made = []
    for _ in range(2):
        response = await dash.api.post("/api/v1/waitpoints/tokens", json={"tags": [tag]})
        made.append(response.json()["id"])
    await dash.api.post(f"/api/v1/waitpoints/tokens/{made[0]}/complete", json={"data": 1})
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await log_in(page, dash, f"/dashboard/tokens?tag={tag}")
    await expect(page.locator("#tokens-body tr")).to_have_count(2)
    await expect(page.locator(f'tr[data-token="{made[0]}"] .status')).to_have_attribute(
        "data-status", "COMPLETED"
    )
    await page.select_option("#token-filters select[name=status]", "WAITING")
    await expect(page.locator("#tokens-body tr")).to_have_count(1)
    await expect(page.locator(f'tr[data-token="{made[1]}"]')).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "tokens-page.png", full_page=True)
    await context.close()
