"""Token checks at the gateway: Envoy's decisions and messages, the services' verifier, and a
cache that never outlives a token."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from finmesh import auth
from finmesh.auth import Principal
from finmesh.config import AuthConfig
from gateway.auth import GatewayAuth, Rejection


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, AuthConfig]:
    keys_dir = auth.generate_keys(tmp_path / "keys")
    return keys_dir, AuthConfig(jwks_path=keys_dir / auth.JWKS_FILE)


def test_valid_token_is_accepted_and_names_the_user(keys: tuple[Path, AuthConfig]) -> None:
    keys_dir, cfg = keys
    token = auth.sign_token(keys_dir, cfg, "alice")
    verdict = GatewayAuth(cfg).check(f"Bearer {token}")
    assert isinstance(verdict, Principal) and verdict.user_id == "alice"


def test_cached_token_still_expires(keys: tuple[Path, AuthConfig]) -> None:
    keys_dir, cfg = keys
    now = time.time()
    token = auth.sign_token(keys_dir, cfg, "alice", ttl_seconds=60, now=now)
    gw = GatewayAuth(cfg)
    assert isinstance(gw.check(f"Bearer {token}", now=now), Principal)
    assert isinstance(gw.check(f"Bearer {token}", now=now + 30), Principal)  # from the cache
    later = gw.check(f"Bearer {token}", now=now + 600)
    assert isinstance(later, Rejection)
    assert later.message == "Jwt is expired" and later.edge


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Jwt is missing"),
        ("Basic abc", "Jwt is missing"),
        ("bearer abc.def.ghi", "Jwt is missing"),
        (
            "Bearer not-a-jwt",
            "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections",
        ),
    ],
)
def test_malformed_headers_get_envoys_messages(
    keys: tuple[Path, AuthConfig], header: str | None, message: str
) -> None:
    verdict = GatewayAuth(keys[1]).check(header)
    assert isinstance(verdict, Rejection) and verdict.edge
    assert verdict.message == message


def test_wrong_issuer_audience_and_signature(keys: tuple[Path, AuthConfig], tmp_path: Path) -> None:
    keys_dir, cfg = keys
    gw = GatewayAuth(cfg)
    evil_iss = auth.sign_token(keys_dir, AuthConfig(issuer="evil", jwks_path=cfg.jwks_path), "u")
    evil_aud = auth.sign_token(keys_dir, AuthConfig(audience="evil", jwks_path=cfg.jwks_path), "u")
    kid = auth._kid(keys_dir)
    other = auth.generate_keys(tmp_path / "other", kid=kid)
    forged = auth.sign_token(other, cfg, "u")
    got = {
        name: gw.check(f"Bearer {tok}")
        for name, tok in {"iss": evil_iss, "aud": evil_aud, "sig": forged}.items()
    }
    assert {k: v.message for k, v in got.items() if isinstance(v, Rejection)} == {
        "iss": "Jwt issuer is not configured",
        "aud": "Audiences in Jwt are not allowed",
        "sig": "Jwt verification fails",
    }


def test_tokens_envoy_passes_but_services_refuse_get_the_services_status(
    keys: tuple[Path, AuthConfig],
) -> None:
    keys_dir, cfg = keys
    future_iat = auth.sign_token(keys_dir, cfg, "u", ttl_seconds=3600)
    # A token whose iat is in the future but nbf is now: Envoy ignores iat, PyJWT does not.
    import jwt

    key = (keys_dir / auth.PRIVATE_KEY_FILE).read_bytes()
    claims = jwt.decode(future_iat, options={"verify_signature": False})
    claims["iat"] = int(time.time()) + 3600
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": auth._kid(keys_dir)})
    verdict = GatewayAuth(cfg).check(f"Bearer {token}")
    assert isinstance(verdict, Rejection) and not verdict.edge
    assert verdict.status.code == 16 and verdict.message == "token not yet valid"
