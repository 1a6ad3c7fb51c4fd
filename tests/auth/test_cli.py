"""``tronpay token``: a real process; its token verifies with the same configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tronpay.auth import AuthConfig, JWTVerifier, Scope

from .support import Keys

TRONPAY = str(Path(sys.executable).with_name("tronpay"))


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRONPAY_", "LUCID_"))}
    return subprocess.run(
        [TRONPAY, *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_token_verifies(keys: Keys, tmp_path: Path) -> None:
    env = {
        "TRONPAY_JWT_HS256_SECRET_FILE": str(keys.secret_file),
        "TRONPAY_JWT_AUDIENCE": "tronpay-api",
        "TRONPAY_JWT_ISSUER": "tronpay-dev",
        "TRONPAY_DATA_DIR": str(tmp_path),
    }
    result = run(["token", "--sub", "ops", "--scope", "payouts:read payouts:write"], env)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.count(".") == 2
    principal = JWTVerifier.from_config(AuthConfig.from_env(env)).verify(token)
    assert principal.subject == "ops"
    assert principal.scopes == frozenset({Scope.PAYOUTS_READ, Scope.PAYOUTS_WRITE})


def test_unknown_scope_exits_2(keys: Keys, tmp_path: Path) -> None:
    env = {
        "TRONPAY_JWT_HS256_SECRET_FILE": str(keys.secret_file),
        "TRONPAY_DATA_DIR": str(tmp_path),
    }
    result = run(["token", "--sub", "ops", "--scope", "payouts:steal"], env)
    assert result.returncode == 2
    assert "unknown scope" in result.stderr


def test_no_hs256_secret_exits_2(keys: Keys, tmp_path: Path) -> None:
    env = {
        "TRONPAY_ENV": "production",
        "TRONPAY_JWT_PUBLIC_KEY_FILE": str(keys.rsa_public_file),
        "TRONPAY_DATA_DIR": str(tmp_path),
    }
    result = run(["token", "--sub", "ops", "--scope", "all"], env)
    assert result.returncode == 2
    assert "no local HS256 secret" in result.stderr
    assert result.stdout == ""


def test_development_uses_the_dev_secret(tmp_path: Path) -> None:
    result = run(["token", "--sub", "dev", "--scope", "all"], {"TRONPAY_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    secret_file = tmp_path / "dev-jwt-secret"
    config = AuthConfig(algorithms=["HS256"], hs256_secret_file=secret_file)
    assert JWTVerifier.from_config(config).verify(result.stdout.strip()).has(Scope.AUDIT_READ)


def test_token_carries_the_tenant_in_the_configured_claim(keys: Keys, tmp_path: Path) -> None:
    env = {
        "TRONPAY_JWT_HS256_SECRET_FILE": str(keys.secret_file),
        "TRONPAY_JWT_TENANT_CLAIM": "org",
        "TRONPAY_DATA_DIR": str(tmp_path),
    }
    result = run(["token", "--sub", "ops", "--scope", "all admin", "--tenant", "acme"], env)
    assert result.returncode == 0, result.stderr
    principal = JWTVerifier.from_config(AuthConfig.from_env(env)).verify(result.stdout.strip())
    assert (principal.subject, principal.tenant) == ("ops", "acme")
    assert Scope.ADMIN in principal.scopes
    # "all" alone is one tenant's client scopes: never admin.
    plain = run(["token", "--sub", "ops", "--scope", "all", "--tenant", "acme"], env)
    everyday = JWTVerifier.from_config(AuthConfig.from_env(env)).verify(plain.stdout.strip())
    assert Scope.ADMIN not in everyday.scopes
    for args, message in (
        (["--scope", "all"], "--tenant"),
        (["--scope", "all", "--tenant", "a/b"], "a tenant is"),
    ):
        refused = run(["token", "--sub", "ops", *args], env)
        assert refused.returncode == 2
        assert message in refused.stderr
    without_claim = {k: v for k, v in env.items() if k != "TRONPAY_JWT_TENANT_CLAIM"}
    refused = run(["token", "--sub", "ops", "--scope", "all", "--tenant", "acme"], without_claim)
    assert refused.returncode == 2
    assert "TRONPAY_JWT_TENANT_CLAIM" in refused.stderr
