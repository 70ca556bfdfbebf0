"""Swagger UI at ``/docs``.

The UI's JavaScript and CSS come from the ``swagger-ui-bundle`` package when it is installed
(served from ``/docs/static``, works offline); otherwise from FastAPI's default CDN, which a
browser without internet access cannot reach (the OpenAPI document itself is always local).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_PREFIX = "/docs/static"


def bundled_assets() -> Path | None:
    """The directory of an installed Swagger UI bundle, if any."""
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    path = Path(str(swagger_ui_bundle.swagger_ui_path))
    return path if (path / "swagger-ui-bundle.js").exists() else None


def mount(api: FastAPI, openapi_url: str) -> None:
    assets = bundled_assets()
    kwargs: dict[str, Any] = {}
    if assets is not None:
        api.mount(STATIC_PREFIX, StaticFiles(directory=assets), name="swagger-ui")
        kwargs = {
            "swagger_js_url": f"{STATIC_PREFIX}/swagger-ui-bundle.js",
            "swagger_css_url": f"{STATIC_PREFIX}/swagger-ui.css",
            "swagger_favicon_url": f"{STATIC_PREFIX}/favicon-32x32.png",
        }

    @api.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title="finmesh API",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_ui_parameters={"persistAuthorization": True},
            **kwargs,
        )

    @api.get("/docs/oauth2-redirect", include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
