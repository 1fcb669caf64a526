"""The dashboard's errors pages in headless Chromium against a real facade and worker:
the list (most occurrences first, a sparkline per group), a group's page with its runs,
resolving it from the page, and a regression bringing it back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect
from temporalio.client import Client

from durableruns.task_definitions import TaskRegistry
from tests.helpers import eventually, new_settings
from tests.helpers.browser import SCREENSHOTS, Dash, dashboard_stack, log_in
from tests.helpers.tasks import error_tasks

WAIT_MS = 15_000


@pytest.fixture(scope="module")
async def dash(client: Client) -> AsyncIterator[Dash]:
    settings = new_settings()
    registry = TaskRegistry([error_tasks.err_lookup, error_tasks.err_divide])
    async with dashboard_stack(client, registry, settings) as dash:
        yield dash


async def _groups(dash: Dash) -> list[dict[str, object]]:
    data: list[dict[str, object]] = (await dash.api.get("/api/v1/errors")).json()["data"]
    return data


async def test_the_errors_page_lists_groups_and_a_group_page_resolves_one(
    browser: Browser, dash: Dash
) -> None:
    failed = []
    for i in range(3):
        failed.append(await dash.trigger("err-lookup", {"user": f"u{i}", "tries": i}))
    failed.append(await dash.trigger("err-divide", None))
    for run_id in failed:
        await dash.wait_status(run_id, "FAILED")
    groups = await eventually(lambda: _groups(dash), lambda g: sum(x["count"] for x in g) == 4)  # type: ignore[misc]
    lookup = next(g for g in groups if g["taskIdentifier"] == "err-lookup")

    page = await browser.new_page()
    try:
        await log_in(page, dash, "/dashboard/errors")
        rows = page.locator("#errors-body tr")
        await expect(rows).to_have_count(2, timeout=WAIT_MS)
        first = rows.nth(0)  # most occurrences first
        await expect(first).to_have_attribute("data-error-id", str(lookup["id"]))
        await expect(first.locator("td.count")).to_have_text("3")
        await expect(first.locator(".sparkline rect")).to_have_count(1)
        await expect(first.locator(".error-message")).to_have_text(
            "user <str> not found after <n> tries"
        )
        await page.screenshot(path=str(SCREENSHOTS / "errors.png"), full_page=True)

        await first.locator("a.error-link").click()
        await page.wait_for_url(f"**/dashboard/errors/{lookup['id']}")
        await expect(page.locator("#error-runs tr")).to_have_count(3, timeout=WAIT_MS)
        await expect(page.locator("#error-status")).to_have_text("unresolved")
        await page.locator("button[data-action=resolve]").click()
        await expect(page.locator("#error-status")).to_have_text("resolved", timeout=WAIT_MS)
        await page.screenshot(path=str(SCREENSHOTS / "error-group.png"), full_page=True)

        await dash.wait_status(
            await dash.trigger("err-lookup", {"user": "again", "tries": 9}), "FAILED"
        )
        await expect(page.locator("#error-status")).to_have_text("unresolved", timeout=WAIT_MS)
        await expect(page.locator("#error-count")).to_have_text("4", timeout=WAIT_MS)

        await page.goto(dash.url + "/dashboard/errors/not-a-group")
        await expect(page.locator("body")).to_contain_text("There is no error group")
    finally:
        await page.close()
