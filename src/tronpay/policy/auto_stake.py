"""The ``[auto_stake]`` section of the policy file: optional automation that stakes idle TRX
for energy (FreezeBalanceV2 ENERGY). Off unless ``enabled = true``.

```toml
[auto_stake]
enabled = false
min_energy = 1000000   # energy a day the wallet's own stake should give at least
reserve = "500"        # TRX never staked (decimal string; an integer is sun)
interval_s = 300       # at most one decision per this many seconds
```

The engine (``wallet/auto_stake.py``) never unstakes; it only tops the stake up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tronpay.errors import TronpayError
from tronpay.kit.money import MAX_BASE_UNITS, parse_amount
from tronpay.policy.errors import PolicyConfigError

AUTO_STAKE_FIELDS: Final = ("enabled", "min_energy", "reserve", "interval_s")
DEFAULT_INTERVAL_S: Final = 300
MIN_INTERVAL_S: Final = 1
MAX_ENERGY: Final = 10**15


@dataclass(frozen=True, slots=True)
class AutoStakeConfig:
    """``min_energy`` in energy units; ``reserve_sun`` in sun; ``interval_s`` seconds."""

    enabled: bool = False
    min_energy: int = 0
    reserve_sun: int = 0
    interval_s: int = DEFAULT_INTERVAL_S

    def describe(self) -> dict[str, object]:
        return {
            "enabled": self.enabled,
            "min_energy": self.min_energy,
            "reserve_sun": self.reserve_sun,
            "interval_s": self.interval_s,
        }


def _int(value: Any, *, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyConfigError(f"{where}: expected an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise PolicyConfigError(f"{where}: {value} is out of range {low}..{high}")
    return value


def _sun(value: Any, *, where: str) -> int:
    """TRX as a decimal string (converted exactly), or an integer in sun."""
    if isinstance(value, str):
        try:
            return parse_amount(value.strip(), allow_zero=True)
        except TronpayError as exc:
            raise PolicyConfigError(f"{where}: {exc.detail}") from exc
    return _int(value, where=where, low=0, high=MAX_BASE_UNITS)


def auto_stake_from_mapping(table: Any, *, source: str) -> AutoStakeConfig:
    """Build the section from parsed TOML."""
    if not isinstance(table, Mapping):
        raise PolicyConfigError(f"{source}: [auto_stake] must be a table")
    extra = set(table) - set(AUTO_STAKE_FIELDS)
    if extra:
        raise PolicyConfigError(f"{source}: unknown field(s) {sorted(extra)} in [auto_stake]")
    enabled = table.get("enabled", False)
    if not isinstance(enabled, bool):
        raise PolicyConfigError(f"{source}: auto_stake.enabled must be true or false")
    min_energy = _int(
        table.get("min_energy", 0), where="auto_stake.min_energy", low=0, high=MAX_ENERGY
    )
    reserve = _sun(table.get("reserve", 0), where="auto_stake.reserve")
    interval = _int(
        table.get("interval_s", DEFAULT_INTERVAL_S),
        where="auto_stake.interval_s",
        low=MIN_INTERVAL_S,
        high=86_400,
    )
    if enabled and min_energy <= 0:
        raise PolicyConfigError(f"{source}: auto_stake.min_energy must be > 0 when enabled")
    return AutoStakeConfig(
        enabled=enabled, min_energy=min_energy, reserve_sun=reserve, interval_s=interval
    )
