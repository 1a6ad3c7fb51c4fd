"""Settings (pydantic-settings, env prefix ``TRONPAY_``) and network presets.

Every ``TRONPAY_*`` variable of the service is a field here, with a description;
``scripts/gen_config_docs.py`` turns them into docs/configuration.md and .env.example (the
engine's ``TRONPAY_ENGINE_*`` live in ``tronpay.engine.config``). The container's
``SERVICE_PORT`` and ``LUCID_ENV`` are accepted as aliases. Secrets are read from files
(``*_FILE``) so Docker and Kubernetes secrets work; their values are never part of a repr.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tronpay.auth.errors import AuthMisconfigured
from tronpay.auth.keys import ensure_dev_hs256_secret, load_hs256_secret
from tronpay.errors import ConfigError
from tronpay.kit.money import InvalidAmount, parse_amount
from tronpay.signer.errors import SecretFileError
from tronpay.signer.files import check_secret_file, read_secret_file


class Environment(StrEnum):
    PRODUCTION = "production"
    DEVELOPMENT = "development"


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class MetricsAuth(StrEnum):
    OPEN = "open"
    TOKEN = "token"  # noqa: S105 - a mode, not a secret


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
# Settings naming secret files: each passes the permission check of tronpay.signer.files.
SECRET_FILE_SETTINGS: Final = (
    "jwt_hs256_secret_file",
    "node_api_key_file",
    "hot_wallet_key_file",
    "keystore_file",
    "keystore_passphrase_file",
)
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
        default=Environment.DEVELOPMENT,
        validation_alias=_alias("TRONPAY_ENV", "LUCID_ENV", "env"),
        description=(
            "`production` refuses to start without token verification keys, audience, issuer "
            "and an explicit network; `development` allows the zero-setup defaults"
        ),
    )
    service_name: str = Field(
        default="tronpay",
        validation_alias=_alias("SERVICE_NAME", "service_name"),
        description="the deployment's service name (read from `SERVICE_NAME`; informational)",
    )
    host: str = Field(
        default="127.0.0.1",
        description="address the HTTP API listens on (the container image sets 0.0.0.0)",
    )
    port: int = Field(
        default=8090,
        ge=1,
        le=65535,
        validation_alias=_alias("TRONPAY_PORT", "SERVICE_PORT", "port"),
        description="port the HTTP API listens on",
    )
    data_dir: Path = Field(
        default=Path(".tronpay"),
        description=(
            "directory for the SQLite database, the development JWT secret and the devnet's "
            "files (created with mode 0700)"
        ),
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL (`postgresql+asyncpg://...` or `sqlite+aiosqlite:///...`); unset: "
            "SQLite at `<data dir>/tronpay.db`"
        ),
    )
    db_write_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description="PostgreSQL: open write transactions per process (SQLite: always 1)",
    )
    log_level: str = Field(
        default="info", description="`debug`, `info`, `warning`, `error` or `critical`"
    )
    devnet_host: str = Field(
        default="127.0.0.1",
        description=(
            "where `tronpay serve --devnet` starts its child devnet (0.0.0.0 in the development "
            "container)"
        ),
    )
    log_format: LogFormat | None = Field(
        default=None,
        description=(
            "log lines as JSON (one object a line) or a human console format; unset: JSON in "
            "production, the console format in development"
        ),
    )
    log_json: bool = Field(
        default=True,
        description="older spelling: `false` means `TRONPAY_LOG_FORMAT=console`",
    )
    log_file: Path | None = Field(
        default=None,
        description="also write the JSON lines to this file (e.g. /app/logs/tronpay.log)",
    )
    log_file_max_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1024, description="rotate the log file at this size"
    )
    log_file_backups: int = Field(default=5, ge=0, le=100, description="rotated log files to keep")
    log_access: bool = Field(
        default=False,
        description=(
            "uvicorn's access lines (`http.access`, one per request); off because the request "
            "metrics count every request already"
        ),
    )

    metrics_auth: MetricsAuth | None = Field(
        default=None,
        description=(
            "who may read the API's `GET /metrics`: `open`, or `token` (a bearer token with "
            "`metrics:read`); unset: open in development, token in production"
        ),
    )
    metrics_host: str | None = Field(
        default=None,
        description="address of the separate metrics listener; unset: `TRONPAY_HOST`",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description=(
            "a separate, unauthenticated metrics listener on this port (the worker's only one); "
            "keep it on an internal network"
        ),
    )
    metrics_db_refresh_s: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="seconds between recomputations of the database-derived gauges (per process)",
    )
    metrics_chain_refresh_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description=(
            "seconds between reads of the chain-derived gauges (node heads, hot wallet "
            "balances: node requests that count against an API key's quota)"
        ),
    )

    network: Network = Field(
        default=Network.DEVNET,
        description=(
            "the TRON network, which picks the preset node URLs and USDT contract; production "
            "refuses to start on the default"
        ),
    )
    node_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="full node URLs, comma- or space-separated; unset: the network's preset",
    )
    node_api_key_file: Path | None = Field(
        default=None,
        description="secret file holding the node API key, sent as `TRON-PRO-API-KEY` (TronGrid)",
    )
    token_contract: str | None = Field(
        default=None,
        description="the USDT TRC20 contract address; unset: the network's preset",
    )

    hot_wallet_key_file: Path | None = Field(
        default=None,
        description="secret file holding the hot wallet's private key (64 hex digits, mode 0600)",
    )
    keystore_file: Path | None = Field(
        default=None,
        description="an encrypted keystore (`tronpay keys encrypt`) instead of a hex key file",
    )
    keystore_passphrase_file: Path | None = Field(
        default=None, description="secret file holding the keystore's passphrase"
    )
    hot_wallet_address: str | None = Field(
        default=None,
        description=(
            "the hot wallet's address, for processes without its key (API replicas): refused "
            "as a recipient and shown by `GET /v1/wallet`; unset: derived from the key"
        ),
    )

    jwt_hs256_secret_file: Path | None = Field(
        default=None,
        description=(
            "secret file with the HS256 token secret (at least 32 random bytes); development "
            "without any key creates `<data dir>/dev-jwt-secret`"
        ),
    )
    jwt_public_key_file: Path | None = Field(
        default=None, description="PEM public key verifying RS256/PS256 or ES256 tokens"
    )
    jwt_jwks_file: Path | None = Field(
        default=None, description='a JWKS document (`{"keys": [...]}`) of verification keys'
    )
    jwt_algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "the accepted algorithms, comma- or space-separated; unset: HS256 with a secret "
            "file, RS256 and ES256 with a public key or JWKS file"
        ),
    )
    jwt_audience: str | None = Field(
        default=None, description="the required `aud` claim (required in production)"
    )
    jwt_issuer: str | None = Field(
        default=None, description="the required `iss` claim (required in production)"
    )
    jwt_leeway_s: int = Field(
        default=30, ge=0, le=600, description="clock skew allowed on `exp`, `nbf` and `iat`"
    )
    jwt_tenant_claim: str | None = Field(
        default=None,
        description=(
            "the claim naming a token's tenant (e.g. `org`); unset: every token shares the "
            "tenant `default`"
        ),
    )

    policy_file: Path | None = Field(
        default=None,
        description=(
            "the payout policy (TOML, see `configs/policy.example.toml`); unset: no limits"
        ),
    )

    http_header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description=(
            "seconds a client has to finish a request's headers, from connecting or from its "
            "previous response"
        ),
    )
    http_keep_alive_s: int = Field(
        default=5, ge=1, le=300, description="an idle keep-alive connection is closed after this"
    )
    http_max_connections: int = Field(
        default=1000,
        ge=16,
        le=1_000_000,
        description="open client connections per process (kept 256 below the descriptor limit)",
    )
    idempotency_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="an `Idempotency-Key` is forgotten this many days after its first use",
    )
    ready_node_cache_s: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="seconds `/ready` reuses its node result (0: ask the node on every call)",
    )

    webhook_allow_private: bool = Field(
        default=False,
        description=(
            "allow webhook URLs that resolve to loopback, private or link-local addresses "
            "(tests and private receivers only)"
        ),
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="time limit of one delivery attempt"
    )
    webhook_retry_base_s: float = Field(
        default=5.0, gt=0, le=3600, description="first retry delay; doubles (with jitter)"
    )
    webhook_retry_max_s: float = Field(
        default=3600.0, gt=0, le=86_400, description="longest delay between two retries"
    )
    webhook_retry_for_s: float = Field(
        default=90_000.0,
        gt=0,
        le=30 * 86_400,
        description="retries stop this long after the event (the delivery is then `failed`)",
    )
    webhook_poll_s: float = Field(
        default=1.0, gt=0, le=60, description="how often the delivery worker looks for work"
    )
    webhook_concurrency: int = Field(
        default=8, ge=1, le=256, description="deliveries in flight per process"
    )

    # wallet.low (tronpay.wallet.low): the engine reads the hot wallet every
    # ``wallet_low_check_s`` and sends the event once when a reading goes below a threshold
    # (TRX and USDT as decimal strings, energy as an integer); unset: that check is off.
    wallet_low_trx: str | None = Field(
        default=None,
        description='wallet.low when the TRX balance goes below this (TRX, e.g. "200")',
    )
    wallet_low_usdt: str | None = Field(
        default=None, description='wallet.low when the USDT balance goes below this (e.g. "5000")'
    )
    wallet_low_energy: int | None = Field(
        default=None, ge=0, description="wallet.low when available energy goes below this"
    )
    wallet_low_check_s: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="seconds between the engine's wallet.low readings",
    )

    max_json_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="largest JSON request body (larger: 413)"
    )
    max_csv_body_bytes: int = Field(
        default=8_388_608, ge=1024, description="largest CSV batch body (larger: 413)"
    )
    max_batch_rows: int = Field(default=10_000, ge=1, description="most payouts in one batch")

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

    @field_validator("wallet_low_trx", "wallet_low_usdt")
    @classmethod
    def _wallet_low_amount(cls, value: str | None) -> str | None:
        text = (value or "").strip()
        if not text:
            return None
        try:
            parse_amount(text, allow_zero=True)
        except InvalidAmount as exc:
            raise ValueError(exc.detail) from None
        return text

    @field_validator("wallet_low_energy", mode="before")
    @classmethod
    def _blank_energy_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("jwt_audience", "jwt_issuer", "jwt_tenant_claim")
    @classmethod
    def _blank_claim_is_none(cls, value: str | None) -> str | None:
        # A blank or whitespace-only audience or issuer is not configured at all.
        return (value or "").strip() or None

    # -- derived values ---------------------------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def effective_metrics_auth(self) -> MetricsAuth:
        if self.metrics_auth is not None:
            return self.metrics_auth
        return MetricsAuth.TOKEN if self.is_production else MetricsAuth.OPEN

    @property
    def effective_metrics_host(self) -> str:
        return self.metrics_host or self.host

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
        problems.extend(self._secret_file_problems())
        if self.effective_token_contract is None:
            problems.append(
                f"network {self.network} has no USDT preset: set TRONPAY_TOKEN_CONTRACT"
            )
        if problems:
            raise ConfigError("refusing to start: " + "; ".join(problems))

    def _secret_file_problems(self) -> list[str]:
        """Every configured secret file passes the same permission check (see
        ``tronpay.signer.files``); the HS256 secret is also long and random enough."""
        problems: dict[str, str] = {}
        for name in SECRET_FILE_SETTINGS:
            path: Path | None = getattr(self, name)
            if path is None or not path.exists():
                continue  # a missing JWT file is reported above; a key file where it is used
            try:
                check_secret_file(path, what=f"TRONPAY_{name.upper()}")
            except SecretFileError as exc:
                problems[name] = exc.detail
        secret = self.jwt_hs256_secret_file
        if secret is not None and secret.is_file() and "jwt_hs256_secret_file" not in problems:
            try:
                load_hs256_secret(secret)
            except AuthMisconfigured as exc:
                problems["jwt_hs256_secret_file"] = exc.detail
        return list(problems.values())

    def node_api_key(self) -> str | None:
        """The node API key (TronGrid's ``TRON-PRO-API-KEY``) from its secret file, or
        ``None`` when not configured. Raises ``ConfigError`` for an unsafe or empty file."""
        if self.node_api_key_file is None:
            return None
        try:
            data = read_secret_file(self.node_api_key_file, what="TRONPAY_NODE_API_KEY_FILE")
            key = data.decode("utf-8").strip()
        except SecretFileError as exc:
            raise ConfigError(exc.detail) from None
        except UnicodeDecodeError:
            raise ConfigError("TRONPAY_NODE_API_KEY_FILE is not UTF-8 text") from None
        if not key:
            raise ConfigError("TRONPAY_NODE_API_KEY_FILE is empty")
        return key

    def with_dev_defaults(self) -> Settings:
        """Development only: without any JWT configuration, use (and create once) an HS256
        secret file in the data dir so ``tronpay serve`` and ``tronpay token`` work with zero
        setup. Production settings are returned unchanged."""
        if self.is_production or self.has_auth_configuration:
            return self
        path = ensure_dev_hs256_secret(self.data_dir / DEV_JWT_SECRET_NAME)
        return self.model_copy(update={"jwt_hs256_secret_file": path})
