"""The dashboard's schedules page and a scheduled run's page, in headless Chromium
against a real facade and worker: cron in words, time zone, next runs, the last run
with its status, the active toggle, and the schedule on the run's page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Dialog, expect
from temporalio.client import Client

from durableruns.engine.workflows.schedule_tick import temporal_schedule_id
from durableruns.task_definitions import TaskRegistry
from tests.helpers import eventually, new_settings
from tests.helpers.browser import SCREENSHOTS, Dash, dashboard_stack, log_in
from tests.helpers.tasks import schedule_tasks

WAIT_MS = 15_000


@pytest.fixture(scope="module")
async def dash_and_prefix(client: Client) -> AsyncIterator[tuple[Dash, str]]:
    settings = new_settings()
    registry = TaskRegistry([schedule_tasks.sched_echo])
    prefix = settings.task_queue_prefix
    async with dashboard_stack(client, registry, settings) as dash:
        yield dash, prefix


async def test_the_schedules_page_and_a_scheduled_runs_page(
    browser: Browser, client: Client, dash_and_prefix: tuple[Dash, str]
) -> None:
    dash, prefix = dash_and_prefix
    created = await dash.api.post(
        "/api/v1/schedules",
        json={
            "task": "sched-echo",
            "cron": "*/15 * * * *",
            "timezone": "Europe/Paris",
            "externalId": "<b>user</b>",
        },
    )
    assert created.status_code == 200, created.text
    sid = created.json()["id"]
    await client.get_schedule_handle(temporal_schedule_id(prefix, sid)).trigger()

    async def runs() -> list[dict[str, Any]]:
        listed = await dash.api.get("/api/v1/runs", params={"filter[schedule]": sid})
        data: list[dict[str, Any]] = listed.json()["data"]
        return data

    [run] = await eventually(runs, lambda found: len(found) == 1)
    await dash.wait_status(run["id"], "COMPLETED")

    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    dialogs: list[str] = []

    async def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", record)
    await log_in(page, dash, "/dashboard/schedules")
    await expect(page.locator("h1")).to_have_text("Schedules")
    row = page.locator(f'tr[data-schedule-id="{sid}"]')
    await expect(row).to_contain_text("sched-echo")
    await expect(row.locator(".cron-words")).to_have_text("Every 15 minutes")
    await expect(row).to_contain_text("*/15 * * * *")
    await expect(row).to_contain_text("Europe/Paris")
    await expect(row).to_contain_text("<b>user</b>")  # shown as text, not markup
    await expect(row.locator(".next-runs li")).to_have_count(3)
    await expect(row.locator(".last-run a")).to_have_text(run["id"])
    await expect(row.locator(".last-run .status")).to_have_attribute("data-status", "COMPLETED")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "schedules-page.png", full_page=True)

    await row.locator("button.toggle").click()
    await expect(row).to_have_attribute("data-active", "false")
    await expect(row.locator(".next-runs")).to_have_text("paused")
    assert (await dash.api.get(f"/api/v1/schedules/{sid}")).json()["active"] is False
    await row.locator("button.toggle").click()
    await expect(row).to_have_attribute("data-active", "true")
    assert (await dash.api.get(f"/api/v1/schedules/{sid}")).json()["active"] is True

    await row.locator("a.schedule-runs").click()
    await page.wait_for_url(f"**/dashboard?schedule={sid}")
    await expect(page.locator(f'tr[data-run-id="{run["id"]}"]')).to_contain_text("sched-echo")
    await expect(page.locator("#runs-body tr")).to_have_count(1)
    await page.go_back()
    await row.locator(".last-run a").click()
    await page.wait_for_url(f"**/dashboard/runs/{run['id']}")
    schedule = page.locator("#details .run-schedule")
    await expect(schedule).to_contain_text(sid)
    await expect(schedule).to_contain_text("Every 15 minutes")
    await expect(page.locator("#payload")).to_contain_text(f'"scheduleId": "{sid}"')
    assert dialogs == []
    await context.close()
