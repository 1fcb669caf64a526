"""The runs list's newcomer filters, in headless Chromium and over HTTP: the task filter
matches part of a task id, "Root runs only" hides child runs (``filter[rootOnly]``, a
durableruns extension), and a Parent column links a child to its parent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect
from temporalio.client import Client

from durableruns.task_definitions import TaskRegistry
from tests.helpers import eventually, new_settings
from tests.helpers.browser import Dash, dashboard_stack, log_in, row

WAIT_MS = 20_000


@pytest.fixture(scope="module")
async def dash(client: Client) -> AsyncIterator[Dash]:
    settings = new_settings()
    registry = TaskRegistry.from_modules(["workflows", "activities"])
    async with dashboard_stack(client, registry, settings) as dash:
        yield dash


@pytest.fixture(scope="module")
async def family(dash: Dash) -> tuple[str, str]:
    """A parent-waits run and its one hello-world child, both finished and listed."""
    parent = await dash.trigger("parent-waits", {"names": ["Kid"]})
    await dash.wait_status(parent, "COMPLETED")

    async def listed() -> list[dict[str, object]]:
        page = (await dash.api.get("/api/v1/runs", params={"page[size]": "100"})).json()
        data: list[dict[str, object]] = page["data"]
        return data

    runs = await eventually(listed, lambda rs: any(r.get("parentRunId") == parent for r in rs))
    child = next(r["id"] for r in runs if r.get("parentRunId") == parent)
    return parent, str(child)


async def test_root_only_over_http(dash: Dash, family: tuple[str, str]) -> None:
    parent, child = family
    everything = (await dash.api.get("/api/v1/runs")).json()["data"]
    roots = (await dash.api.get("/api/v1/runs", params={"filter[rootOnly]": "true"})).json()
    ids = [r["id"] for r in roots["data"]]
    assert parent in ids and child not in ids
    assert child in [r["id"] for r in everything]
    assert all("parentRunId" not in r for r in roots["data"])
    bad = await dash.api.get("/api/v1/runs", params={"filter[rootOnly]": "maybe"})
    assert bad.status_code == 400 and "filter[rootOnly]" in bad.json()["error"]


async def test_the_runs_page_filters_by_part_of_a_task_id_and_root_runs(
    browser: Browser, dash: Dash, family: tuple[str, str]
) -> None:
    parent, child = family
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await log_in(page, dash, "/dashboard")
    await expect(row(page, child)).to_be_visible(timeout=WAIT_MS)
    await expect(row(page, child).locator(".parent a")).to_have_text(parent, timeout=WAIT_MS)
    await expect(row(page, parent).locator(".parent")).to_have_text("—", timeout=WAIT_MS)

    await page.fill("input[name=task]", "parent-wa")  # part of "parent-waits"
    await expect(row(page, child)).to_have_count(0, timeout=WAIT_MS)
    await expect(row(page, parent)).to_be_visible(timeout=WAIT_MS)

    await page.fill("input[name=task]", "")
    await expect(row(page, child)).to_be_visible(timeout=WAIT_MS)
    await page.check("input[name=root]")
    await expect(row(page, child)).to_have_count(0, timeout=WAIT_MS)
    await expect(row(page, parent)).to_be_visible(timeout=WAIT_MS)
    assert "root=1" in page.url
    await context.close()
