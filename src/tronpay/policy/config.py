"""The policy file (TOML) and its environment overrides.

```toml
[limits.USDT]
max_per_payout = "10000"          # decimal string in asset units, converted exactly
daily_total = "100000"            # rolling 24 h, all destinations
daily_per_destination = "20000"   # rolling 24 h, one destination
approval_threshold = "5000"       # amount >= threshold -> pending_approval
daily_approval_per_destination = "8000"  # rolling 24 h to one destination >= this -> approval
max_fee_per_payout = "15"         # TRX one payout may burn; above it the payout waits

[destinations]
deny = ["T..."]
# allow = ["T..."]                # present (even empty) = only these destinations

[auto_stake]                      # optional, off by default (policy/auto_stake.py)
enabled = false
min_energy = 1000000
reserve = "500"
```

An integer instead of a string is taken as base units (``max_per_payout = 10000000000``).
A missing field means "no limit". Environment overrides (applied after the file):
``TRONPAY_POLICY_<FIELD>_<ASSET>`` (e.g. ``TRONPAY_POLICY_MAX_PER_PAYOUT_USDT="500"``, an empty
value removes the limit), ``TRONPAY_POLICY_DENY_LIST`` (comma-separated, added to the file's)
and ``TRONPAY_POLICY_ALLOW_LIST`` (comma-separated, replaces the file's).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import structlog

from tronpay.errors import TronpayError
from tronpay.kit.money import DECIMALS, MAX_BASE_UNITS, Asset, format_amount, parse_amount
from tronpay.policy.auto_stake import AutoStakeConfig, auto_stake_from_mapping
from tronpay.policy.errors import PolicyConfigError
from tronpay.tron.address import normalize
from tronpay.tron.errors import InvalidAddressError

log = structlog.get_logger(__name__)

LIMIT_FIELDS: Final = (
    "max_per_payout",
    "daily_total",
    "daily_per_destination",
    "approval_threshold",
    "daily_approval_per_destination",
    "max_fee_per_payout",
)
ASSET_DECIMALS: Final = {asset.value: DECIMALS for asset in Asset}
ENV_PREFIX: Final = "TRONPAY_POLICY_"


@dataclass(frozen=True, slots=True)
class AssetLimits:
    """Limits for one asset, in base units; ``None`` means unlimited.

    ``approval_threshold`` applies to one payout's amount; ``daily_approval_per_destination``
    to the rolling 24 h sum sent to one destination including the new payout, so an amount
    split into payouts under ``approval_threshold`` still needs a second person once the
    destination's sum reaches it. ``max_fee_per_payout`` is in sun (TRX base units) whatever
    the asset: the most TRX the engine lets one payout of this asset burn (energy stake does
    not cover, bandwidth, activation); a payout above it waits with ``blocked_reason``
    ``insufficient_energy`` (or ``fee_above_max``)."""

    max_per_payout: int | None = None
    daily_total: int | None = None
    daily_per_destination: int | None = None
    approval_threshold: int | None = None
    daily_approval_per_destination: int | None = None
    max_fee_per_payout: int | None = None

    def describe(self) -> dict[str, str | None]:
        """The limits as decimal strings (for docs, logs and the API)."""
        return {
            name: None if getattr(self, name) is None else format_amount(getattr(self, name))
            for name in LIMIT_FIELDS
        }


NO_LIMITS: Final = AssetLimits()  # an asset the policy does not name (one shared instance)


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The whole policy. ``allow_list`` ``None`` means any destination not denied."""

    limits: Mapping[str, AssetLimits] = field(default_factory=dict)
    deny_list: frozenset[str] = frozenset()
    allow_list: frozenset[str] | None = None
    auto_stake: AutoStakeConfig = field(default_factory=AutoStakeConfig)  # off unless enabled

    def for_asset(self, asset: str) -> AssetLimits:
        return self.limits.get(asset.upper(), NO_LIMITS)

    def max_fees(self) -> dict[str, int]:
        """``max_fee_per_payout`` (sun) of every asset that sets one."""
        return {
            asset: limits.max_fee_per_payout
            for asset, limits in self.limits.items()
            if limits.max_fee_per_payout is not None
        }

    @property
    def is_unlimited(self) -> bool:
        return (
            all(value is None for limits in self.limits.values() for value in _values(limits))
            and not self.deny_list
            and self.allow_list is None
        )


def _values(limits: AssetLimits) -> list[int | None]:
    return [getattr(limits, name) for name in LIMIT_FIELDS]


def parse_limit(value: Any, *, where: str, decimals: int = DECIMALS) -> int:
    """A limit from TOML/env: decimal string in asset units, or integer base units."""
    if isinstance(value, bool | float):
        raise PolicyConfigError(f'{where}: use a decimal string such as "100.50", not {value!r}')
    if isinstance(value, int):
        if value < 0 or value > MAX_BASE_UNITS:
            raise PolicyConfigError(f"{where}: {value} is out of range")
        return value
    if isinstance(value, str):
        try:
            return parse_amount(value.strip(), decimals=decimals, allow_zero=True)
        except TronpayError as exc:
            raise PolicyConfigError(f"{where}: {exc.detail}") from exc
    raise PolicyConfigError(f"{where}: expected a decimal string, got {type(value).__name__}")


def _addresses(value: Any, *, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PolicyConfigError(f"{where}: expected a list of address strings")
    return _normalized((item.strip() for item in value if item.strip()), where=where)


def _normalized(entries: Iterable[str], *, where: str) -> frozenset[str]:
    """Every entry as base58 (the form destinations are compared in). An entry that is not a
    valid address is refused: a deny list must never load with an entry it cannot match."""
    out: set[str] = set()
    for entry in entries:
        try:
            out.add(normalize(entry))
        except InvalidAddressError as exc:
            raise PolicyConfigError(
                f"{where}: {entry!r} is not a TRON address ({exc.reason})"
            ) from exc
    return frozenset(out)


def policy_from_mapping(data: Mapping[str, Any], *, source: str = "policy") -> PolicyConfig:
    """Build a ``PolicyConfig`` from parsed TOML."""
    unknown = set(data) - {"limits", "destinations", "auto_stake"}
    if unknown:
        raise PolicyConfigError(f"{source}: unknown section(s) {sorted(unknown)}")
    raw_limits = data.get("limits", {})
    if not isinstance(raw_limits, Mapping):
        raise PolicyConfigError(f"{source}: [limits] must be a table")
    limits: dict[str, AssetLimits] = {}
    for raw_asset, table in raw_limits.items():
        asset = str(raw_asset).upper()
        if asset not in ASSET_DECIMALS:
            raise PolicyConfigError(f"{source}: unknown asset {raw_asset!r} in [limits]")
        if not isinstance(table, Mapping):
            raise PolicyConfigError(f"{source}: [limits.{raw_asset}] must be a table")
        extra = set(table) - set(LIMIT_FIELDS)
        if extra:
            raise PolicyConfigError(f"{source}: unknown field(s) {sorted(extra)} for {asset}")
        values = {
            name: parse_limit(
                table[name], where=f"limits.{asset}.{name}", decimals=ASSET_DECIMALS[asset]
            )
            for name in LIMIT_FIELDS
            if name in table
        }
        limits[asset] = AssetLimits(**values)
    destinations = data.get("destinations", {})
    if not isinstance(destinations, Mapping):
        raise PolicyConfigError(f"{source}: [destinations] must be a table")
    extra = set(destinations) - {"deny", "allow"}
    if extra:
        raise PolicyConfigError(f"{source}: unknown field(s) {sorted(extra)} in [destinations]")
    deny = _addresses(destinations.get("deny", []), where="destinations.deny")
    allow = (
        _addresses(destinations["allow"], where="destinations.allow")
        if "allow" in destinations
        else None
    )
    auto_stake = auto_stake_from_mapping(data.get("auto_stake", {}), source=source)
    return PolicyConfig(limits=limits, deny_list=deny, allow_list=allow, auto_stake=auto_stake)


def apply_env_overrides(config: PolicyConfig, environ: Mapping[str, str]) -> PolicyConfig:
    """Apply ``TRONPAY_POLICY_*`` overrides (see the module docstring)."""
    limits = dict(config.limits)
    for asset, decimals in ASSET_DECIMALS.items():
        current = limits.get(asset, AssetLimits())
        changes: dict[str, int | None] = {}
        for name in LIMIT_FIELDS:
            key = f"{ENV_PREFIX}{name.upper()}_{asset}"
            if key in environ:
                text = environ[key].strip()
                changes[name] = parse_limit(text, where=key, decimals=decimals) if text else None
        if changes:
            limits[asset] = replace(current, **changes)
    deny = config.deny_list
    if f"{ENV_PREFIX}DENY_LIST" in environ:
        deny = deny | _split(environ[f"{ENV_PREFIX}DENY_LIST"], where=f"{ENV_PREFIX}DENY_LIST")
    allow = config.allow_list
    if f"{ENV_PREFIX}ALLOW_LIST" in environ:
        allow = _split(environ[f"{ENV_PREFIX}ALLOW_LIST"], where=f"{ENV_PREFIX}ALLOW_LIST")
    return PolicyConfig(
        limits=limits, deny_list=deny, allow_list=allow, auto_stake=config.auto_stake
    )


def _split(text: str, *, where: str) -> frozenset[str]:
    return _normalized((item.strip() for item in text.split(",") if item.strip()), where=where)


def load_policy(path: Path | None, environ: Mapping[str, str] | None = None) -> PolicyConfig:
    """Read the policy file (if any) and apply environment overrides.

    ``environ`` defaults to ``os.environ``; pass ``{}`` to ignore the environment.
    """
    env = os.environ if environ is None else environ
    config = PolicyConfig()
    if path is not None:
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            raise PolicyConfigError(f"cannot read the policy file {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise PolicyConfigError(f"{path}: not valid TOML ({exc})") from exc
        config = policy_from_mapping(data, source=str(path))
    config = apply_env_overrides(config, env)
    if config.is_unlimited:
        log.warning("policy.unlimited", path=str(path) if path else None)
    else:
        log.info(
            "policy.loaded",
            path=str(path) if path else None,
            assets=sorted(config.limits),
            deny=len(config.deny_list),
            allow=None if config.allow_list is None else len(config.allow_list),
        )
    return config
