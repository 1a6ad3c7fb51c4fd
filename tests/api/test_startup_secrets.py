"""Secret files and start-up: one permission check for every secret file, blank JWT claims
count as missing, HS256 secrets must look random, and the data directory, the SQLite
database with its WAL/SHM files and log files are private whatever the umask."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tronpay.auth import AuthConfig, AuthMisconfigured, JWTVerifier, mint_token
from tronpay.config import ConfigError, Settings
from tronpay.db.session import create_engine
from tronpay.kit.entropy import (
    MIN_ESTIMATED_BITS,
    estimated_entropy_bits,
    smallest_period,
    weak_secret_reason,
)
from tronpay.kit.private_files import open_private_log
from tronpay.tron.keys import PrivateKey


def _write(path: Path, data: bytes | str, mode: int) -> Path:
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    path.chmod(mode)
    return path


def _production(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "production",
        "data_dir": tmp_path / "data",
        "jwt_hs256_secret_file": _write(tmp_path / "good.secret", secrets.token_hex(32), 0o600),
        "jwt_audience": "payouts",
        "jwt_issuer": "idp",
        "network": "nile",  # production names its network (TRONPAY_NETWORK)
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def umask_zero() -> Iterator[None]:
    """Run with umask 0 so any file or directory made without an explicit mode is 0666/0777."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


# -- one permission check for every secret file ---------------------------------------------


def test_the_baseline_production_settings_start(tmp_path: Path) -> None:
    _production(tmp_path).check_startup()


@pytest.mark.parametrize(
    ("setting", "content"),
    [
        ("jwt_hs256_secret_file", secrets.token_hex(32)),
        ("node_api_key_file", "trongrid-api-key-0123"),
        ("hot_wallet_key_file", PrivateKey.generate().unsafe_export_secret().hex()),
        ("keystore_passphrase_file", "a passphrase\n"),
    ],
)
@pytest.mark.parametrize("mode", [0o644, 0o604, 0o660])
def test_a_world_or_group_writable_secret_file_refuses_start(
    tmp_path: Path, setting: str, content: str, mode: int
) -> None:
    path = _write(tmp_path / f"{setting}.txt", content, mode)
    settings = _production(tmp_path, **{setting: path})
    with pytest.raises(ConfigError) as info:
        settings.check_startup()
    assert f"TRONPAY_{setting.upper()}" in info.value.detail
    assert f"chmod 600 {path}" in info.value.detail
    assert content.strip() not in info.value.detail
    path.chmod(0o600)
    settings.check_startup()


def test_node_api_key_is_read_through_the_secret_file_check(tmp_path: Path) -> None:
    path = _write(tmp_path / "api.key", "  key-123\n", 0o644)
    settings = _production(tmp_path, node_api_key_file=path)
    with pytest.raises(ConfigError, match="chmod 600"):
        settings.node_api_key()
    path.chmod(0o600)
    assert settings.node_api_key() == "key-123"
    _write(path, " \n", 0o600)
    with pytest.raises(ConfigError, match="empty"):
        settings.node_api_key()
    assert Settings(data_dir=tmp_path).node_api_key() is None


def test_kubernetes_secret_volume_modes_start(tmp_path: Path) -> None:
    """Owner root, group = a group of this process (the pod's fsGroup), mode 0440."""
    secret = _write(tmp_path / "jwt.secret", secrets.token_hex(32), 0o440)
    api_key = _write(tmp_path / "api.key", "key", 0o440)
    try:
        for path in (secret, api_key):
            os.chown(path, 0, os.getegid())
    except PermissionError:
        pytest.skip("changing a file's owner needs root (the suite runs as root in CI)")
    settings = _production(tmp_path, jwt_hs256_secret_file=secret, node_api_key_file=api_key)
    settings.check_startup()
    assert settings.node_api_key() == "key"
    JWTVerifier.from_config(AuthConfig(algorithms=["HS256"], hs256_secret_file=secret))


def test_the_verifier_refuses_an_open_hs256_secret_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "jwt.secret", secrets.token_hex(32), 0o644)
    with pytest.raises(AuthMisconfigured, match="chmod 600"):
        JWTVerifier.from_config(AuthConfig(algorithms=["HS256"], hs256_secret_file=path))


# -- blank audience and issuer are missing ----------------------------------------------------


@pytest.mark.parametrize(("audience", "issuer"), [("", "idp"), ("  ", "idp"), ("aud", "\t \n")])
def test_blank_audience_or_issuer_refuses_production(
    tmp_path: Path, audience: str, issuer: str
) -> None:
    with pytest.raises(ConfigError, match="TRONPAY_JWT_AUDIENCE and TRONPAY_JWT_ISSUER"):
        _production(tmp_path, jwt_audience=audience, jwt_issuer=issuer).check_startup()


def test_blank_audience_from_the_environment_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRONPAY_JWT_AUDIENCE", "   ")
    monkeypatch.setenv("TRONPAY_JWT_ISSUER", " idp ")
    settings = Settings(data_dir=tmp_path)
    assert settings.jwt_audience is None
    assert settings.jwt_issuer == "idp"


# -- HS256 secrets must look random ---------------------------------------------------------

WEAK_SECRETS = [
    b"a" * 32,
    b"a" * 64,
    b"ab" * 32,
    b"0123456789abcdef" * 2,
    b"password" * 4,
    b"abcdefghijklmnopqrstuvwxyz012345",
    b"s" * 16 + b"0123456789abcdef0123",
    secrets.token_hex(16).encode(),  # 32 hex characters: 16 bytes of real entropy
    secrets.token_bytes(31),
]


@pytest.mark.parametrize("secret", WEAK_SECRETS)
def test_weak_hs256_secrets_are_refused(tmp_path: Path, secret: bytes) -> None:
    assert weak_secret_reason(secret) is not None
    path = _write(tmp_path / "jwt.secret", secret, 0o600)
    with pytest.raises(ConfigError, match="HS256 secret"):
        _production(tmp_path, jwt_hs256_secret_file=path).check_startup()
    with pytest.raises(AuthMisconfigured):
        JWTVerifier.from_config(AuthConfig(algorithms=["HS256"], hs256_secret_file=path))
    with pytest.raises(AuthMisconfigured):
        mint_token(secret, sub="a", scopes=[])


@pytest.mark.parametrize(
    "make",
    [
        lambda: secrets.token_hex(32).encode(),
        lambda: secrets.token_bytes(32),
        lambda: secrets.token_urlsafe(32).encode(),
    ],
    ids=["hex64", "raw32", "base64url43"],
)
def test_generated_secrets_pass_every_time(make: object) -> None:
    assert callable(make)
    for _ in range(2000):
        assert weak_secret_reason(make()) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=32, max_size=128))
def test_the_rule_is_the_documented_one(data: bytes) -> None:
    reason = weak_secret_reason(data)
    weak = smallest_period(data) * 2 <= len(data) or estimated_entropy_bits(data) < (
        MIN_ESTIMATED_BITS
    )
    assert (reason is not None) == weak


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=2, max_value=8))
def test_a_repeated_unit_is_always_found(unit: bytes, times: int) -> None:
    assert smallest_period(unit * times) <= len(unit)


# -- private data directory, database, WAL/SHM and log files ----------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_zero")
async def test_sqlite_files_and_data_dir_are_private_whatever_the_umask(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "nested"
    database = data_dir / "tronpay.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
        assert wal.exists()
        assert shm.exists()
        assert {_mode(p) for p in (database, wal, shm)} == {0o600}
        assert _mode(data_dir) == 0o700
        assert _mode(data_dir.parent) == 0o700
    finally:
        await engine.dispose()


@pytest.mark.usefixtures("umask_zero")
def test_dev_secret_and_log_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "dev").with_dev_defaults()
    secret = settings.jwt_hs256_secret_file
    assert secret is not None
    assert _mode(secret) == 0o600
    assert _mode(tmp_path / "dev") == 0o700
    settings.check_startup()  # the secret it made passes its own checks
    log = tmp_path / "logs" / "devnet.log"
    with os.fdopen(open_private_log(log), "wb") as sink:
        sink.write(b"line\n")
    assert _mode(log) == 0o600
    assert _mode(log.parent) == 0o700
