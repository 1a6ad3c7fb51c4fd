"""The devnet chain: blocks, validation, execution and solidified state (no HTTP).

Synchronous and not thread-safe: the server calls it from one event-loop thread and holds an
asyncio.Lock around mutations. All JSON returned is java-tron's shape with HEX addresses ("41...").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class ChainConfig:
    block_interval_ms: int = 3000
    solidify_depth: int = 19
    energy_price_sun: int = 100
    bandwidth_price_sun: int = 1000
    free_bandwidth: int = 600
    create_account_fee_sun: int = 1_000_000
    trc20_energy_existing: int = 64_285
    trc20_energy_new: int = 130_285
    unfreeze_delay_ms: int = 14 * 86_400_000
    total_energy_limit: int = 180_000_000_000
    total_net_limit: int = 43_200_000_000
    token_address_hex: str = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"  # noqa: S105
    token_name: str = "Tether USD"  # noqa: S105
    token_symbol: str = "USDT"  # noqa: S105
    token_decimals: int = 6
    genesis_timestamp_ms: int | None = None


@dataclass
class GenesisAccount:
    address_hex: str
    trx_sun: int = 0
    usdt_units: int = 0


@dataclass(frozen=True)
class SubmitResult:
    """Broadcast outcome. ``code`` is one of SIGERROR, CONTRACT_VALIDATE_ERROR,
    CONTRACT_EXE_ERROR, BANDWITH_ERROR, DUP_TRANSACTION_ERROR, TAPOS_ERROR,
    TOO_BIG_TRANSACTION_ERROR, TRANSACTION_EXPIRATION_ERROR, OTHER_ERROR."""

    ok: bool
    txid: str
    code: str | None = None
    message: str = ""


class ChainError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Chain:
    def __init__(
        self,
        config: ChainConfig,
        genesis: list[GenesisAccount],
        *,
        now_ms: Callable[[], int] = _wall_clock_ms,
    ) -> None:
        raise NotImplementedError

    # blocks
    @property
    def head_number(self) -> int:
        raise NotImplementedError

    @property
    def solid_number(self) -> int:
        raise NotImplementedError

    def produce_block(self) -> dict[str, Any]:
        raise NotImplementedError

    def block_json(self, number: int, *, detail: bool = True) -> dict[str, Any] | None:
        raise NotImplementedError

    def block_json_by_id(self, block_id_hex: str, *, detail: bool = True) -> dict[str, Any] | None:
        raise NotImplementedError

    # transactions
    def submit(
        self,
        tx_bytes: bytes,
        *,
        hold_blocks: int = 0,
        never_include: bool = False,
        force_revert: bool = False,
    ) -> SubmitResult:
        raise NotImplementedError

    def submit_json(self, tx: dict[str, Any]) -> SubmitResult:
        raise NotImplementedError

    def transaction_json(self, txid_hex: str, *, solid: bool = False) -> dict[str, Any] | None:
        raise NotImplementedError

    def transaction_info(self, txid_hex: str, *, solid: bool = False) -> dict[str, Any] | None:
        raise NotImplementedError

    def transaction_infos_in_block(
        self, number: int, *, solid: bool = False
    ) -> list[dict[str, Any]]:
        raise NotImplementedError

    # accounts and resources
    def account_json(self, address_hex: str, *, solid: bool = False) -> dict[str, Any]:
        raise NotImplementedError

    def account_resource_json(self, address_hex: str, *, solid: bool = False) -> dict[str, Any]:
        raise NotImplementedError

    def chain_parameters_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def energy_prices(self) -> str:
        raise NotImplementedError

    def bandwidth_prices(self) -> str:
        raise NotImplementedError

    def node_info_json(self) -> dict[str, Any]:
        raise NotImplementedError

    # token contract
    def contract_json(self, address_hex: str) -> dict[str, Any]:
        raise NotImplementedError

    def trigger_constant(
        self, owner_hex: str | None, contract_hex: str, data: bytes, *, solid: bool = False
    ) -> dict[str, Any]:
        raise NotImplementedError

    def estimate_energy(self, owner_hex: str, contract_hex: str, data: bytes) -> dict[str, Any]:
        raise NotImplementedError

    # node-built transactions
    def build_transaction(
        self,
        contract_type: str,
        value: dict[str, Any],
        *,
        fee_limit: int | None = None,
        memo_hex: str | None = None,
        expiration_ms: int | None = None,
    ) -> dict[str, Any]:
        raise NotImplementedError

    # devnet control
    def mint(self, address_hex: str, *, trx_sun: int = 0, usdt_units: int = 0) -> None:
        raise NotImplementedError

    def blacklist(self, address_hex: str, listed: bool = True) -> None:
        raise NotImplementedError

    def ledger(self) -> dict[str, Any]:
        raise NotImplementedError

    def state_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def export_state(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_state(
        cls, data: dict[str, Any], *, now_ms: Callable[[], int] = _wall_clock_ms
    ) -> Chain:
        raise NotImplementedError
