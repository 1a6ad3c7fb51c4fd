"""Settings (pydantic-settings, env prefix ``TRONPAY_``) and network presets.

Every variable of DESIGN §3.4 is here; the container's ``SERVICE_PORT`` and ``LUCID_ENV``
are accepted as aliases. Secrets are read from files (``*_FILE``) so Docker and Kubernetes
secrets work; their values are never part of a repr. Node, signer, engine and webhook
settings join later as more fields on the same class.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tronpay.errors import TronpayError


class ConfigError(TronpayError):
    code = "config_error"
    status = 500
    title = "The service is not configured correctly"


class Environment(StrEnum):
    PRODUCTION = "production"
    DEVELOPMENT = "development"


class Network(StrEnum):
    MAINNET = "mainnet"
    NILE = "nile"
    SHASTA = "shasta"
    DEVNET = "devnet"


@dataclass(frozen=True, slots=True)
class NetworkPreset:
    """Where a network's full nodes are and which contract is USDT there."""

    network: Network
    node_urls: tuple[str, ...]
    usdt_contract: str | None


PRESETS: Final[dict[Network, NetworkPreset]] = {
    Network.MAINNET: NetworkPreset(
        Network.MAINNET, ("https://api.trongrid.io",), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    ),
    Network.NILE: NetworkPreset(
        Network.NILE, ("https://nile.trongrid.io",), "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"
    ),
    # Shasta has no canonical USDT deployment: set TRONPAY_TOKEN_CONTRACT to use one.
    Network.SHASTA: NetworkPreset(Network.SHASTA, ("https://api.shasta.trongrid.io",), None),
    Network.DEVNET: NetworkPreset(
        Network.DEVNET, ("http://127.0.0.1:8091",), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    ),
}

DEV_JWT_SECRET_NAME: Final = "dev-jwt-secret"  # noqa: S105 - a file name, not a secret
MISSING_NETWORK: Final = (
    "TRONPAY_NETWORK is not set: production needs an explicit network (mainnet, nile, shasta "
    "or devnet) instead of the default, the local devnet on 127.0.0.1:8091"
)


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """tronpay configuration. Construct with keyword arguments in tests, from env otherwise."""

    model_config = SettingsConfigDict(
        env_prefix="TRONPAY_",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    env: Environment = Field(
        default=Environment.DEVELOPMENT, validation_alias=_alias("TRONPAY_ENV", "LUCID_ENV", "env")
    )
    service_name: str = Field(
        default="tronpay", validation_alias=_alias("SERVICE_NAME", "service_name")
    )
    host: str = "127.0.0.1"  # the container image sets TRONPAY_HOST=0.0.0.0
    port: int = Field(
        default=8090,
        ge=1,
        le=65535,
        validation_alias=_alias("TRONPAY_PORT", "SERVICE_PORT", "port"),
    )
    data_dir: Path = Path(".tronpay")
    database_url: str | None = None
    # PostgreSQL: open write transactions per process (see tronpay.db.session).
    db_write_concurrency: int = Field(default=4, ge=1, le=64)
    log_level: str = "info"
    # `tronpay serve --devnet`: where the child devnet listens (0.0.0.0 in the dev container)
    devnet_host: str = "127.0.0.1"
    log_json: bool = True

    network: Network = Network.DEVNET  # production refuses this default: see check_network
    node_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    node_api_key_file: Path | None = None
    token_contract: str | None = None

    hot_wallet_key_file: Path | None = None
    keystore_file: Path | None = None
    keystore_passphrase_file: Path | None = None
    hot_wallet_address: str | None = None

    jwt_hs256_secret_file: Path | None = None
    jwt_public_key_file: Path | None = None
    jwt_jwks_file: Path | None = None
    jwt_algorithms: Annotated[list[str], NoDecode] = Field(default_factory=list)
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway_s: int = Field(default=30, ge=0, le=600)

    policy_file: Path | None = None

    max_json_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_csv_body_bytes: int = Field(default=8_388_608, ge=1024)
    max_batch_rows: int = Field(default=10_000, ge=1)

    @field_validator("node_urls", "jwt_algorithms", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(" ", ",").split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    # -- derived values ---------------------------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def preset(self) -> NetworkPreset:
        return PRESETS[self.network]

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tronpay.db').resolve()}"

    @property
    def effective_node_urls(self) -> tuple[str, ...]:
        return tuple(self.node_urls) or self.preset.node_urls

    @property
    def effective_token_contract(self) -> str | None:
        return self.token_contract or self.preset.usdt_contract

    @property
    def has_auth_configuration(self) -> bool:
        return any(
            path is not None
            for path in (self.jwt_hs256_secret_file, self.jwt_public_key_file, self.jwt_jwks_file)
        )

    @property
    def network_is_explicit(self) -> bool:
        """Whether TRONPAY_NETWORK (or a keyword argument) chose the network."""
        return "network" in self.model_fields_set

    def check_network(self) -> None:
        """Production never falls back to the devnet preset (raises ``ConfigError``)."""
        if self.is_production and not self.network_is_explicit:
            raise ConfigError("refusing to start: " + MISSING_NETWORK)

    def check_startup(self) -> None:
        """Refuse to start with an unsafe configuration (raises ``ConfigError``)."""
        problems: list[str] = []
        if self.is_production:
            if not self.network_is_explicit:
                problems.append(MISSING_NETWORK)
            if not self.has_auth_configuration:
                problems.append(
                    "no token verification key: set TRONPAY_JWT_HS256_SECRET_FILE, "
                    "TRONPAY_JWT_PUBLIC_KEY_FILE or TRONPAY_JWT_JWKS_FILE"
                )
            if self.jwt_audience is None or self.jwt_issuer is None:
                problems.append("set TRONPAY_JWT_AUDIENCE and TRONPAY_JWT_ISSUER in production")
        for name in ("jwt_hs256_secret_file", "jwt_public_key_file", "jwt_jwks_file"):
            path: Path | None = getattr(self, name)
            if path is not None and not path.is_file():
                problems.append(f"TRONPAY_{name.upper()} points to a missing file: {path}")
        if self.effective_token_contract is None:
            problems.append(
                f"network {self.network} has no USDT preset: set TRONPAY_TOKEN_CONTRACT"
            )
        if problems:
            raise ConfigError("refusing to start: " + "; ".join(problems))

    def with_dev_defaults(self) -> Settings:
        """Development only: without any JWT configuration, use (and create once) an HS256
        secret file in the data dir so ``tronpay serve`` and ``tronpay token`` work with zero
        setup. Production settings are returned unchanged."""
        if self.is_production or self.has_auth_configuration:
            return self
        path = self.data_dir / DEV_JWT_SECRET_NAME
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_hex(32))
        return self.model_copy(update={"jwt_hs256_secret_file": path})
