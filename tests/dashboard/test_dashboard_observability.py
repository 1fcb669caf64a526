"""The run page's observability in headless Chromium: the waterfall (from the run's own
history, ``GET /api/v1/runs/{id}/timeline``), the waiting reason, log lines inline.

Screenshots: ``artifacts/screenshots/run-page-waterfall.png`` and
``run-page-waiting.png``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from temporalio.client import Client

from durableruns.task_definitions import TaskRegistry
from tests.helpers import eventually, new_settings
from tests.helpers.browser import SCREENSHOTS, Dash, dashboard_stack, log_in

WAIT_MS = 15_000


@pytest.fixture(scope="module")
async def dash(client: Client) -> AsyncIterator[Dash]:
    """A facade on a socket and a worker of the observability tasks."""
    settings = new_settings()
    registry = TaskRegistry.from_modules(["tests.helpers.tasks.observability_tasks"])
    async with dashboard_stack(client, registry, settings, short_wait_s=0.5) as dash:
        yield dash


async def _final(dash: Dash, run_id: str) -> dict[str, Any]:
    return await eventually(lambda: dash.retrieve(run_id), lambda r: r["isCompleted"], 30)


async def test_the_timeline_api_is_the_runs_tree(dash: Dash) -> None:
    api = dash
    run_id = await api.trigger("obs-parent", {"seconds": 0.6})
    assert (await _final(api, run_id))["status"] == "COMPLETED"
    response = await api.api.get(f"/api/v1/runs/{run_id}/timeline")
    assert response.status_code == 200, response.text
    spans = response.json()["data"]
    by_id = {s["id"]: s for s in spans}
    kinds = [s["kind"] for s in spans]
    assert kinds.count("execution") == 3 and kinds.count("wait") == 2
    run = next(s for s in spans if s["kind"] == "run")
    attempt = next(s for s in spans if s["kind"] == "attempt")
    assert attempt["parent"] == run["id"] and attempt["status"] == "COMPLETED"
    executions = [s for s in spans if s["kind"] == "execution"]
    assert [e["name"] for e in executions] == ["execution", "continuation 1", "continuation 2"]
    assert [e["status"] for e in executions] == ["SUSPENDED", "SUSPENDED", "COMPLETED"]
    timer = next(s for s in spans if s["kind"] == "timer")
    assert by_id[timer["parent"]]["name"] == "wait.for / wait.until"
    # wait.for_ fixes its deadline when the task calls it, so the timer itself is shorter by the
    # time the suspension took to reach the workflow (over 0.1 s on a loaded machine); the span
    # from the first execution's start to the timer's end holds the whole 0.6 s.
    elapsed = datetime.fromisoformat(timer["end"]) - datetime.fromisoformat(timer["start"])
    assert elapsed.total_seconds() > 0
    waited = datetime.fromisoformat(timer["end"]) - datetime.fromisoformat(executions[0]["start"])
    assert waited.total_seconds() >= 0.59
    child = next(s for s in spans if s["kind"] == "child")
    assert by_id[child["parent"]]["name"] == "trigger_and_wait (1 run)"
    assert child["name"] == "run obs-child" and child["status"] == "COMPLETED"
    assert child["runId"].startswith("run_")
    step = next(s for s in spans if s["kind"] == "step")
    assert "fetch" in step["name"] and by_id[step["parent"]]["name"] == "execution"
    assert all(datetime.fromisoformat(s["start"]).tzinfo == UTC for s in spans)


async def test_the_run_page_shows_the_waterfall_and_logs(browser: Browser, dash: Dash) -> None:
    api = dash
    run_id = await api.trigger("obs-parent", {"seconds": 0.6})
    await _final(api, run_id)
    context = await browser.new_context(viewport={"width": 1360, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await log_in(page, api, f"/dashboard/runs/{run_id}")
    waterfall = page.locator("#waterfall")
    await expect(waterfall.locator(".wf-row.wf-execution")).to_have_count(3)
    await expect(waterfall.locator(".wf-row.wf-wait")).to_have_count(2)
    await expect(waterfall.locator(".wf-row.wf-child a")).to_have_text("run obs-child")
    await expect(waterfall.locator(".wf-row.wf-step")).to_have_count(1)
    await expect(waterfall.locator(".wf-row.wf-attempt .wf-status")).to_have_text("completed")
    await expect(page.locator("#waiting-reason")).to_be_hidden()
    await expect(page.locator("#logs-card")).to_be_visible()
    lines = page.locator("#logs .log-line")
    await expect(lines).to_have_count(2)  # once each, though the code ran three times
    # Markup in a message is shown as text, never parsed.
    await expect(lines.first.locator(".log-message")).to_have_text("charging <b>card</b>")
    await expect(lines.nth(1)).to_have_attribute("data-level", "WARN")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "run-page-waterfall.png", full_page=True)
    await context.close()


async def test_a_waiting_run_says_why_and_draws_its_open_wait(browser: Browser, dash: Dash) -> None:
    api = dash
    run_id = await api.trigger("obs-parent", {"seconds": 60})
    await eventually(
        lambda: api.retrieve(run_id),
        lambda r: (r.get("waitingReason") or {}).get("code") == "TIMER",
    )
    context = await browser.new_context(viewport={"width": 1360, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await log_in(page, api, f"/dashboard/runs/{run_id}")
    reason = page.locator("#waiting-reason")
    await expect(reason).to_be_visible()
    await expect(reason).to_have_attribute("data-code", "TIMER")
    await expect(reason.locator(".waiting-message")).to_contain_text("A timer until")
    await expect(page.locator("#waterfall .wf-row.wf-wait.wf-open")).to_have_count(1)
    await page.screenshot(path=SCREENSHOTS / "run-page-waiting.png", full_page=True)
    await context.close()
    await api.api.post(f"/api/v2/runs/{run_id}/cancel")


async def test_a_token_wait_is_named_and_a_canceled_runs_spans_end(
    browser: Browser, dash: Dash
) -> None:
    api = dash
    run_id = await api.trigger("obs-waits-for-token", {"timeout": "2h"})
    run = await eventually(
        lambda: api.retrieve(run_id),
        lambda r: (r.get("waitingReason") or {}).get("code") == "TOKEN",
    )
    token_id = run["metadata"]["tokenId"]
    context = await browser.new_context(viewport={"width": 1360, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await log_in(page, api, f"/dashboard/runs/{run_id}")
    reason = page.locator("#waiting-reason")
    await expect(reason).to_have_attribute("data-code", "TOKEN", timeout=WAIT_MS)
    await expect(reason.locator(".waiting-message")).to_contain_text(
        f"Waiting for token {token_id}"
    )
    await expect(reason).to_contain_text("Times out: ", timeout=WAIT_MS)
    await expect(reason).to_contain_text(
        re.compile(r"Times out: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
    )
    wait_row = page.locator("#waterfall .wf-row.wf-wait")
    await expect(wait_row.locator(f'a[data-token="{token_id}"]')).to_have_text(
        f"wait.for_token ({token_id})"
    )
    await expect(page.locator("#attempts [data-attempt='1'] .status")).to_have_text(
        "Suspended", timeout=WAIT_MS
    )
    await page.screenshot(path=SCREENSHOTS / "run-page-token-wait.png", full_page=True)

    assert (await api.api.post(f"/api/v2/runs/{run_id}/cancel")).status_code == 200
    final = await _final(api, run_id)
    assert final["status"] == "CANCELED"
    spans = (await api.api.get(f"/api/v1/runs/{run_id}/timeline")).json()["data"]
    end = datetime.fromisoformat(final["finishedAt"])
    assert all(s["end"] is not None for s in spans), spans
    assert all(datetime.fromisoformat(s["end"]) <= end + timedelta(seconds=1) for s in spans)
    wait = next(s for s in spans if s["kind"] == "wait")
    assert wait["status"] == "CANCELED" and wait["tokenId"] == token_id

    await page.reload()
    await expect(page.locator("#run-status .status")).to_have_attribute(
        "data-status", "CANCELED", timeout=WAIT_MS
    )
    await expect(page.locator("#waterfall .wf-row.wf-wait")).to_have_count(1, timeout=WAIT_MS)
    await expect(page.locator("#waterfall .wf-open")).to_have_count(0, timeout=WAIT_MS)
    durations = page.locator("#waterfall .wf-row:not(.wf-head) .wf-duration")
    before = await durations.all_inner_texts()
    await page.wait_for_timeout(2500)
    await page.reload()
    await expect(page.locator("#waterfall .wf-row.wf-wait")).to_have_count(1, timeout=WAIT_MS)
    assert await durations.all_inner_texts() == before  # nothing grows after the end
    await context.close()


async def test_the_error_card_shows_the_tasks_frames_first(browser: Browser, dash: Dash) -> None:
    run_id = await dash.trigger("obs-fails", {})
    final = await _final(dash, run_id)
    assert final["status"] == "FAILED"
    context = await browser.new_context(viewport={"width": 1360, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await log_in(page, dash, f"/dashboard/runs/{run_id}")
    card = page.locator("#error-card")
    await expect(card).to_be_visible(timeout=WAIT_MS)
    own = card.locator(".user-frames")
    await expect(own).to_contain_text("observability_tasks.py", timeout=WAIT_MS)
    await expect(own).to_contain_text('raise ValueError("boom")', timeout=WAIT_MS)
    assert "site-packages" not in await own.inner_text()
    assert "/durableruns/worker/" not in await own.inner_text()
    await expect(card.locator(".full-stack summary")).to_contain_text(
        "library and engine frame", timeout=WAIT_MS
    )
    details = page.locator("#details")
    await expect(details).to_contain_text("Wall time", timeout=WAIT_MS)
    await expect(details).to_contain_text("Compute time", timeout=WAIT_MS)
    await context.close()
