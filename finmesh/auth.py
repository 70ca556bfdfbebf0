"""JWT signing (local dev) and verification (everywhere).

Tokens are RS256 JWTs; the user is the ``sub`` claim. Verification accepts only RS256 with a
key from the configured JWKS, checks ``exp``/``nbf``/``iat``, issuer and audience, and rejects
everything else (``alg: none``, HS256 signed with the public key, unknown ``kid``, ...).

The local stack keeps a dev key pair under ``$FINMESH_HOME/keys``: ``dev-signing-key.pem``
(private, used by ``finmesh token``) and ``jwks.json`` (public, read by Envoy, the gateway and
every service).
"""

from __future__ import annotations

import contextvars
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from finmesh.config import AuthConfig

ALGORITHM = "RS256"
PRIVATE_KEY_FILE = "dev-signing-key.pem"
JWKS_FILE = "jwks.json"
DEFAULT_SCOPE = "finmesh"
#: How many verified tokens a :class:`TokenVerifier` remembers.
CACHE_SIZE = 4096


principal_var: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "principal", default=None
)


class AuthError(Exception):
    """The request carries no usable credentials; ``str(err)`` says why (safe to show)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified claims of their token."""

    user_id: str
    scopes: frozenset[str]
    token_id: str


def generate_keys(keys_dir: Path, kid: str | None = None) -> Path:
    """Create a dev RSA key pair and its JWKS in ``keys_dir`` unless they exist. Returns the dir."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    private_path = keys_dir / PRIVATE_KEY_FILE
    jwks_path = keys_dir / JWKS_FILE
    if private_path.exists() and jwks_path.exists():
        return keys_dir
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid or uuid.uuid4().hex[:16], "use": "sig", "alg": ALGORITHM})
    jwks_path.write_text(json.dumps({"keys": [jwk]}, indent=2) + "\n")
    return keys_dir


def _kid(keys_dir: Path) -> str:
    jwks = json.loads((keys_dir / JWKS_FILE).read_text())
    return str(jwks["keys"][0]["kid"])


def sign_token(
    keys_dir: Path,
    auth: AuthConfig,
    user_id: str,
    *,
    ttl_seconds: int = 3600,
    scope: str = DEFAULT_SCOPE,
    now: float | None = None,
) -> str:
    """A token for ``user_id`` signed with the dev key. A negative ``ttl_seconds`` gives an
    already-expired token (for tests)."""
    if not user_id:
        raise ValueError("user id must not be empty")
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": auth.issuer,
        "aud": auth.audience,
        "sub": user_id,
        "iat": min(issued, issued + ttl_seconds),
        "nbf": min(issued, issued + ttl_seconds),
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "scope": scope,
    }
    key = (keys_dir / PRIVATE_KEY_FILE).read_bytes()
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": _kid(keys_dir)})


def current_user_id() -> str:
    """The verified user of the RPC being handled. The server interceptor guarantees one for
    every business RPC; a call outside an RPC is a programming error."""
    principal = principal_var.get()
    if principal is None:
        raise RuntimeError("no authenticated principal in this context")
    return principal.user_id


class TokenVerifier:
    """Verifies bearer tokens against a JWKS file (read once, at construction)."""

    def __init__(self, auth: AuthConfig, clock: Callable[[], float] = time.time) -> None:
        self._auth = auth
        self._clock = clock  # only for remembered tokens; PyJWT reads its own clock
        jwks = json.loads(Path(auth.jwks_path).read_text())
        self._keys: dict[str, Any] = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") != "RSA":
                continue
            self._keys[str(jwk.get("kid", ""))] = jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
        if not self._keys:
            raise ValueError(f"no RSA keys in JWKS {auth.jwks_path}")
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def verify_header(self, authorization: str | None) -> Principal:
        """Verify an ``Authorization`` header value (``Bearer <jwt>``)."""
        if not authorization:
            raise AuthError("missing bearer token")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("authorization must be 'Bearer <token>'")
        return self.verify(token.strip())

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; :class:`AuthError` saying why otherwise.

        A token that verified once is remembered with its expiry (at most
        :data:`CACHE_SIZE` of them, oldest forgotten first): the same string is the same
        signed claims, so only the clock is checked again; its ``nbf`` and ``iat`` only get
        further behind. Saves the RSA verification on every call of a client's session.
        """
        cached = self._verified.get(token)
        if cached is not None:
            principal, exp = cached
            if self._clock() <= exp + self._auth.leeway_seconds:
                return principal
            self._verified.pop(token, None)
            raise AuthError("token expired")
        principal, exp = self._verify_uncached(token)
        with self._lock:  # the gateway verifies in worker threads
            if len(self._verified) >= CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)), None)
            self._verified[token] = (principal, exp)
        return principal

    def _verify_uncached(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise AuthError(f"token algorithm must be {ALGORITHM}")
        kid = header.get("kid")
        key = self._keys.get(str(kid)) if kid is not None else None
        if key is None:
            if kid is None and len(self._keys) == 1:
                key = next(iter(self._keys.values()))
            else:
                raise AuthError("token signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self._auth.audience,
                issuer=self._auth.issuer,
                leeway=self._auth.leeway_seconds,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise AuthError("token not yet valid") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthError("token audience is not accepted") from exc
        except jwt.InvalidIssuerError as exc:
            raise AuthError("token issuer is not accepted") from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthError("token signature is invalid") from exc
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise AuthError("token has no subject")
        scope = claims.get("scope", "")
        scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
        principal = Principal(user_id=sub, scopes=scopes, token_id=str(claims.get("jti", "")))
        return principal, float(claims["exp"])
