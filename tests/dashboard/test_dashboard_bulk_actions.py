"""Bulk actions and rerun-from-step in the dashboard (issue 23), checked by what headless
Chromium shows: runs selected on the runs page (or all matching its filter) replayed or
canceled through ``POST /api/v1/bulk-actions``, the bulk action's page following it to
COMPLETED with its counts, its Abort button while it runs, and a finished run's
"Rerun from here" opening the new run, which says where it came from."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.client import Client

from durableruns.api import create_app
from durableruns.bulk_models import MAX_RUN_IDS
from durableruns.task_definitions import TaskRegistry
from durableruns.worker.assembly import running_worker
from tests.helpers import SECRET_KEY, eventually, new_settings
from tests.helpers.browser import Dash, dashboard_stack, log_in, row, serving
from tests.helpers.stack import TEST_SHORT_WAIT_S

WAIT_MS = 30_000
MODULES = [
    "activities",
    "workflows",
    "tests.helpers.tasks.support_tasks",
    "tests.helpers.tasks.suspension_tasks",
]
BULK_PAGE = re.compile(r"/dashboard/bulk-actions/bulk_\w+$")


@pytest.fixture(scope="module")
async def dash(client: Client) -> AsyncIterator[Dash]:
    settings = new_settings()
    registry = TaskRegistry.from_modules(MODULES)
    async with dashboard_stack(client, registry, settings, short_wait_s=TEST_SHORT_WAIT_S) as dash:
        yield dash


@pytest.fixture(autouse=True, scope="module")
def patient_expect() -> Iterator[None]:
    """Assertions wait as long as a loaded machine needs (Playwright's default is 5 s)."""
    expect.set_options(timeout=WAIT_MS)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture
async def page(browser: Browser, dash: Dash) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    opened = await context.new_page()
    opened.set_default_timeout(WAIT_MS)
    await log_in(opened, dash, "/dashboard")
    yield opened
    await context.close()


async def _listed(dash: Dash, tag: str, count: int) -> None:
    """Wait until the list (visibility) shows ``count`` finished-or-not runs tagged ``tag``."""

    async def runs() -> list[object]:
        body = (await dash.api.get("/api/v1/runs", params={"filter[tag]": tag})).json()
        data: list[object] = body["data"]
        return data

    await eventually(runs, lambda rs: len(rs) == count, timeout=30)


async def test_two_failed_runs_selected_and_replayed(page: Page, dash: Dash) -> None:
    tag = f"dash-bulk-{uuid.uuid4().hex[:8]}"
    failed = [await dash.trigger("fails-fast", {"n": n}, tags=[tag]) for n in range(3)]
    for run_id in failed:
        await dash.wait_status(run_id, "FAILED")
    await _listed(dash, tag, 3)

    await page.goto(f"{dash.url}/dashboard?tag={tag}")
    for run_id in failed:
        await expect(row(page, run_id)).to_be_visible()
    await expect(page.locator("#bulk-replay")).to_be_disabled()
    chosen = failed[:2]
    for run_id in chosen:
        await row(page, run_id).locator("input.select-run").check()
    assert page.url.endswith(f"?tag={tag}")  # a checkbox does not open the run
    await expect(page.locator("#bulk-count")).to_have_text("2 runs selected")
    await page.click("#bulk-replay")
    await expect(page.locator("#bulk-confirm-text")).to_have_text("Replay the 2 selected runs?")
    await page.click("#bulk-yes")
    await page.wait_for_url(BULK_PAGE)

    await expect(page.locator("#bulk-status-text")).to_have_text("COMPLETED")
    await expect(page.locator("#bulk-type")).to_have_text("Replay")
    await expect(page.locator("#count-total")).to_have_text("2")
    await expect(page.locator("#count-success")).to_have_text("2")
    await expect(page.locator("#count-failure")).to_have_text("0")
    await expect(page.locator("#abort-form")).to_be_hidden()
    replays = page.locator("#bulk-runs tr")
    await expect(replays).to_have_count(2)
    replay_ids = await replays.evaluate_all("rows => rows.map(r => r.dataset.runId)")
    sources = [(await dash.retrieve(r))["replayedFrom"] for r in replay_ids]
    assert sorted(sources) == sorted(chosen)

    action_id = page.url.rsplit("/", 1)[1]
    await page.click("nav.topnav >> text=Bulk actions")
    listed = page.locator(f'tr[data-bulk-id="{action_id}"]')
    await expect(listed).to_be_visible()
    await expect(listed.locator("td.success")).to_have_text("2")
    await expect(listed.locator(".status")).to_have_text("Completed")


async def test_all_runs_matching_the_filter_canceled(page: Page, dash: Dash) -> None:
    tag = f"dash-cancel-{uuid.uuid4().hex[:8]}"
    sleepers = [await dash.trigger("sleepy", {"seconds": 120}, tags=[tag]) for _ in range(3)]
    await _listed(dash, tag, 3)

    await page.goto(f"{dash.url}/dashboard")
    await page.click("#bulk-cancel-all")  # no filter: refused before anything is sent
    await expect(page.locator("#bulk-message")).to_contain_text("Set at least one filter")
    await page.goto(f"{dash.url}/dashboard?tag={tag}")
    for run_id in sleepers:
        await expect(row(page, run_id)).to_be_visible()
    await page.click("#bulk-cancel-all")
    await expect(page.locator("#bulk-confirm-text")).to_contain_text(
        "Cancel every run matching these filters"
    )
    await page.click("#bulk-yes")
    await page.wait_for_url(BULK_PAGE)

    await expect(page.locator("#bulk-status-text")).to_have_text("COMPLETED")
    await expect(page.locator("#bulk-type")).to_have_text("Cancel")
    await expect(page.locator("#count-total")).to_have_text("3")
    await expect(page.locator("#count-success")).to_have_text("3")
    await expect(page.locator("#count-failure")).to_have_text("0")
    for run_id in sleepers:
        assert (await dash.wait_status(run_id, "CANCELED"))["tags"] == [tag]


async def test_a_running_bulk_action_aborted_from_its_page(
    page: Page, dash: Dash, client: Client
) -> None:
    # A facade of its own, whose worker starts only after the click: the action is
    # surely still PENDING when Abort is pressed, however loaded the machine is.
    settings = new_settings()
    ids = [f"run_{n:026d}" for n in range(MAX_RUN_IDS)]  # unknown runs: each a failure
    async with (
        serving(create_app(settings, client=client)) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {SECRET_KEY}"}) as api,
    ):
        body = {"action": "cancel", "runIds": ids}
        response = await api.post("/api/v1/bulk-actions", json=body)
        assert response.status_code == 200, response.text
        action_id = response.json()["id"]

        await page.goto(f"{url}/dashboard/bulk-actions/{action_id}")  # same session cookie
        await expect(page.locator("#bulk-status-text")).to_have_text("PENDING")
        await expect(page.locator("#bulk-status .status")).to_have_text("In progress")
        await page.click("#abort")
        await expect(page.locator("#outcome")).to_contain_text("Abort requested")
        async with running_worker(
            client,
            TaskRegistry.from_modules(MODULES),
            task_queue_prefix=settings.task_queue_prefix,
            version="20261128.1",
        ):
            await expect(page.locator("#bulk-status-text")).to_have_text("ABORTED")
            await expect(page.locator("#abort-form")).to_be_hidden()
            await expect(page.locator("#count-total")).to_have_text(str(MAX_RUN_IDS))
            done = int(await page.locator("#count-failure").inner_text())
            assert int(await page.locator("#count-success").inner_text()) == 0
            assert done < MAX_RUN_IDS, done

    await page.goto(f"{dash.url}/dashboard/bulk-actions/bulk_nope")
    await expect(page.locator("h1")).to_have_text("Not found")


async def test_rerun_from_a_step_opens_the_new_run(page: Page, dash: Dash, tmp_path: Path) -> None:
    counter = tmp_path / "counts"
    source = await dash.trigger("checkout", {"counter": str(counter), "seconds": 0.6})
    await dash.wait_status(source, "COMPLETED")

    await page.goto(f"{dash.url}/dashboard/runs/{source}")
    steps = page.locator("#steps form.rerun-step")
    await expect(steps).to_have_count(2)
    await expect(steps.locator(".step-call")).to_have_text(
        ["step.run('charge-card')", "step.run('send-receipt')"]
    )
    receipt = page.locator('#steps form.rerun-step[data-position="2"]')
    await receipt.locator("button.rerun-here").click()
    await page.wait_for_url(lambda url: "/dashboard/runs/run_" in url and source not in url)

    rerun_id = page.url.rsplit("/", 1)[1]
    await expect(page.locator("#outcome")).to_contain_text(
        f"Rerun of {source} from step #2 step.run('send-receipt') started"
    )
    await expect(page.locator("#details .rerun-from")).to_have_text(f"#2 of {source}")
    await expect(page.locator("#run-status")).to_have_text("Completed")
    rerun = await dash.retrieve(rerun_id)
    assert rerun["replayedFrom"] == source and rerun["replayedFromStep"] == 2
    counts = Counter(counter.read_text().split())
    assert counts["charge"] == 1 and counts["receipt"] == 2, counts  # the cut: live after it
