"""Process entry point: read the config, build the app, serve it with uvicorn."""

from __future__ import annotations

import uvicorn

from finmesh import logs
from gateway.app import create_app
from gateway.config import GatewayConfig, gateway_from_env


def run(cfg: GatewayConfig) -> None:
    """Serve the gateway until SIGTERM/SIGINT (uvicorn handles both)."""
    app = create_app(cfg)
    uvicorn.run(
        app,
        host=cfg.host,
        port=cfg.port,
        loop="uvloop",
        http="auto",  # httptools when installed, else h11
        timeout_graceful_shutdown=5,  # open watch streams must not hold up a stop
        log_config=None,
        access_log=False,
        lifespan="on",
        server_header=False,
    )


def main() -> None:
    cfg = gateway_from_env()
    logs.configure("gateway", cfg.log_level)
    run(cfg)
