"""Token verification, the logic every service runs on every business RPC."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from finmesh import auth
from finmesh.config import AuthConfig
from tests import tokens


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AuthConfig]:
    keys_dir = auth.generate_keys(tmp_path_factory.mktemp("keys"))
    return keys_dir, AuthConfig(jwks_path=keys_dir / auth.JWKS_FILE)


def test_valid_token_yields_its_subject(keys: tuple[Path, AuthConfig]) -> None:
    keys_dir, cfg = keys
    token = auth.sign_token(keys_dir, cfg, "alice")
    principal = auth.TokenVerifier(cfg).verify_header(f"Bearer {token}")
    assert principal.user_id == "alice"
    assert "finmesh" in principal.scopes


@pytest.mark.parametrize(
    "name",
    [
        "expired",
        "not_yet_valid",
        "other_key",
        "alg_none",
        "hs256_public_key",
        "wrong_issuer",
        "wrong_audience",
        "garbage",
    ],
)
def test_bad_tokens_are_refused(keys: tuple[Path, AuthConfig], tmp_path: Path, name: str) -> None:
    keys_dir, cfg = keys
    token = tokens.bad_tokens(keys_dir, tmp_path, cfg)[name]
    with pytest.raises(auth.AuthError):
        auth.TokenVerifier(cfg).verify_header(f"Bearer {token}")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz"])
def test_missing_or_malformed_header_is_refused(
    keys: tuple[Path, AuthConfig], header: str | None
) -> None:
    _, cfg = keys
    with pytest.raises(auth.AuthError):
        auth.TokenVerifier(cfg).verify_header(header)


def test_not_yet_valid_token_is_refused(keys: tuple[Path, AuthConfig]) -> None:
    keys_dir, cfg = keys
    import time

    token = auth.sign_token(keys_dir, cfg, "bob", now=time.time() + 3600)
    with pytest.raises(auth.AuthError, match="not yet valid"):
        auth.TokenVerifier(cfg).verify(token)


def test_generate_keys_keeps_existing_keys(tmp_path: Path) -> None:
    first = (auth.generate_keys(tmp_path) / auth.JWKS_FILE).read_text()
    second = (auth.generate_keys(tmp_path) / auth.JWKS_FILE).read_text()
    assert first == second


def test_a_remembered_token_is_refused_once_it_expires(keys: tuple[Path, AuthConfig]) -> None:
    keys_dir, cfg = keys
    now = [time.time()]
    verifier = auth.TokenVerifier(cfg, clock=lambda: now[0])
    token = auth.sign_token(keys_dir, cfg, "carol", ttl_seconds=60)
    assert verifier.verify(token).user_id == "carol"
    now[0] += 30
    assert verifier.verify(token).user_id == "carol"  # remembered, still valid
    now[0] += 30 + cfg.leeway_seconds + 1
    with pytest.raises(auth.AuthError, match="expired"):
        verifier.verify(token)


def test_a_tampered_copy_of_a_remembered_token_is_refused(keys: tuple[Path, AuthConfig]) -> None:
    keys_dir, cfg = keys
    verifier = auth.TokenVerifier(cfg)
    token = auth.sign_token(keys_dir, cfg, "dave")
    verifier.verify(token)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(auth.AuthError):
        verifier.verify(forged)
