"""Tokens good and bad, for auth tests at every layer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm

from finmesh import auth
from finmesh.config import AuthConfig


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(cfg: AuthConfig, user: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    out: dict[str, Any] = {
        "iss": cfg.issuer,
        "aud": cfg.audience,
        "sub": user,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    out.update(overrides)
    return out


def alg_none(cfg: AuthConfig, user: str) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims(cfg, user)).encode())}."


def hs256_with_public_key(cfg: AuthConfig, user: str) -> str:
    """The classic key-confusion attack: HMAC keyed with the server's public key."""
    jwks = json.loads(Path(cfg.jwks_path).read_text())
    jwk = jwks["keys"][0]
    public_pem = RSAAlgorithm.from_jwk(jwk).public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}).encode())
    body = _b64(json.dumps(claims(cfg, user)).encode())
    sig = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(sig)}"


def other_key(tmp_dir: Path, cfg: AuthConfig, user: str) -> str:
    """Signed correctly, but by a key the stack does not trust (same kid as the real one)."""
    real_kid = json.loads(Path(cfg.jwks_path).read_text())["keys"][0]["kid"]
    keys = auth.generate_keys(tmp_dir / "other-keys", kid=real_kid)
    return auth.sign_token(keys, cfg, user)


def bad_tokens(keys_dir: Path, tmp_dir: Path, cfg: AuthConfig, user: str = "u1") -> dict[str, str]:
    """Every kind of token that must be refused, by name."""
    return {
        "expired": auth.sign_token(keys_dir, cfg, user, ttl_seconds=-120),
        "other_key": other_key(tmp_dir, cfg, user),
        "alg_none": alg_none(cfg, user),
        "hs256_public_key": hs256_with_public_key(cfg, user),
        "wrong_issuer": auth.sign_token(
            keys_dir,
            AuthConfig(issuer="evil", audience=cfg.audience, jwks_path=cfg.jwks_path),
            user,
        ),
        "wrong_audience": auth.sign_token(
            keys_dir, AuthConfig(issuer=cfg.issuer, audience="evil", jwks_path=cfg.jwks_path), user
        ),
        "not_yet_valid": auth.sign_token(keys_dir, cfg, user, now=time.time() + 3600),
        "garbage": "not-a-jwt",
    }
