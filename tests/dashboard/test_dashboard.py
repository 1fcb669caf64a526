"""The dashboard: its session and CSRF rules over HTTP, then the pages in headless
Chromium against a real facade and worker (one browser for the module).

Runs carry a unique tag per test, and the list is filtered by it, so other tests' runs
never get in the way; list assertions wait (Playwright's ``expect``) because the list
comes from Temporal visibility.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Dialog, expect
from temporalio.client import Client

from durableruns.api import session
from durableruns.dashboard.routes import safe_next
from durableruns.status import RunStatus
from durableruns.task_definitions import TaskRegistry
from tests.helpers import SECRET_KEY, eventually, new_settings
from tests.helpers.browser import (
    SCREENSHOTS,
    Dash,
    Tab,
    chromium,
    dashboard_stack,
    log_in,
    row,
)

TEMPORAL_UI = "http://temporal-ui.example:8233"
XSS = "<img src=x onerror=alert(1)>"
STATIC = Path(__file__).resolve().parents[2] / "src" / "durableruns" / "dashboard" / "static"
UNKNOWN_RUN = "run_0000000000aaaaaaaaaaaaaaaa"
WAIT_MS = 15_000


@pytest.fixture(scope="module")
async def dash(client: Client) -> AsyncIterator[Dash]:
    settings = new_settings(temporal_ui_url=TEMPORAL_UI + "/")
    registry = TaskRegistry.from_modules(["activities"])
    async with dashboard_stack(client, registry, settings) as dash:
        yield dash


@pytest.fixture
def tag() -> str:
    return f"dash-{uuid.uuid4().hex[:10]}"


# --- sessions and CSRF, over plain HTTP ---------------------------------------------
async def login_cookie(dash: Dash) -> str:
    async with httpx.AsyncClient(base_url=dash.url) as anonymous:
        response = await anonymous.post("/dashboard/login", data={"secret_key": SECRET_KEY})
    assert response.status_code == 303, response.text
    return response.cookies[session.COOKIE_NAME]


def test_a_session_token_is_signed_expires_and_never_contains_the_key() -> None:
    token = session.issue_token(SECRET_KEY, now=1_000_000)
    assert SECRET_KEY not in token
    assert session.token_is_valid(token, SECRET_KEY, now=1_000_000 + 60)
    assert not session.token_is_valid(token, "tr_dev_another_key", now=1_000_000 + 60)
    assert not session.token_is_valid(token, SECRET_KEY, now=1_000_001 + session.SESSION_TTL_S)
    issued, nonce, signature = token.split(".")
    assert not session.token_is_valid(f"{int(issued) + 1}.{nonce}.{signature}", SECRET_KEY)
    assert not session.token_is_valid("garbage", SECRET_KEY)
    assert not session.token_is_valid(session.issue_token(""), "")


async def test_login_sets_an_http_only_same_site_strict_cookie(dash: Dash) -> None:
    async with httpx.AsyncClient(base_url=dash.url) as anonymous:
        response = await anonymous.post(
            "/dashboard/login", data={"secret_key": SECRET_KEY, "next": "/dashboard?tag=a"}
        )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard?tag=a"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{session.COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert SECRET_KEY not in cookie


async def test_a_wrong_key_shows_the_login_again_without_echoing_it(dash: Dash) -> None:
    async with httpx.AsyncClient(base_url=dash.url) as anonymous:
        response = await anonymous.post("/dashboard/login", data={"secret_key": "tr_dev_wrong"})
    assert response.status_code == 401
    assert "not this environment&#x27;s secret key" in response.text
    assert "tr_dev_wrong" not in response.text
    assert session.COOKIE_NAME not in response.headers.get("set-cookie", "")


async def test_the_api_accepts_the_session_cookie_for_reads(dash: Dash) -> None:
    cookie = await login_cookie(dash)
    async with httpx.AsyncClient(base_url=dash.url) as browser:
        anonymous = await browser.get("/api/v1/runs")
        with_session = await browser.get(
            "/api/v1/runs", headers={"cookie": f"{session.COOKIE_NAME}={cookie}"}
        )
    assert anonymous.status_code == 401
    assert with_session.status_code == 200, with_session.text


async def test_a_cookie_authenticated_write_needs_the_csrf_header_and_same_origin(
    dash: Dash,
) -> None:
    run_id = await dash.trigger("sleepy", {"seconds": 30})
    cookie = {"cookie": f"{session.COOKIE_NAME}={await login_cookie(dash)}"}
    csrf = {session.CSRF_HEADER: session.CSRF_VALUE}
    cancel = f"/api/v2/runs/{run_id}/cancel"
    async with httpx.AsyncClient(base_url=dash.url) as browser:
        forged = await browser.post(cancel, headers=cookie)
        foreign = await browser.post(
            cancel, headers={**cookie, **csrf, "origin": "https://evil.example"}
        )
        cross_site = await browser.post(
            cancel, headers={**cookie, **csrf, "sec-fetch-site": "cross-site"}
        )
        assert (forged.status_code, foreign.status_code, cross_site.status_code) == (403,) * 3
        assert (await dash.retrieve(run_id))["status"] != "CANCELED"
        allowed = await browser.post(cancel, headers={**cookie, **csrf, "origin": dash.url})
    assert allowed.status_code == 200, allowed.text
    # The run ends CANCELED once its code has stopped (EXECUTING meanwhile).
    await eventually(lambda: dash.retrieve(run_id), lambda r: r["status"] == "CANCELED")


async def test_pages_without_a_session_redirect_to_the_login(dash: Dash) -> None:
    async with httpx.AsyncClient(base_url=dash.url) as anonymous:
        root = await anonymous.get("/")
        page = await anonymous.get(f"/dashboard/runs/{UNKNOWN_RUN}")
        login = await anonymous.get(page.headers["location"])
    assert (root.status_code, root.headers["location"]) == (307, "/dashboard")
    assert page.status_code == 303
    assert page.headers["location"] == f"/dashboard/login?next=%2Fdashboard%2Fruns%2F{UNKNOWN_RUN}"
    assert login.status_code == 200
    assert 'name="secret_key"' in login.text


async def test_unknown_dashboard_pages_and_malformed_run_ids_are_not_found(dash: Dash) -> None:
    cookie = {"cookie": f"{session.COOKIE_NAME}={await login_cookie(dash)}"}
    async with httpx.AsyncClient(base_url=dash.url, headers=cookie) as browser:
        page = await browser.get("/dashboard/nowhere")
        run = await browser.get("/dashboard/runs/<script>")
    assert (page.status_code, run.status_code) == (404, 404)
    assert "There is no such page" in page.text
    assert "&#x27;&lt;script&gt;&#x27;" in run.text and "<script>" not in run.text


async def test_pages_carry_a_strict_content_security_policy(dash: Dash) -> None:
    async with httpx.AsyncClient(base_url=dash.url) as anonymous:
        response = await anonymous.get("/dashboard/login")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/dashboard/runs/run_x?a=1", "/dashboard/runs/run_x?a=1"),
        ("https://evil.example/dashboard", "/dashboard"),
        ("//evil.example/dashboard", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
        ("/api/v1/runs", "/dashboard"),
        ("/dashboard/login", "/dashboard"),
        ("/dashboardx", "/dashboard"),
    ],
)
def test_the_login_redirects_only_to_dashboard_pages(target: str, expected: str) -> None:
    assert safe_next(target) == expected


async def test_static_files_are_served_by_bare_name_only(dash: Dash) -> None:
    async with httpx.AsyncClient(base_url=dash.url) as anonymous:
        script = await anonymous.get("/dashboard/static/main.js")
        traversal = await anonymous.get("/dashboard/static/..%2Fsession.py")
        missing = await anonymous.get("/dashboard/static/nope.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404
    assert traversal.status_code in (303, 404)  # never the file; the login, without a session


def test_the_dashboard_knows_every_run_status() -> None:
    listed = re.findall(r'name: "([A-Z_]+)"', (STATIC / "status.js").read_text())
    assert listed == [status.value for status in RunStatus]


def test_no_script_writes_markup() -> None:
    for script in STATIC.glob("*.js"):
        text = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{script.name} uses {sink}"


# --- in the browser ------------------------------------------------------------------
@pytest.fixture(scope="module")
async def browser(dash: Dash) -> AsyncIterator[Browser]:
    async with chromium() as opened:
        yield opened


@pytest.fixture(scope="module")
async def session_context(browser: Browser, dash: Dash) -> AsyncIterator[BrowserContext]:
    """A browser context logged in once, shared by the tests that need a session."""
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    await log_in(page, dash)
    yield context
    # The module's runs, in all the states its tests left them in.
    await page.goto(f"{dash.url}/dashboard")
    await expect(page.locator("#runs-body tr, #empty").first).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "runs-page.png", full_page=True)
    await context.close()


@pytest.fixture
async def tab(session_context: BrowserContext) -> AsyncIterator[Tab]:
    """A fresh page in the logged-in context that records any dialog it opens."""
    page = await session_context.new_page()
    page.set_default_timeout(WAIT_MS)
    dialogs: list[str] = []

    async def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", record)
    yield Tab(page, dialogs)
    await page.close()


async def test_logging_in_opens_the_runs_page(browser: Browser, dash: Dash) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await log_in(page, dash)
    await expect(page.locator("h1")).to_have_text("Runs")
    cookies = await context.cookies()
    assert [c["value"] for c in cookies if c["name"] == session.COOKIE_NAME]
    assert all(SECRET_KEY not in c["value"] for c in cookies)
    assert SECRET_KEY not in page.url and SECRET_KEY not in await page.content()
    await context.close()


async def test_without_a_session_the_login_shows_and_no_data(browser: Browser, dash: Dash) -> None:
    run_id = await dash.trigger("hello-world", {"name": "Secretive"})
    await dash.wait_status(run_id, "COMPLETED")
    context = await browser.new_context()
    page = await context.new_page()
    for path in ("/dashboard", f"/dashboard/runs/{run_id}"):
        await page.goto(dash.url + path)
        await expect(page.locator("#secret-key")).to_be_visible()
        assert "Secretive" not in await page.content()
        assert await page.locator("#runs-body, #run-view").count() == 0
    status = await page.evaluate("fetch('/api/v1/runs').then(r => r.status)")
    assert status == 401
    await context.close()


async def test_a_completed_run_is_listed_with_its_columns(tab: Tab, dash: Dash, tag: str) -> None:
    run_id = await dash.trigger("hello-world", {"name": "Ada"}, tags=[tag])
    await dash.wait_status(run_id, "COMPLETED")
    page = tab.page
    await page.goto(f"{dash.url}/dashboard?tag={tag}")
    listed = row(page, run_id)
    await expect(listed.locator(".status")).to_have_attribute("data-status", "COMPLETED")
    await expect(listed).to_contain_text("hello-world")
    await expect(listed).to_contain_text(tag)
    await expect(listed).to_contain_text("20261128.1")


async def test_the_list_filters_by_status(tab: Tab, dash: Dash, tag: str) -> None:
    done = await dash.trigger("hello-world", {"name": "Done"}, tags=[tag])
    busy = await dash.trigger("sleepy", {"seconds": 30}, tags=[tag])
    await dash.wait_status(done, "COMPLETED")
    page = tab.page
    await page.goto(f"{dash.url}/dashboard?tag={tag}")
    await expect(row(page, busy)).to_be_visible()
    await page.click(".status-filter summary")
    await page.check("input[name=status][value=COMPLETED]")
    await expect(row(page, busy)).to_have_count(0)
    await expect(row(page, done)).to_be_visible()
    assert "status=COMPLETED" in page.url
    await dash.api.post(f"/api/v2/runs/{busy}/cancel")


async def test_the_list_filters_by_task_and_creation_time(tab: Tab, dash: Dash, tag: str) -> None:
    hello = await dash.trigger("hello-world", {"name": "Task"}, tags=[tag])
    failing = await dash.trigger("always-fails", {}, tags=[tag])
    page = tab.page
    await page.goto(f"{dash.url}/dashboard?tag={tag}")
    await expect(row(page, failing)).to_be_visible()
    await page.fill("input[name=task]", "hello-world")
    await expect(row(page, failing)).to_have_count(0)
    await expect(row(page, hello)).to_be_visible()
    await page.fill("input[name=from]", "2099-01-01T00:00:00")
    await expect(page.locator("#empty")).to_be_visible()
    await expect(row(page, hello)).to_have_count(0)


async def test_the_list_pages_with_the_servers_cursors(tab: Tab, dash: Dash, tag: str) -> None:
    oldest, middle, newest = [
        await dash.trigger("hello-world", {"name": str(i)}, tags=[tag]) for i in range(3)
    ]
    page = tab.page
    await page.goto(f"{dash.url}/dashboard?tag={tag}&size=2")
    body = page.locator("#runs-body tr")
    await expect(body).to_have_count(2)
    assert [await r.get_attribute("data-run-id") for r in await body.all()] == [newest, middle]
    await expect(page.locator("#newer")).to_be_disabled()
    await page.click("#older")
    await expect(body).to_have_count(1)
    await expect(row(page, oldest)).to_be_visible()
    await expect(page.locator("#older")).to_be_disabled()
    await page.click("#newer")
    await expect(row(page, newest)).to_be_visible()
    await expect(body).to_have_count(2)


async def test_the_list_updates_statuses_in_place(tab: Tab, dash: Dash, tag: str) -> None:
    run_id = await dash.trigger("sleepy", {"seconds": 3}, tags=[tag])
    page = tab.page
    await page.goto(f"{dash.url}/dashboard?tag={tag}")
    await expect(row(page, run_id).locator(".status")).to_have_attribute(
        "data-status", re.compile("QUEUED|DEQUEUED|EXECUTING")
    )
    await page.evaluate("window.notReloaded = true")
    await expect(row(page, run_id).locator(".status")).to_have_attribute("data-status", "COMPLETED")
    assert await page.evaluate("window.notReloaded") is True


async def test_searching_an_exact_run_id_opens_that_run(tab: Tab, dash: Dash) -> None:
    run_id = await dash.trigger("hello-world", {"name": "Found"})
    page = tab.page
    await page.goto(f"{dash.url}/dashboard")
    await page.fill("#search input", run_id)
    await page.press("#search input", "Enter")
    await page.wait_for_url(f"**/dashboard/runs/{run_id}")
    await expect(page.locator("#run-id")).to_have_text(run_id)


async def test_the_run_page_shows_the_output_and_links_to_temporal(tab: Tab, dash: Dash) -> None:
    run_id = await dash.trigger("hello-world", {"name": "Ada"}, tags=["greeting"])
    await dash.wait_status(run_id, "COMPLETED")
    page = tab.page
    await page.goto(f"{dash.url}/dashboard/runs/{run_id}")
    await expect(page.locator("#output")).to_contain_text('"message": "Hello, Ada!"')
    await expect(page.locator("#payload")).to_contain_text('"name": "Ada"')
    await expect(page.locator("#run-status .status")).to_have_attribute("data-status", "COMPLETED")
    await expect(page.locator("#timeline .step.final")).to_contain_text("Completed")
    await expect(page.locator("#attempts tr[data-attempt='1']")).to_contain_text("Completed")
    await expect(page.locator("#temporal-link")).to_have_attribute(
        "href", f"{TEMPORAL_UI}/namespaces/default/workflows/{run_id}"
    )
    await expect(page.locator("#cancel")).to_be_hidden()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "run-page.png", full_page=True)


async def test_a_failed_run_shows_each_attempts_error_and_stack(tab: Tab, dash: Dash) -> None:
    run_id = await dash.trigger("always-fails", {"why": "testing"})
    await dash.wait_status(run_id, "FAILED")
    page = tab.page
    await page.goto(f"{dash.url}/dashboard/runs/{run_id}")
    await expect(page.locator("#attempts tbody tr")).to_have_count(2)
    second = page.locator("#attempts tr[data-attempt='2']")
    await expect(second).to_contain_text("BoomError: boom")
    await second.locator("summary").click()
    await expect(second.locator("pre.stack")).to_contain_text("always_fails")
    await expect(page.locator("#error-card")).to_contain_text("boom")
    await expect(page.locator("#output")).to_contain_text("No output")
    await page.screenshot(path=SCREENSHOTS / "run-page-failed.png", full_page=True)


async def test_replay_with_an_edited_payload_lands_on_the_new_run(tab: Tab, dash: Dash) -> None:
    source = await dash.trigger("hello-world", {"name": "Ada"})
    await dash.wait_status(source, "COMPLETED")
    page = tab.page
    await page.goto(f"{dash.url}/dashboard/runs/{source}")
    await page.click("#edit-replay")
    await page.fill("#replay-payload", '{"name": ')
    await expect(page.locator("#replay-json-error")).to_contain_text("Not valid JSON")
    await expect(page.locator("#replay-submit")).to_be_disabled()
    await page.fill("#replay-payload", '{"name": "Grace"}')
    await page.click("#replay-submit")
    await page.wait_for_url(re.compile(r"/dashboard/runs/run_(?!" + source[4:] + ")"))
    await expect(page.locator("#output")).to_contain_text("Hello, Grace!")
    await expect(page.locator("#outcome")).to_contain_text(f"Replay of {source}")
    new_id = page.url.rsplit("/", 1)[1]
    assert (await dash.retrieve(new_id))["replayedFrom"] == source


async def test_a_refused_action_shows_the_servers_message(tab: Tab, dash: Dash) -> None:
    run_id = await dash.trigger("hello-world", {"name": "Later"}, delay="1h")
    page = tab.page
    await page.goto(f"{dash.url}/dashboard/runs/{run_id}")
    await page.click("#reschedule-open")
    await page.fill("#reschedule-delay", "whenever")
    await page.click("#reschedule-form button[type=submit]")
    await expect(page.locator("#outcome.error")).to_contain_text("Invalid delay")
    await dash.api.post(f"/api/v2/runs/{run_id}/cancel")


async def test_rescheduling_a_delayed_run_and_watching_it_complete(tab: Tab, dash: Dash) -> None:
    run_id = await dash.trigger("hello-world", {"name": "Soon"}, delay="1h")
    page = tab.page
    streams: list[str] = []
    page.on(
        "request", lambda request: streams.append(request.url) if "/events" in request.url else None
    )
    await page.goto(f"{dash.url}/dashboard/runs/{run_id}")
    await expect(page.locator("#timeline .step.current")).to_contain_text("Delayed")
    await page.click("#reschedule-open")
    await page.fill("#reschedule-delay", "1s")
    await page.click("#reschedule-form button[type=submit]")
    await expect(page.locator("#outcome.ok")).to_contain_text("Rescheduled")
    # Live: the page follows the run to its end over server-sent events, without a reload.
    await expect(page.locator("#output")).to_contain_text("Hello, Soon!")
    assert streams == [f"{dash.url}/api/v1/runs/{run_id}/events/stream"]


async def test_cancelling_a_sleepy_run_from_its_page(tab: Tab, dash: Dash) -> None:
    run_id = await dash.trigger("sleepy", {"seconds": 30})
    page = tab.page
    await page.goto(f"{dash.url}/dashboard/runs/{run_id}")
    await expect(page.locator("#run-status .status")).to_have_attribute("data-status", "EXECUTING")
    await page.click("#cancel")
    await page.click("#cancel-yes")
    await expect(page.locator("#run-status .status")).to_have_attribute("data-status", "CANCELED")
    await expect(page.locator("#outcome.ok")).to_contain_text("Cancel requested")
    await expect(page.locator("#cancel")).to_be_hidden()
    assert (await dash.retrieve(run_id))["status"] == "CANCELED"


async def test_markup_in_payloads_and_tags_is_shown_as_text(tab: Tab, dash: Dash, tag: str) -> None:
    odd_tag = "<b>\"odd\" & 'tag'</b>"
    payload = {"name": XSS, "blob": "x" * 60_000}
    run_id = await dash.trigger("hello-world", payload, tags=[tag, odd_tag])
    await dash.wait_status(run_id, "COMPLETED")
    page = tab.page
    await page.goto(f"{dash.url}/dashboard?tag={tag}")
    await expect(row(page, run_id)).to_contain_text(odd_tag)
    await page.goto(f"{dash.url}/dashboard/runs/{run_id}")
    await expect(page.locator("#payload")).to_contain_text(XSS)
    await expect(page.locator("#output")).to_contain_text(f"Hello, {XSS}!")
    await expect(page.locator("#details")).to_contain_text(odd_tag)
    assert await page.locator("main img, main b").count() == 0
    show_all = page.locator("#payload .show-all")
    await expect(show_all).to_contain_text("Show all")
    await show_all.click()
    await expect(page.locator("#payload pre")).to_contain_text("x" * 1000 + '"')
    assert tab.dialogs == []


async def test_an_unknown_run_shows_the_not_found_page(tab: Tab, dash: Dash) -> None:
    page = tab.page
    await page.goto(f"{dash.url}/dashboard/runs/{UNKNOWN_RUN}")
    await expect(page.locator("#run-not-found")).to_be_visible()
    await expect(page.locator("#not-found-message")).to_contain_text(UNKNOWN_RUN)
    await expect(page.locator("#run-view")).to_be_hidden()
    response = await page.goto(f"{dash.url}/dashboard/runs/not-a-run")
    assert response is not None and response.status == 404
    await expect(page.locator("h1")).to_have_text("Not found")


async def test_logging_out_ends_the_session(browser: Browser, dash: Dash) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await log_in(page, dash)
    await page.click(".logout button")
    await page.wait_for_url("**/dashboard/login")
    await page.goto(f"{dash.url}/dashboard")
    await expect(page.locator("#secret-key")).to_be_visible()
    await context.close()
