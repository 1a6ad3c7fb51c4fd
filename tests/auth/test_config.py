"""Verifier configuration: refuse weak or inconsistent settings at start-up."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tronpay.auth import AuthConfig, AuthMisconfigured, JWTVerifier, mint_token
from tronpay.auth.keys import ensure_dev_hs256_secret, load_hs256_secret

from .support import Keys


def test_short_secret_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "short"
    secret.write_bytes(b"x" * 31 + b"\n")
    secret.chmod(0o600)
    with pytest.raises(AuthMisconfigured, match="at least 32 bytes"):
        JWTVerifier.from_config(AuthConfig(algorithms=["HS256"], hs256_secret_file=secret))


def test_mint_refuses_short_secret() -> None:
    with pytest.raises(AuthMisconfigured):
        mint_token(b"short", sub="a", scopes=[])


def test_missing_secret_file(tmp_path: Path) -> None:
    with pytest.raises(AuthMisconfigured, match="cannot read"):
        JWTVerifier.from_config(
            AuthConfig(algorithms=["HS256"], hs256_secret_file=tmp_path / "absent")
        )


@pytest.mark.parametrize("algorithms", [["none"], ["HS256", "none"], [], ["EdDSA"]])
def test_unsupported_algorithms(keys: Keys, algorithms: list[str]) -> None:
    with pytest.raises(AuthMisconfigured):
        JWTVerifier.from_config(
            AuthConfig(algorithms=algorithms, hs256_secret_file=keys.secret_file)
        )


def test_asymmetric_algorithm_needs_a_key(keys: Keys) -> None:
    with pytest.raises(AuthMisconfigured, match="no public key"):
        JWTVerifier.from_config(
            AuthConfig(algorithms=["HS256", "RS256"], hs256_secret_file=keys.secret_file)
        )


def test_hmac_algorithm_needs_a_secret(keys: Keys) -> None:
    with pytest.raises(AuthMisconfigured, match="no HS256 secret"):
        JWTVerifier.from_config(
            AuthConfig(algorithms=["HS256"], public_key_file=keys.rsa_public_file)
        )


def test_jwks_with_symmetric_key_is_refused(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}))
    with pytest.raises(AuthMisconfigured, match="RSA or EC"):
        JWTVerifier.from_config(AuthConfig(algorithms=["RS256"], jwks_file=jwks))


def test_public_key_file_must_be_pem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(AuthMisconfigured, match="not a PEM"):
        JWTVerifier.from_config(AuthConfig(algorithms=["RS256"], public_key_file=bad))


def test_from_env_defaults_follow_keys(keys: Keys) -> None:
    config = AuthConfig.from_env(
        {
            "TRONPAY_JWT_HS256_SECRET_FILE": str(keys.secret_file),
            "TRONPAY_JWT_JWKS_FILE": str(keys.jwks_file),
            "TRONPAY_JWT_AUDIENCE": "aud",
            "TRONPAY_JWT_ISSUER": "iss",
        }
    )
    assert config.algorithms == ["HS256", "RS256", "ES256"]
    assert (config.audience, config.issuer, config.leeway_s) == ("aud", "iss", 30)
    verifier = JWTVerifier.from_config(config)
    assert verifier.algorithms == frozenset({"HS256", "RS256", "ES256"})


def test_from_env_pinned_algorithms(keys: Keys) -> None:
    config = AuthConfig.from_env(
        {
            "TRONPAY_JWT_PUBLIC_KEY_FILE": str(keys.rsa_public_file),
            "TRONPAY_JWT_ALGORITHMS": "RS256",
            "TRONPAY_JWT_LEEWAY_S": "10",
        }
    )
    assert config.algorithms == ["RS256"]
    assert config.leeway_s == 10
    with pytest.raises(AuthMisconfigured):
        AuthConfig.from_env({"TRONPAY_JWT_LEEWAY_S": "ten"})


def test_dev_secret_is_created_once_and_private(tmp_path: Path) -> None:
    path = ensure_dev_hs256_secret(tmp_path / "dev" / "jwt.secret")
    first = load_hs256_secret(path)
    assert len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_hs256_secret(ensure_dev_hs256_secret(path)) == first
