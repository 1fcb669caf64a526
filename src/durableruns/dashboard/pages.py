"""The dashboard's HTML: a handful of templates (``string.Template``) filled with
HTML-escaped values, the static files next to them, and the headers every dashboard
response carries.

Run data never goes through here: the pages are shells that ``static/main.js`` fills
from the JSON API with DOM calls. The Content-Security-Policy allows scripts from this
origin only, so even markup that slipped into a page could not run.
"""

from __future__ import annotations

import functools
import html
import re
from importlib.resources import files
from string import Template

from fastapi.responses import HTMLResponse, Response

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
STATIC_TYPES = {
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
}
_STATIC_NAME = re.compile(r"^[a-z][a-z0-9-]*\.(js|css|svg)$")
_PACKAGE = files("durableruns.dashboard")


@functools.cache
def _read(path: str) -> str:
    return (_PACKAGE / path).read_text(encoding="utf-8")


def _fill(template: str, values: dict[str, str]) -> str:
    escaped = {name: html.escape(value, quote=True) for name, value in values.items()}
    return Template(_read(f"templates/{template}.html")).substitute(escaped)


def render(
    template: str,
    *,
    title: str,
    status_code: int = 200,
    chrome: dict[str, str] | None = None,
    **values: str,
) -> HTMLResponse:
    """The page ``templates/<template>.html`` in the layout; ``chrome`` fills the top
    bar (``environment``, ``temporal_ui``), left out when None (the login page)."""
    topbar = _fill("topbar", chrome) if chrome is not None else ""
    content = _fill(template, values)
    document = Template(_read("templates/layout.html")).substitute(
        title=html.escape(title), topbar=topbar, content=content
    )
    return HTMLResponse(document, status_code=status_code, headers=SECURITY_HEADERS)


def static_file(name: str) -> Response:
    """A file of ``static/`` by its bare name (no paths), or a 404."""
    if not _STATIC_NAME.match(name) or not (_PACKAGE / "static" / name).is_file():
        return Response("Not found", status_code=404, media_type="text/plain")
    media_type = STATIC_TYPES[name.rpartition(".")[2]]
    headers = {"cache-control": "no-cache", "x-content-type-options": "nosniff"}
    return Response(_read(f"static/{name}"), media_type=media_type, headers=headers)
