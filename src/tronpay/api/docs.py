"""``/docs`` (Swagger UI) served entirely by the service itself, so it works offline.

FastAPI's default page loads Swagger UI's script and stylesheet from a CDN and its favicon
from another site: on a machine without internet (or behind a strict egress policy, as a
payment service should be) the page stays blank. The assets come from the pinned
``fastapi-offline`` package (it ships Swagger UI 5's ``swagger-ui-bundle.js``,
``swagger-ui.css`` and a favicon) and are served under ``/docs/assets``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH: Final = "/docs"
ASSETS_PATH: Final = "/docs/assets"
ASSETS_DIR: Final = Path(str(files("fastapi_offline").joinpath("static")))


def install_docs(app: FastAPI, *, title: str) -> None:
    """Serve Swagger UI at ``/docs`` from local assets (create the app with
    ``docs_url=None`` so FastAPI does not add its CDN page)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect = f"{DOCS_PATH}/oauth2-redirect"

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API documentation",
            oauth2_redirect_url=redirect,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        )

    @app.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
