"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from gateway.config import GatewayConfig


def create_app(cfg: GatewayConfig) -> FastAPI:
    app = FastAPI(title="finmesh", version="v1")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "SERVING"})

    return app
