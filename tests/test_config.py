"""Settings: env names and aliases, presets with valid base58check addresses, production
refusals, and secrets kept out of reprs."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tronpay.config import PRESETS, Network, Settings
from tronpay.errors import ConfigError
from tronpay.tron.address import decode_base58


@pytest.mark.parametrize("network", list(Network))
def test_every_preset_address_has_a_valid_checksum(network: Network) -> None:
    preset = PRESETS[network]
    assert preset.node_urls
    if preset.usdt_contract is not None:
        assert len(decode_base58(preset.usdt_contract)) == 21


def test_mainnet_and_devnet_use_the_real_usdt_contract() -> None:
    assert PRESETS[Network.MAINNET].usdt_contract == "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    assert PRESETS[Network.DEVNET].node_urls == ("http://127.0.0.1:8091",)


def test_environment_names_and_aliases(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SERVICE_PORT", "9000")
    monkeypatch.setenv("LUCID_ENV", "production")
    monkeypatch.setenv("TRONPAY_NODE_URLS", "http://a:1, http://b:2")
    monkeypatch.setenv("TRONPAY_NETWORK", "nile")
    monkeypatch.setenv("TRONPAY_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.port == 9000
    assert settings.is_production
    assert settings.effective_node_urls == ("http://a:1", "http://b:2")
    assert settings.effective_token_contract == "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.effective_database_url.endswith("tronpay.db")
    monkeypatch.setenv("TRONPAY_PORT", "9100")
    assert Settings().port == 9100


def test_production_refuses_without_auth(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TRONPAY_JWT_HS256_SECRET_FILE"):
        Settings(env="production", data_dir=tmp_path).check_startup()
    secret = tmp_path / "s"
    secret.write_text(secrets.token_hex(32))
    secret.chmod(0o600)
    with pytest.raises(ConfigError, match="AUDIENCE"):
        Settings(env="production", jwt_hs256_secret_file=secret).check_startup()
    Settings(
        env="production",
        network="nile",
        jwt_hs256_secret_file=secret,
        jwt_audience="a",
        jwt_issuer="i",
    ).check_startup()


def test_production_refuses_the_default_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "s"
    secret.write_text(secrets.token_hex(32))
    secret.chmod(0o600)
    complete = {"jwt_hs256_secret_file": secret, "jwt_audience": "a", "jwt_issuer": "i"}
    implicit = Settings(env="production", **complete)
    assert implicit.network is Network.DEVNET  # the default, which production must not use
    with pytest.raises(ConfigError, match="TRONPAY_NETWORK is not set") as refused:
        implicit.check_startup()
    assert "127.0.0.1:8091" in refused.value.detail
    with pytest.raises(ConfigError, match="TRONPAY_NETWORK is not set"):
        implicit.check_network()
    # Development keeps the zero-setup default.
    Settings(env="development", **complete).check_network()
    # Chosen explicitly, even the devnet is accepted (e.g. a staging stack with its own node).
    monkeypatch.setenv("LUCID_ENV", "production")
    monkeypatch.setenv("TRONPAY_NETWORK", "devnet")
    from_env = Settings(**complete)
    assert from_env.is_production
    from_env.check_startup()


def test_shasta_needs_a_token_contract(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TRONPAY_TOKEN_CONTRACT"):
        Settings(network="shasta", data_dir=tmp_path).with_dev_defaults().check_startup()


def test_dev_defaults_create_a_private_secret_once(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).with_dev_defaults()
    assert first.jwt_hs256_secret_file is not None
    assert first.jwt_hs256_secret_file.stat().st_mode & 0o077 == 0
    content = first.jwt_hs256_secret_file.read_text()
    again = Settings(data_dir=tmp_path).with_dev_defaults()
    assert again.jwt_hs256_secret_file is not None
    assert again.jwt_hs256_secret_file.read_text() == content
    assert content not in repr(again)
    production = Settings(data_dir=tmp_path / "p", env="production").with_dev_defaults()
    assert production.jwt_hs256_secret_file is None
