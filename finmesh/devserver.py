"""Serves the built dashboard (``frontend/dist``) and, in local development only, hands out
sign-in tokens.

``python -m finmesh.devserver`` listens on ``FRONTEND_PORT`` (5173) at ``FINMESH_BIND_HOST``
(127.0.0.1) and serves:

- ``GET /`` and every other path: the static files of the built app, with ``index.html`` for
  unknown paths (the app routes on the client). Hashed ``/assets/*`` are cached forever,
  everything else is revalidated.
- ``GET /config.json``: ``{"apiBaseUrl", "devTokens"}`` so one build works against any stack.
  ``apiBaseUrl`` is ``FINMESH_API_URL`` if set, else Envoy (``ENVOY_PORT``) on the host name the
  browser used. The browser calls Envoy directly; Envoy's CORS policy allows this origin.
- ``GET /healthz``: ``{"status": "ok"}``.
- ``POST /dev/token`` with ``{"user": "alice"}``: ``{"token", "user", "expiresInSeconds"}``, a
  JWT signed with the stack's dev key (the same as ``finmesh token --user alice``).
  **Only when ``FINMESH_DEV_TOKENS=1``** (``make up`` sets it); otherwise the path is 404.
  Anyone who can reach this endpoint can act as any user: it exists for a laptop stack and
  must never be enabled on a shared or public deployment. Requests must be JSON
  (``Content-Type: application/json``) and, when they carry an ``Origin``, come from this
  server's own origin; no CORS headers are sent, so other sites cannot read a token.
"""

from __future__ import annotations

import argparse
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
    api_url: str = ""  # empty: Envoy on the host name the browser used
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
    )


def _host_name(host_header: str) -> str:
    """The host name part of a ``Host`` header, or 127.0.0.1 when it is not a plain name."""
    name = urlsplit(f"//{host_header}").hostname or ""
    if re.fullmatch(r"[A-Za-z0-9.-]{1,253}", name):
        return name
    if ":" in name:  # IPv6
        return f"[{name}]"
    return "127.0.0.1"


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

    def _api_base(self) -> str:
        if self.cfg.api_url:
            return self.cfg.api_url
        return f"http://{_host_name(self.headers.get('Host', ''))}:{self.cfg.envoy_port}"

    # -- GET / HEAD ---------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self._get(head=True)

    def do_GET(self) -> None:
        self._get(head=False)

    def _get(self, head: bool) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            self._json(200, {"status": "ok"})
        elif path == "/config.json":
            self._json(200, {"apiBaseUrl": self._api_base(), "devTokens": self.cfg.dev_tokens})
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
                f"connect-src 'self' {self._api_base()}; frame-ancestors 'none'; base-uri 'none'"
            )
        self._send(200, target.read_bytes(), ctype, headers, head=head)

    # -- POST ---------------------------------------------------------------------------
    def do_POST(self) -> None:
        path = urlsplit(self.path).path
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
