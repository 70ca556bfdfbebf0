"""Serves the built dashboard (``frontend/dist``), forwards its API calls to Envoy, and, in
local development only, hands out sign-in tokens.

``python -m finmesh.devserver`` listens on ``FRONTEND_PORT`` (5173) at ``FINMESH_BIND_HOST``
(127.0.0.1) and serves:

- ``/v1/...`` (any method): forwarded to Envoy at ``127.0.0.1:ENVOY_PORT`` (or
  ``FINMESH_ENVOY_URL``), streaming both ways, so the browser talks to one origin and needs no
  CORS. Envoy still verifies every token; this server adds nothing to the request but
  ``X-Forwarded-For``. Server streams (``/v1/insights:watch``) are passed through chunk by chunk.
- ``GET /config.json``: ``{"apiBaseUrl", "devTokens"}``. ``apiBaseUrl`` is empty (same origin,
  through the forwarder) unless ``FINMESH_API_URL`` names an edge for the browser to call
  directly (then Envoy's CORS policy must allow this origin).
- ``GET /healthz``: ``{"status": "ok"}``.
- ``POST /dev/token`` with ``{"user": "alice"}``: ``{"token", "user", "expiresInSeconds"}``, a
  JWT signed with the stack's dev key (the same as ``finmesh token --user alice``).
  **Only when ``FINMESH_DEV_TOKENS=1``** (``make up`` sets it); otherwise the path is 404.
  Anyone who can reach this endpoint can act as any user: it exists for a laptop stack and
  must never be enabled on a shared or public deployment. Requests must be JSON
  (``Content-Type: application/json``) and, when they carry an ``Origin``, come from this
  server's own origin; no CORS headers are sent, so other sites cannot read a token.
- everything else: the static files of the built app, with ``index.html`` for unknown paths
  (the app routes on the client). Hashed ``/assets/*`` are cached forever, the rest revalidated.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import mimetypes
import os
import re
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from finmesh import auth
from finmesh.config import REPO_ROOT, AuthConfig, stack_from_env

log = logging.getLogger("finmesh.devserver")

DEFAULT_DIST = REPO_ROOT / "frontend" / "dist"
USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MAX_BODY_BYTES = 4096
#: Largest request body forwarded to Envoy (Envoy's own limit is 16 MiB).
MAX_PROXY_BODY_BYTES = 16 * 1024 * 1024
#: Socket timeout towards Envoy; WatchInsights sends a heartbeat every ~15 s, imports may take
#: up to Envoy's 300 s route timeout.
PROXY_TIMEOUT_SECONDS = 330.0
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
TOKEN_TTL_SECONDS = 8 * 3600


@dataclass(frozen=True)
class DevServerConfig:
    """What the server needs; built once from the environment and arguments."""

    dist_dir: Path
    host: str
    port: int
    envoy_port: int
    keys_dir: Path
    auth: AuthConfig
    dev_tokens: bool = False
    #: An edge the browser should call directly (CORS); empty: same origin, forwarded to Envoy.
    api_url: str = ""
    #: Where ``/v1/`` is forwarded; empty: ``http://127.0.0.1:<envoy_port>``.
    envoy_url: str = ""
    token_ttl_seconds: int = TOKEN_TTL_SECONDS


def config_from_env(
    env: Mapping[str, str] | None = None, argv: Sequence[str] | None = None
) -> DevServerConfig:
    env = os.environ if env is None else env
    stack = stack_from_env(env)
    parser = argparse.ArgumentParser(prog="python -m finmesh.devserver", description=__doc__)
    parser.add_argument("--host", default=stack.bind_host)
    parser.add_argument("--port", type=int, default=stack.ports.frontend)
    parser.add_argument("--dist", type=Path, default=DEFAULT_DIST)
    args = parser.parse_args(argv)
    return DevServerConfig(
        dist_dir=args.dist.resolve(),
        host=args.host,
        port=args.port,
        envoy_port=stack.ports.envoy,
        keys_dir=stack.keys_dir,
        auth=stack.auth,
        dev_tokens=env.get("FINMESH_DEV_TOKENS", "") == "1",
        api_url=env.get("FINMESH_API_URL", "").rstrip("/"),
        envoy_url=env.get("FINMESH_ENVOY_URL", "").rstrip("/"),
    )


class Handler(BaseHTTPRequestHandler):
    server_version = "finmesh-devserver"
    cfg: DevServerConfig  # set on the subclass made by make_server

    # -- plumbing -----------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
        head: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, status: int, obj: object) -> None:
        self._send(
            status,
            json.dumps(obj).encode(),
            "application/json",
            {"Cache-Control": "no-store"},
        )

    # -- GET / HEAD ---------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self._get(head=True)

    def do_GET(self) -> None:
        self._get(head=False)

    def _get(self, head: bool) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/v1/"):
            self._proxy()
        elif path == "/healthz":
            self._json(200, {"status": "ok"})
        elif path == "/config.json":
            self._json(200, {"apiBaseUrl": self.cfg.api_url, "devTokens": self.cfg.dev_tokens})
        elif path.startswith("/dev/"):
            self._json(404, {"error": "not found"})
        else:
            self._static(path, head)

    def _static(self, url_path: str, head: bool) -> None:
        root = self.cfg.dist_dir
        index = root / "index.html"
        if not index.is_file():
            msg = b"The dashboard is not built yet: run `npm run build --prefix frontend`.\n"
            self._send(503, msg, "text/plain; charset=utf-8", head=head)
            return
        target = (root / url_path.lstrip("/")).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            if url_path.startswith("/assets/") or "." in url_path.rsplit("/", 1)[-1]:
                self._send(404, b"not found\n", "text/plain; charset=utf-8", head=head)
                return
            target = index  # a client-side route
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
            ctype += "; charset=utf-8"
        cache = (
            "public, max-age=31536000, immutable"
            if url_path.startswith("/assets/") and target != index
            else "no-cache"
        )
        headers = {"Cache-Control": cache}
        if target == index:
            headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                f"connect-src 'self' {self.cfg.api_url}; frame-ancestors 'none'; base-uri 'none'"
            )
        self._send(200, target.read_bytes(), ctype, headers, head=head)

    # -- /v1/ → Envoy --------------------------------------------------------------------
    def do_PATCH(self) -> None:
        self._proxy_or_404()

    def do_PUT(self) -> None:
        self._proxy_or_404()

    def do_DELETE(self) -> None:
        self._proxy_or_404()

    def _proxy_or_404(self) -> None:
        if urlsplit(self.path).path.startswith("/v1/"):
            self._proxy()
        else:
            self._json(404, {"error": "not found"})

    def _proxy(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > MAX_PROXY_BODY_BYTES:
            self._json(413, {"code": 8, "message": "request body too large", "details": []})
            return
        body = self.rfile.read(length) if length else None
        target = urlsplit(self.cfg.envoy_url or f"http://127.0.0.1:{self.cfg.envoy_port}")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = self.client_address[0]
        conn = http.client.HTTPConnection(
            target.hostname or "127.0.0.1", target.port or 80, timeout=PROXY_TIMEOUT_SECONDS
        )
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
        except OSError as exc:
            conn.close()
            log.warning("edge unreachable: %s", exc)
            self._json(503, {"code": 14, "message": "the finmesh edge is unreachable"})
            return
        try:
            self.send_response(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP:
                    self.send_header(k, v)
            declared = resp.getheader("Content-Length")
            if declared is not None:
                self.send_header("Content-Length", declared)
            # HTTP/1.0 framing: a body without a length ends when the connection closes,
            # which is how a server stream (WatchInsights) is passed on chunk by chunk.
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            if self.command == "HEAD":
                return
            while chunk := resp.read1(65536):
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away (e.g. it cancelled the watch)
        finally:
            conn.close()

    # -- POST ---------------------------------------------------------------------------
    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/v1/"):
            self._proxy()
            return
        if path != "/dev/token" or not self.cfg.dev_tokens:
            self._json(404, {"error": "not found"})
            return
        self._token()

    def _token(self) -> None:
        origin = self.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != self.headers.get("Host", ""):
            self._json(403, {"error": "cross-origin token requests are not allowed"})
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self._json(415, {"error": "send JSON: Content-Type: application/json"})
            return
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self._json(413 if length > 0 else 400, {"error": "body too large or missing"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            self._json(400, {"error": "the body is not valid JSON"})
            return
        user = body.get("user") if isinstance(body, dict) else None
        if not isinstance(user, str) or not USER_ID.fullmatch(user):
            self._json(
                400,
                {
                    "error": "user: 1-64 letters, digits, '.', '_', '@' or '-', "
                    "starting with a letter or digit",
                    "field": "user",
                },
            )
            return
        try:
            token = auth.sign_token(
                self.cfg.keys_dir, self.cfg.auth, user, ttl_seconds=self.cfg.token_ttl_seconds
            )
        except FileNotFoundError:
            self._json(503, {"error": "the stack's signing key is missing: start it with make up"})
            return
        log.info("issued a dev token for user %s", user)
        self._json(
            200, {"token": token, "user": user, "expiresInSeconds": self.cfg.token_ttl_seconds}
        )


def make_server(cfg: DevServerConfig) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"cfg": cfg})
    server = ThreadingHTTPServer((cfg.host, cfg.port), handler)
    server.daemon_threads = True
    return server


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    cfg = config_from_env(argv=argv)
    mimetypes.add_type("text/javascript", ".js")
    mimetypes.add_type("application/json", ".map")
    server = make_server(cfg)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "serving %s on http://%s:%d (dev tokens %s)",
        cfg.dist_dir,
        cfg.host,
        server.server_address[1],
        "ON" if cfg.dev_tokens else "off",
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
