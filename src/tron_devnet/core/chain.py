"""``Chain``: the devnet node as the HTTP layer calls it, every answer in java-tron's JSON.

``Chain`` is the core (``chain_core.ChainCore``: blocks, admission, execution, solidification)
plus thin methods over ``render`` (reads), ``building`` (node-built transactions and constant
calls), ``control`` (admin changes and reads) and ``export`` (the state document).

All JSON returned has HEX addresses ("41..."); ``trigger_constant``/``estimate_energy`` error
messages are hex-encoded as java-tron prints them, ``SubmitResult.message`` and
``ChainError.message`` are plain text (the server hex-encodes).

Additions to the agreed contract (no agreed name changed): ``produce_block(detail=False)``
(header-only JSON: cheap for a block timer), ``submit_json(..., hold_blocks, never_include,
force_revert)``, properties ``head_timestamp`` and ``pending_count``, ChainConfig fields
``create_account_bandwidth_fee_sun``, ``memo_fee_sun``, ``max_fee_limit_sun``,
``max_delegate_lock_period``, ``trx_cache_enable`` (java-tron's node.rpc.trxCacheEnable);
``estimate_energy(..., solid=)``; ``ChainError`` subclasses ValueError.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from tron_devnet.core import building, control, export, render, resources
from tron_devnet.core.chain_core import ChainCore, wall_clock_ms
from tron_devnet.core.crypto import address_or_none
from tron_devnet.core.records import Block, TxRecord
from tron_devnet.core.types import ChainConfig, ChainError, GenesisAccount, SubmitResult

TXS_JSON_CACHE_BLOCKS = 4

__all__ = ["Chain", "ChainConfig", "ChainError", "GenesisAccount", "SubmitResult"]


class Chain(ChainCore):
    """The devnet node: ``ChainCore`` plus its java-tron JSON reads, builders and admin calls."""

    @functools.cached_property
    def _txs_json_cache(self) -> OrderedDict[int, list[dict[str, Any]]]:
        """Transaction JSON of the last few sealed blocks, by block number."""
        return OrderedDict()

    # ------------------------------------------------------------------------------ blocks
    def produce_block(self, *, detail: bool = True) -> dict[str, Any]:
        """Seal pending transactions into block head+1, execute them, solidify; block JSON.

        ``detail=False`` returns the header only (cheaper when the caller needs just the id)."""
        return self._block_to_json(self.seal_block(), detail=detail)

    def advance_time(self, ms: int) -> dict[str, Any]:
        """Move chain time forward: seal the next block ``ms`` after the head (header JSON)."""
        if ms <= 0:
            raise ChainError("OTHER_ERROR", "time can only move forward")
        block = self.seal_block_at(self.head_timestamp + ms)
        return self._block_to_json(block, detail=False)

    def block_json(self, number: int, *, detail: bool = True) -> dict[str, Any] | None:
        block = self.block(number)
        return None if block is None else self._block_to_json(block, detail=detail)

    def block_json_by_id(self, block_id_hex: str, *, detail: bool = True) -> dict[str, Any] | None:
        block = self.block_by_id(block_id_hex)
        return None if block is None else self._block_to_json(block, detail=detail)

    def _block_to_json(self, block: Block, *, detail: bool) -> dict[str, Any]:
        txs = self._block_txs_json(block) if detail and block.txs else None
        return render.block_json(block, txs)

    def _block_txs_json(self, block: Block) -> list[dict[str, Any]]:
        """Transaction JSON of a sealed block, cached for the last few blocks (getnowblock is
        polled; a sealed block never changes). Callers treat the dicts as read-only."""
        cached = self._txs_json_cache.get(block.number)
        if cached is None:
            cached = [render.transaction_json(rec) for rec in block.txs]
            self._txs_json_cache[block.number] = cached
            while len(self._txs_json_cache) > TXS_JSON_CACHE_BLOCKS:
                self._txs_json_cache.popitem(last=False)
        else:
            self._txs_json_cache.move_to_end(block.number)
        return cached

    # ------------------------------------------------------------------------ transactions
    def transaction_json(self, txid_hex: str, *, solid: bool = False) -> dict[str, Any] | None:
        rec = self.visible_record(txid_hex, solid=solid)
        return None if rec is None else render.transaction_json(rec)

    def transaction_info(self, txid_hex: str, *, solid: bool = False) -> dict[str, Any] | None:
        rec = self.visible_record(txid_hex, solid=solid)
        return None if rec is None else self._info_json(rec)

    def transaction_infos_in_block(
        self, number: int, *, solid: bool = False
    ) -> list[dict[str, Any]]:
        block = self.block(number)
        if block is None or (solid and number > self.solid_number):
            return []
        return [self._info_json(rec) for rec in block.txs]

    def _info_json(self, rec: TxRecord) -> dict[str, Any]:
        if rec.block is None:
            raise ChainError("OTHER_ERROR", f"transaction {rec.txid} is not on chain")
        return render.info_json(rec, self.blocks[rec.block], self.token)

    # ------------------------------------------------------------------ accounts/resources
    def account_json(self, address_hex: str, *, solid: bool = False) -> dict[str, Any]:
        addr = address_or_none(address_hex)
        acct = self.state(solid).accounts.get(addr) if addr else None
        return {} if acct is None else render.account_json(acct, self.token.address)

    def account_resource_json(self, address_hex: str, *, solid: bool = False) -> dict[str, Any]:
        state = self.state(solid)
        addr = address_or_none(address_hex)
        acct = state.accounts.get(addr) if addr else None
        if acct is None:
            return {}
        return render.account_resource_json(acct, state, self.state_time(solid), self.config)

    # ------------------------------------------------------------------------ Stake 2.0 reads
    def delegated_resource_v2(
        self, from_hex: str, to_hex: str, *, solid: bool = False
    ) -> dict[str, Any]:
        return resources.delegated_resource_v2(self, from_hex, to_hex, solid=solid)

    def delegated_index_v2(self, address_hex: str, *, solid: bool = False) -> dict[str, Any]:
        return resources.delegated_index_v2(self, address_hex, solid=solid)

    def can_withdraw_unfreeze_amount(
        self, owner_hex: str, timestamp_ms: int, *, solid: bool = False
    ) -> dict[str, Any]:
        return resources.can_withdraw_unfreeze_amount(self, owner_hex, timestamp_ms, solid=solid)

    def available_unfreeze_count(self, owner_hex: str, *, solid: bool = False) -> dict[str, Any]:
        return resources.available_unfreeze_count(self, owner_hex, solid=solid)

    def can_delegated_max_size(
        self, owner_hex: str, resource: int, *, solid: bool = False
    ) -> dict[str, Any]:
        return resources.can_delegated_max_size(self, owner_hex, resource, solid=solid)

    def chain_parameters_json(self) -> dict[str, Any]:
        return {
            "chainParameter": [
                {"key": k, "value": v} for k, v in render.chain_parameters(self.config).items()
            ]
        }

    def energy_prices(self) -> str:
        return render.price_history(420, self.genesis_timestamp, self.config.energy_price_sun)

    def bandwidth_prices(self) -> str:
        return render.price_history(10, self.genesis_timestamp, self.config.bandwidth_price_sun)

    def node_info_json(self) -> dict[str, Any]:
        return render.node_info(self.blocks[-1], self.blocks[self.solid_number])

    # ------------------------------------------------------------------------ token contract
    def contract_json(self, address_hex: str) -> dict[str, Any]:
        if address_or_none(address_hex) != self.token.address:
            return {}
        return render.token_contract_json(self.token.address)

    def trigger_constant(
        self, owner_hex: str | None, contract_hex: str, data: bytes, *, solid: bool = False
    ) -> dict[str, Any]:
        """triggerconstantcontract: run the call without changing state."""
        return building.trigger_constant(self, owner_hex, contract_hex, data, solid=solid)

    def estimate_energy(
        self, owner_hex: str, contract_hex: str, data: bytes, *, solid: bool = False
    ) -> dict[str, Any]:
        """estimateenergy (``solid=True``: /walletsolidity, from the solidified state only)."""
        return building.estimate_energy(self, owner_hex, contract_hex, data, solid=solid)

    # ------------------------------------------------------------- node-built transactions
    def build_transaction(
        self,
        contract_type: str,
        value: dict[str, Any],
        *,
        fee_limit: int | None = None,
        memo_hex: str | None = None,
        expiration_ms: int | None = None,
    ) -> dict[str, Any]:
        """java-tron's unsigned transaction JSON; validates the contract against head state."""
        return building.build_transaction(
            self,
            contract_type,
            value,
            fee_limit=fee_limit,
            memo_hex=memo_hex,
            expiration_ms=expiration_ms,
        )

    # ------------------------------------------------------------------------ devnet control
    def mint(self, address_hex: str, *, trx_sun: int = 0, usdt_units: int = 0) -> None:
        """Credit TRX and/or tokens at once (head state; solid with the next block)."""
        control.mint(self, address_hex, trx_sun=trx_sun, usdt_units=usdt_units)

    def blacklist(self, address_hex: str, listed: bool = True) -> None:
        control.blacklist(self, address_hex, listed)

    def ledger(self) -> dict[str, Any]:
        return control.ledger(self)

    def state_json(self) -> dict[str, Any]:
        return control.state_json(self)

    def export_state(self) -> dict[str, Any]:
        return export.export_state(self)

    @classmethod
    def from_state(
        cls, data: dict[str, Any], *, now_ms: Callable[[], int] = wall_clock_ms
    ) -> Chain:
        """Rebuild a chain from ``export_state`` output by replaying every block."""
        setup = export.chain_setup(data)
        chain = cls(setup.config, setup.genesis, now_ms=now_ms)
        export.replay(chain, data)
        return chain
