"""The gateway application: the transcoder in front of a small FastAPI app that serves
``/healthz``, ``/openapi.json`` and ``/docs`` (Swagger UI), all built from the descriptor set."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from gateway import descriptors, docs, openapi
from gateway.config import GatewayConfig
from gateway.transcoder import Transcoder

FASTAPI_PATHS = frozenset({"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect"})


def create_app(cfg: GatewayConfig) -> Transcoder:
    """The ASGI app to serve (``uvicorn.run(create_app(cfg))``)."""
    catalog = descriptors.load(cfg.descriptor_set)
    spec = openapi.build(catalog)
    holder: dict[str, Transcoder] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await holder["transcoder"].start()
        try:
            yield
        finally:
            await holder["transcoder"].stop()

    api = FastAPI(
        title=spec["info"]["title"],
        version=spec["info"]["version"],
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )

    @api.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "SERVING"})

    @api.get("/openapi.json", include_in_schema=False)
    async def openapi_json() -> JSONResponse:
        return JSONResponse(spec)

    docs.mount(api, "/openapi.json")

    transcoder = Transcoder(cfg, catalog, api, FASTAPI_PATHS)
    holder["transcoder"] = transcoder
    return transcoder


def spec_of(cfg: GatewayConfig) -> dict[str, Any]:
    """The OpenAPI document the gateway serves (for tools and tests)."""
    return openapi.build(descriptors.load(cfg.descriptor_set))
