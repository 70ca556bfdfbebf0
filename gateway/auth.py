"""Bearer-token checks at the gateway: the same decisions *and* the same answers as Envoy.

Every ``/v1/`` request is checked twice before it goes upstream:

1. :func:`envoy_rejection` repeats what Envoy's ``jwt_authn`` checks, in Envoy's order, and
   returns Envoy's message (``Jwt is expired``, ``Jwt issuer is not configured``, ...). A
   request Envoy would refuse is refused here with the same 401 body.
2. :class:`finmesh.auth.TokenVerifier` (what every service runs) then has the last word. Where
   Envoy would have let the token through and the service refused it (no ``sub``, ``iat`` in
   the future, ...), the gateway answers with the status the service would have sent; a bad
   signature gets Envoy's ``Jwt verification fails``.

Verified tokens are cached (like Envoy's ``jwt_cache_config``) and re-checked against the clock
on every hit, so a cached token still expires on time.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt

from finmesh import errors
from finmesh.auth import AuthError, Principal, TokenVerifier
from finmesh.config import AuthConfig

#: Envoy's ``jwt_authn`` ``clock_skew_seconds`` in our config (``finmesh/stack/envoy.py``).
CLOCK_SKEW_SECONDS = 5
PREFIX = "Bearer "
_JWT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=")
_SUPPORTED_ALGS = frozenset(
    {
        "ES256",
        "ES384",
        "ES512",
        "HS256",
        "HS384",
        "HS512",
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "EdDSA",
    }
)

MISSING = "Jwt is missing"
BAD_FORMAT = "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"
VERIFICATION_FAILS = "Jwt verification fails"


@dataclass(frozen=True)
class Rejection:
    """Why a request is refused: ``edge`` rejections get Envoy's local-reply body; the others
    the body of the status a service would send (``status``)."""

    message: str
    edge: bool
    status: Any = None  # google.rpc.Status for non-edge rejections


def _extract(authorization: str) -> str | None:
    """The token after ``Bearer `` the way Envoy's extractor finds it (the prefix anywhere in
    the value, leading characters that cannot start a JWT skipped), or ``None``."""
    pos = authorization.find(PREFIX)
    if pos < 0:
        return None
    value = authorization[pos + len(PREFIX) :]
    start = 0
    while start < len(value) and value[start] not in _JWT_CHARS:
        start += 1
    return value[start:].strip() if start < len(value) else value


def _b64json(part: str) -> tuple[bool, Any]:
    text = part.replace("-", "+").replace("_", "/").rstrip("=")
    text += "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False, None
    try:
        return True, json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return True, _BAD_JSON


_BAD_JSON = object()


def _b64ok(part: str) -> bool:
    text = part.replace("-", "+").replace("_", "/").rstrip("=")
    text += "=" * (-len(text) % 4)
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _int_claim(payload: dict[str, Any], name: str) -> str | None:
    if name not in payload:
        return None
    v = payload[name]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return f"Jwt payload [{name}] field is not an integer"
    if isinstance(v, float) and not v.is_integer():
        return f"Jwt payload [{name}] field is not an integer"
    if v < 0:
        return f"Jwt payload [{name}] field is not a positive 64 bit integer"
    return None


def envoy_rejection(
    authorization: str | None,
    cfg: AuthConfig,
    jwks_keys: dict[str, str],
    now: float,
) -> str | None:
    """Envoy's ``jwt_authn`` message for this ``Authorization`` header, or ``None`` when Envoy
    would let it through to the signature check. ``jwks_keys`` maps ``kid`` → ``alg``."""
    if authorization is None:
        return MISSING
    token = _extract(authorization)
    if token is None:
        return MISSING
    parts = [p for p in token.split(".") if p]
    if len(parts) != 3:
        return BAD_FORMAT
    ok, header = _b64json(parts[0])
    if not ok:
        return "Jwt header is an invalid Base64url encoded"
    if header is _BAD_JSON or not isinstance(header, dict):
        return "Jwt header is an invalid JSON"
    alg = header.get("alg")
    if not isinstance(alg, str):
        return "Jwt header [alg] field is required and must be a string"
    if alg not in _SUPPORTED_ALGS:
        return "Jwt header [alg] is not supported"
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        return "Jwt header [kid] field is not a string"
    ok, payload = _b64json(parts[1])
    if not ok:
        return "Jwt payload is an invalid Base64url encoded"
    if payload is _BAD_JSON or not isinstance(payload, dict):
        return "Jwt payload is an invalid JSON"
    for name in ("iss", "sub"):
        if name in payload and not isinstance(payload[name], str):
            return f"Jwt payload [{name}] field is not a string"
    for name in ("iat", "nbf", "exp"):
        problem = _int_claim(payload, name)
        if problem:
            return problem
    if "jti" in payload and not isinstance(payload["jti"], str):
        return "Jwt payload [jti] field is not a string"
    aud = payload.get("aud")
    if aud is not None and not (
        isinstance(aud, str) or (isinstance(aud, list) and all(isinstance(a, str) for a in aud))
    ):
        return "Jwt payload [aud] field is not a string or string list"
    if not _b64ok(parts[2]):
        return "Jwt signature is an invalid Base64url encoded"
    if payload.get("iss", "") != cfg.issuer:
        return "Jwt issuer is not configured"
    nbf = payload.get("nbf", 0)
    if nbf and nbf > now + CLOCK_SKEW_SECONDS:
        return "Jwt not yet valid"
    exp = payload.get("exp", 0)
    if exp and exp < now - CLOCK_SKEW_SECONDS:
        return "Jwt is expired"
    audiences = [aud] if isinstance(aud, str) else list(aud or [])
    if cfg.audience not in audiences:
        return "Audiences in Jwt are not allowed"
    if not any(
        (not kid or not k or kid == k) and (not a or a == alg) and alg.startswith(("RS", "PS"))
        for k, a in jwks_keys.items()
    ):
        return "Jwks doesn't have key to match kid or alg from Jwt"
    return None


class GatewayAuth:
    """Checks ``Authorization`` headers; caches accepted ones by header value."""

    def __init__(self, cfg: AuthConfig, *, cache_size: int = 4096) -> None:
        self._cfg = cfg
        self._verifier = TokenVerifier(cfg)
        jwks = json.loads(cfg.jwks_path.read_text())
        self._keys = {
            str(k.get("kid", "")): str(k.get("alg", ""))
            for k in jwks.get("keys", [])
            if k.get("kty") == "RSA"
        }
        self._cache: OrderedDict[str, tuple[Principal, float, float]] = OrderedDict()
        self._cache_size = cache_size

    def check(self, authorization: str | None, now: float | None = None) -> Principal | Rejection:
        now = time.time() if now is None else now
        if authorization is not None:
            hit = self._cache.get(authorization)
            if hit is not None:
                principal, nbf, exp = hit
                if nbf - CLOCK_SKEW_SECONDS <= now <= exp + CLOCK_SKEW_SECONDS:
                    return principal
                del self._cache[authorization]
        reason = envoy_rejection(authorization, self._cfg, self._keys, now)
        if reason is not None:
            return Rejection(reason, edge=True)
        try:
            principal = self._verifier.verify_header(authorization)
        except AuthError as exc:
            if isinstance(exc.__cause__, jwt.InvalidSignatureError):
                return Rejection(VERIFICATION_FAILS, edge=True)
            err = errors.Unauthenticated(str(exc))
            return Rejection(str(exc), edge=False, status=err.to_status())
        assert authorization is not None  # verify_header refuses a missing header
        nbf, exp = self._window(authorization)
        self._cache[authorization] = (principal, nbf, exp)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return principal

    @staticmethod
    def _window(authorization: str) -> tuple[float, float]:
        token = _extract(authorization) or ""
        parts = [p for p in token.split(".") if p]
        ok, payload = _b64json(parts[1]) if len(parts) == 3 else (False, None)
        if not ok or not isinstance(payload, dict):
            return 0.0, 0.0
        start = max(float(payload.get("nbf", 0)), float(payload.get("iat", 0)))
        return start, float(payload.get("exp", 0))
