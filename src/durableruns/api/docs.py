"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) served from this process, not a CDN: the
banner's "API docs" link must work with no internet.

The assets come from the ``fastapi-offline`` package, which ships Swagger UI 5 and
ReDoc 2: both read OpenAPI 3.1, the version FastAPI writes (Swagger UI 4, as shipped by
``swagger-ui-bundle``, answers "Unable to render this definition" to a 3.1 schema).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))


def install_docs(app: FastAPI) -> None:
    """Serve the viewers' files under ``/docs-assets``, and ``/docs`` and ``/redoc`` on them.

    The app must be created with ``docs_url=None`` and ``redoc_url=None`` (FastAPI's own
    pages load their scripts from a CDN)."""
    app.mount(ASSETS, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API reference",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        # ReDoc's footer shows Redocly's logo from their CDN; the policy keeps the browser
        # from asking (the image hides itself when it fails), so the page stays offline.
        page.headers["Content-Security-Policy"] = "img-src 'self' data:"
        return page
