"""The dashboard's routes: ``/`` → ``/dashboard``, the runs, run, errors, schedules,
tokens, concurrency and bulk action pages, login and logout, and the static files. Pages need a
session (else they redirect to the login); what they show comes from the JSON API,
fetched by the page itself.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

import durableruns.api.session as session
from durableruns.api.deps import SecretKeyDep, SettingsDep
from durableruns.dashboard import pages
from durableruns.error_fingerprint import is_error_group_id
from durableruns.ids import is_bulk_action_id, is_run_id
from durableruns.settings import Settings

router = APIRouter(include_in_schema=False)

HOME = "/dashboard"
LOGIN = "/dashboard/login"
MAX_FORM_BYTES = 8192


@router.get("/")
async def root() -> RedirectResponse:
    """The dashboard is the facade's front page."""
    return RedirectResponse(HOME, status_code=307)


@router.get("/favicon.ico")
async def favicon() -> Response:
    """The icon browsers ask every page of this origin for (the API docs too)."""
    return pages.static_file("favicon.svg")


LIST_PAGES: dict[str, tuple[str, str, str]] = {
    "": ("runs", "Runs", "The runs list."),
    "/tasks": ("tasks", "Tasks", "The deployed tasks, their latest runs, and a Test form."),
    "/tokens": ("tokens", "Wait tokens", "The wait tokens list."),
    "/schedules": ("schedules", "Schedules", "Cron in words, next and last runs, active toggle."),
    "/errors": ("errors", "Errors", "Error groups, most occurrences first, the last 24 hours."),
    "/alerts": ("alerts", "Alerts", "Alerts: create one, see its deliveries and every try."),
    "/concurrency": ("concurrency", "Concurrency", "Limits and queues with live counts."),
    "/bulk-actions": ("bulk_actions", "Bulk actions", "Bulk replays and cancels, newest first."),
}
"""The dashboard's list pages, by path under ``/dashboard``: (template, title, summary).
Each needs a session and renders its template; the page fetches its data itself."""


def _list_page(template: str, title: str, summary: str) -> Callable[..., Awaitable[Response]]:
    async def page(request: Request, settings: SettingsDep, secret_key: SecretKeyDep) -> Response:
        if not session.has_session(request, secret_key):
            return _to_login(request)
        return pages.render(template, title=title, chrome=_chrome(settings))

    page.__doc__ = summary
    return page


for _path, (_template, _title, _summary) in LIST_PAGES.items():
    router.add_api_route(HOME + _path, _list_page(_template, _title, _summary), methods=["GET"])


ITEM_PAGES: dict[str, tuple[str, str, Callable[[str], bool], str]] = {
    "/runs": ("run", "run", is_run_id, "One run; the page follows it live."),
    "/errors": ("error", "error group", is_error_group_id, "One error group and its runs."),
    "/bulk-actions": (
        "bulk_action",
        "bulk action",
        is_bulk_action_id,
        "One bulk action: its status, counts, the runs it made, and Abort while it runs.",
    ),
}
"""The dashboard's pages of one item, by path under ``/dashboard`` (then ``/{id}``):
(template, what the item is called, the id check, summary). An id that cannot be one of
those items is answered with the not-found page, before any read; the template gets the
id as ``$item_id``."""


def _item_page(
    template: str, noun: str, is_id: Callable[[str], bool], summary: str
) -> Callable[..., Awaitable[Response]]:
    async def page(
        item_id: Annotated[str, Path()],
        request: Request,
        settings: SettingsDep,
        secret_key: SecretKeyDep,
    ) -> Response:
        if not session.has_session(request, secret_key):
            return _to_login(request)
        if not is_id(item_id):
            return not_found(settings, f"There is no {noun} with the id {item_id!r}.")
        return pages.render(template, title=item_id, chrome=_chrome(settings), item_id=item_id)

    page.__doc__ = summary
    return page


for _path, (_template, _noun, _is_id, _summary) in ITEM_PAGES.items():
    router.add_api_route(
        HOME + _path + "/{item_id}", _item_page(_template, _noun, _is_id, _summary), methods=["GET"]
    )


@router.get(LOGIN)
async def login_page(
    request: Request,
    secret_key: SecretKeyDep,
    next_path: Annotated[str, Query(alias="next")] = HOME,
) -> Response:
    """The login form (or straight on, with a session already)."""
    target = safe_next(next_path)
    if session.has_session(request, secret_key):
        return RedirectResponse(target, status_code=303)
    return _login_form(target)


@router.post(LOGIN)
async def login(request: Request, secret_key: SecretKeyDep) -> Response:
    """Check the secret key typed into the form; a session cookie if it is right."""
    form = await _form(request)
    target = safe_next(form.get("next", HOME))
    if not session.is_same_origin(request):
        return _login_form(target, "Refused a login sent from another site.", 403)
    typed = form.get("secret_key", "").strip().encode()
    if not secret_key or not hmac.compare_digest(typed, secret_key.encode()):
        return _login_form(target, "That is not this environment's secret key.", 401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        session.COOKIE_NAME,
        session.issue_token(secret_key),
        max_age=session.SESSION_TTL_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post(HOME + "/logout")
async def logout(request: Request) -> Response:
    """Forget the session."""
    response = RedirectResponse(LOGIN, status_code=303)
    if session.is_same_origin(request):
        response.delete_cookie(session.COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response


@router.get(HOME + "/static/{name}")
async def static(name: str) -> Response:
    """The dashboard's scripts and stylesheet."""
    return pages.static_file(name)


@router.get(HOME + "/{rest:path}")
async def unknown_page(
    rest: str, request: Request, settings: SettingsDep, secret_key: SecretKeyDep
) -> Response:
    """Any other dashboard path: the not-found page (after the login)."""
    if not session.has_session(request, secret_key):
        return _to_login(request)
    return not_found(settings, "There is no such page in the dashboard.")


def not_found(settings: Settings, message: str) -> Response:
    """The not-found page, status 404."""
    chrome = _chrome(settings)
    return pages.render(
        "not_found", title="Not found", status_code=404, chrome=chrome, message=message
    )


def safe_next(target: str) -> str:
    """``target`` if it is a dashboard path on this site, else the runs page (no open
    redirects through the login form)."""
    parts = urlsplit(target)
    local = not (parts.scheme or parts.netloc or target.startswith("//") or "\\" in target)
    on_dashboard = parts.path == HOME or parts.path.startswith(HOME + "/")
    return target if local and on_dashboard and parts.path != LOGIN else HOME


def _to_login(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN}?next={quote(here, safe='')}", status_code=303)


def _login_form(target: str, error: str = "", status_code: int = 200) -> Response:
    hidden = "" if error else "hidden"
    return pages.render(
        "login", title="Log in", status_code=status_code, next=target, error=error, hidden=hidden
    )


def _chrome(settings: Settings) -> dict[str, str]:
    temporal_ui = settings.temporal_ui_url.rstrip("/")
    namespace = quote(settings.namespace, safe="")
    return {
        "environment": settings.environment,
        "temporal_ui": temporal_ui,
        "namespace": settings.namespace,
        "temporal_workflows": f"{temporal_ui}/namespaces/{namespace}/workflows",
    }


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form's fields (first value of each); anything else is empty."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    except ValueError:  # too many fields
        return {}
    return {name: values[0] for name, values in fields.items()}
