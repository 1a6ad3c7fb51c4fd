"""The devnet chain: blocks, validation, execution and solidified state (no HTTP).

Synchronous and not thread-safe: the server calls it from one event-loop thread and holds an
asyncio.Lock around mutations. All JSON returned is java-tron's shape with HEX addresses ("41...");
``trigger_constant``/``estimate_energy`` error messages are hex-encoded as java-tron prints them,
``SubmitResult.message`` and ``ChainError.message`` are plain text (the server hex-encodes).

Additions to the agreed contract (no agreed name changed): ``produce_block(detail=False)``
(header-only JSON: cheap for a block timer), ``submit_json(..., hold_blocks, never_include,
force_revert)``, properties ``head_timestamp`` and ``pending_count``, ChainConfig fields
``create_account_bandwidth_fee_sun``, ``memo_fee_sun``, ``max_fee_limit_sun``,
``max_delegate_lock_period``, ``trx_cache_enable`` (java-tron's node.rpc.trxCacheEnable);
``estimate_energy(..., solid=)``; ``ChainError`` subclasses ValueError.

Order of checks in ``submit`` (java-tron v4.8 Wallet.broadcastTransaction, Manager.pushTransaction
and processTransaction): decode → every signature 65..68 bytes (SIGERROR "Signature size is N") →
[txid cache when trx_cache_enable: DUP "Transaction already exists."] → a contract at all
("No contract!") → expiration >= head time + block interval (the next slot) → signature → TAPOS →
size (without ret, + 2 x 64 bytes, <= 500 KiB) → expiration window (head, head + 24 h] → exactly
one contract (CONTRACT_VALIDATE_ERROR) → duplicate ON CHAIN (DUP "Dup transaction.") → owner
account exists → bandwidth (and memo fee) → contract validation against head state plus every
pending transaction. A transaction still pending when broadcast again is executed again on the
pending state and answered SUCCESS (or that execution's error), as java-tron does with its default
trxCacheEnable=false; it is queued once.

SIMPLIFICATIONS (what differs from java-tron):
- One witness signs every block; block timestamp = max(previous + block_interval_ms, now_ms()),
  so an injected clock can jump ahead (24 h regeneration tests) and a burst of produced blocks
  runs ahead of the wall clock. Solidification is a fixed depth (head - solidify_depth).
- txTrieRoot is a merkle root (sha256 pairs) over sha256 of each transaction as received;
  empty blocks carry 32 zero bytes. No accountStateRoot. The genesis block has no transactions.
- The txid is sha256 of the *re-serialized* raw_data (as java-tron, which re-encodes the parsed
  message); a non-canonical encoding therefore gets a txid the sender does not expect.
- Only the owner permission is supported: every signature must recover to the owner address
  (Permission_id 0 or 2); no multi-signature accounts or AccountPermissionUpdate.
- Bandwidth = serialized tx without ``ret`` + 64 bytes, taken from staked bandwidth, else the free
  600/day, else burned at bandwidth_price_sun (java-tron BandwidthProcessor). A TRX transfer that
  creates the recipient uses staked bandwidth or burns create_account_bandwidth_fee_sun (0.1 TRX,
  never the free bandwidth), plus create_account_fee_sun (1 TRX): 1.1 TRX like mainnet.
  A memo (raw.data) costs memo_fee_sun (java-tron getMemoFee) in addition. No public free-net
  pool limit.
- Energy limit of a call = min(stake-left energy + spendable balance / price, fee_limit / price)
  (java-tron's fix-ratio rule, so fee_limit caps staked energy too). The caller pays all energy;
  the contract creator pays none (origin_energy_usage is always 0). The dynamic energy model is
  one fixed factor (trc20_energy_factor_permille, default off) on successful transfers.
- The TRC20 token is native Python, not TVM bytecode. Energy: transfer = trc20_energy_existing
  (recipient balance > 0) or trc20_energy_new; views 1,000; REVERT costs a fixed figure per
  failing check (blacklisted sender 1,600, insufficient balance 2,700, malformed call 300);
  a forced revert costs the full transfer energy. Calldata must be exactly 4 + 32*n bytes with
  zero upper address bytes (stricter than the mainnet Solidity 0.4 contract, on purpose).
  No approve/transferFrom/allowance; no pause; TRX sent with a call reverts.
- OUT_OF_ENERGY uses the whole energy limit (stake first, the rest burned, at most fee_limit).
- Stake 2.0: unfreeze and undelegate do not move resource *usage* between accounts (java-tron
  shares usage out on undelegate); lock_period in blocks of 3 s (0 = 3 days); no TRON_POWER
  staking, voting or rewards; no CancelAllUnfreezeV2; no Stake 1.0 contracts.
- Validation of pending transactions uses the head block time; execution uses the new block's
  time. Pending transactions are NOT visible in getaccount/triggerconstantcontract (head = last
  produced block); a java-tron full node reads its pending snapshot, so a balance drops there at
  broadcast.
- A pending transaction is dropped (never included) if at sealing time it expired (java-tron's
  rule: expiration <= the parent block's time), its TAPOS ref fell out of the ring, or it no
  longer validates (e.g. it relied on a held transaction). A dropped transaction broadcast again
  is checked afresh; a never_include one (a fault) keeps its txid known: DUP while still valid.
- Node-built transactions expire 60 s after max(head block time, now): java-tron uses the head
  time, which on a live network is about now; a devnet head can be stale between blocks.
- Admin mint/blacklist apply to the head state at once and reach the solid state with the next
  produced block. Energy/bandwidth price history is a single change at genesis.
- export_state keeps config, genesis, every block's timestamp and tx bytes (+ force_revert),
  admin events and pending txs; from_state replays them (dropped txids are not kept).
- Signature recovery ids: 0/1 and 27/28 only (no compressed-key headers 31..34).
- Resource usage recovers per millisecond with integer division (java-tron: 3 s slots), so
  figures can differ by rounding. TotalEnergyWeight/TotalNetWeight count only devnet stakers:
  a lone staker gets the whole total_energy_limit.
- gettransactionbyid/gettransactioninfobyid find on-chain transactions only (not pending).
- triggerconstantcontract/estimateenergy run against head (or solid) state without the
  pending transactions; estimateenergy needs an existing owner account.
- Broadcast messages follow java-tron v4.8's Wallet.broadcastTransaction texts. With
  trx_cache_enable the txid cache never expires (java-tron: 1 hour, 100,000 ids).
- A signature must be 65..68 bytes at admission (v4.8's SignUtils.isValidLength); bytes after the
  65th are ignored.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from tron_devnet import core_decode, core_json, core_views, proto, token
from tron_devnet.core_blocks import AdminEvent, Block, TxRecord, merkle_root
from tron_devnet.core_types import ChainConfig, ChainError, GenesisAccount, SubmitResult
from tron_devnet.crypto import (
    address_of_private_key,
    is_address,
    sha256,
    sign_digest,
)
from tron_devnet.execution import Executor, Params, Rejected, TxInput
from tron_devnet.state import (
    TOKEN_SUPPLY,
    Account,
    Delta,
    Overlay,
    State,
)

MAX_EXPIRATION_MS = 86_400_000
TAPOS_RING = 65_536
BLOCK_VERSION = 32
TXS_JSON_CACHE_BLOCKS = 4
WITNESS_SECRET = sha256(b"tron_devnet witness key (public, devnet only)")


__all__ = ["Chain", "ChainConfig", "ChainError", "GenesisAccount", "SubmitResult"]


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Chain:
    def __init__(
        self,
        config: ChainConfig,
        genesis: list[GenesisAccount],
        *,
        now_ms: Callable[[], int] = _wall_clock_ms,
    ) -> None:
        self.config = config
        self._now = now_ms
        genesis_ts = config.genesis_timestamp_ms
        if genesis_ts is None:
            genesis_ts = now_ms()
        self._genesis_ts = genesis_ts
        self._genesis = [GenesisAccount(g.address_hex, g.trx_sun, g.usdt_units) for g in genesis]
        self.token = token.TokenInfo(
            address=bytes.fromhex(config.token_address_hex),
            name=config.token_name,
            symbol=config.token_symbol,
            decimals=config.token_decimals,
            energy_existing=config.trc20_energy_existing,
            energy_new=config.trc20_energy_new,
            energy_factor_permille=config.trc20_energy_factor_permille,
        )
        self._executor = Executor(
            Params(
                energy_price=config.energy_price_sun,
                bandwidth_price=config.bandwidth_price_sun,
                free_bandwidth=config.free_bandwidth,
                create_account_fee=config.create_account_fee_sun,
                create_account_bandwidth_fee=config.create_account_bandwidth_fee_sun,
                memo_fee=config.memo_fee_sun,
                unfreeze_delay_ms=config.unfreeze_delay_ms,
                total_energy_limit=config.total_energy_limit,
                total_net_limit=config.total_net_limit,
                max_fee_limit=config.max_fee_limit_sun,
                max_delegate_lock_period=config.max_delegate_lock_period,
                token=self.token,
            )
        )
        self._witness_address = address_of_private_key(WITNESS_SECRET)
        head = State()
        head.accounts[self.token.address] = Account(
            address=self.token.address, create_time=genesis_ts
        )
        supply = 0
        for g in self._genesis:
            addr = bytes.fromhex(g.address_hex)
            if not is_address(addr):
                raise ChainError("OTHER_ERROR", f"invalid genesis address {g.address_hex}")
            acct = head.accounts.get(addr) or Account(address=addr, create_time=genesis_ts)
            acct.balance += g.trx_sun
            head.accounts[addr] = acct
            if g.usdt_units:
                head.tokens[addr] = head.tokens.get(addr, 0) + g.usdt_units
                supply += g.usdt_units
        head.totals[TOKEN_SUPPLY] = supply
        self._head_state = head
        self._solid_state = head.clone()
        self._blocks: list[Block] = []
        self._by_id: dict[bytes, Block] = {}
        self._tapos: dict[bytes, bytes] = {}
        self._known: dict[str, TxRecord] = {}
        self._txid_cache: set[str] = set()  # node.rpc.trxCacheEnable (never expires here)
        self._pending: list[TxRecord] = []
        self._pending_view = Overlay(self._head_state)
        self._admin_delta = Delta()
        self._events: list[AdminEvent] = []
        self._solid = 0
        self._txs_json_cache: OrderedDict[int, list[dict[str, Any]]] = OrderedDict()
        self._append_block(0, genesis_ts, b"\0" * 32, [])

    # ------------------------------------------------------------------------------ blocks
    @property
    def head_number(self) -> int:
        return self._blocks[-1].number

    @property
    def solid_number(self) -> int:
        return self._solid

    @property
    def head_timestamp(self) -> int:
        return self._blocks[-1].timestamp

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def _append_block(
        self, number: int, timestamp: int, parent: bytes, txs: list[TxRecord]
    ) -> Block:
        header = proto.BlockHeaderRaw()
        header.timestamp = timestamp
        header.txTrieRoot = merkle_root([sha256(r.tx_bytes) for r in txs])
        header.parentHash = parent
        header.number = number
        header.witness_address = self._witness_address
        header.version = BLOCK_VERSION
        raw_bytes = header.SerializeToString()
        digest = sha256(raw_bytes)
        block_id = number.to_bytes(8, "big") + digest[8:]
        block = Block(
            number=number,
            timestamp=timestamp,
            block_id=block_id,
            parent_hash=parent,
            header_raw=header,
            witness_signature=sign_digest(WITNESS_SECRET, digest),
            txs=txs,
        )
        self._blocks.append(block)
        self._by_id[block_id] = block
        self._tapos[block_id[6:8]] = block_id[8:16]
        return block

    def produce_block(self, *, detail: bool = True) -> dict[str, Any]:
        """Seal pending transactions into block head+1, execute them, solidify; block JSON.

        ``detail=False`` returns the header only (cheaper when the caller needs just the id)."""
        ts = max(self.head_timestamp + self.config.block_interval_ms, self._now())
        block = self._seal(ts)
        return self._block_to_json(block, detail=detail)

    def _seal(self, ts: int) -> Block:
        parent = self._blocks[-1]
        number = parent.number + 1
        view = Overlay(self._head_state)
        included: list[TxRecord] = []
        keep: list[TxRecord] = []
        for rec in self._pending:
            if rec.hold_until > number:
                keep.append(rec)
                continue
            exp = rec.raw.expiration
            if exp <= parent.timestamp or not self._tapos_ok(rec.raw):
                self._drop(rec)
                continue
            try:
                rec.receipt = self._executor.run(view, rec.input, ts, apply=True)
            except Rejected:
                self._drop(rec)
                continue
            included.append(rec)
        delta = self._admin_delta
        delta.merge(view.commit())
        self._admin_delta = Delta()
        block = self._append_block(number, ts, parent.block_id, included)
        block.delta = delta
        for rec in included:
            rec.block = number
            rec.slim()
        self._pending = keep
        self._rebuild_pending()
        new_solid = max(0, number - self.config.solidify_depth)
        while self._solid < new_solid:
            self._solid += 1
            solid_block = self._blocks[self._solid]
            if solid_block.delta is not None:
                self._solid_state.apply(solid_block.delta)
                solid_block.delta = None
        return block

    def _rebuild_pending(self) -> None:
        self._pending_view = Overlay(self._head_state)
        keep: list[TxRecord] = []
        now = self.head_timestamp
        for rec in self._pending:
            try:
                self._executor.run(self._pending_view, rec.input, now, apply=True)
            except Rejected:
                self._drop(rec)
                continue
            keep.append(rec)
        self._pending = keep

    @staticmethod
    def _drop(rec: TxRecord) -> None:
        """A pending transaction that will never be included (its txid stays known)."""
        rec.dropped = True
        rec.slim()

    def _tapos_ok(self, raw: Any) -> bool:
        ref = bytes(raw.ref_block_bytes)
        return len(ref) == 2 and self._tapos.get(ref) == bytes(raw.ref_block_hash)

    def _block(self, number: int) -> Block | None:
        if 0 <= number < len(self._blocks):
            return self._blocks[number]
        return None

    def block_json(self, number: int, *, detail: bool = True) -> dict[str, Any] | None:
        block = self._block(number)
        return None if block is None else self._block_to_json(block, detail=detail)

    def block_json_by_id(self, block_id_hex: str, *, detail: bool = True) -> dict[str, Any] | None:
        try:
            block = self._by_id.get(bytes.fromhex(block_id_hex))
        except ValueError:
            return None
        return None if block is None else self._block_to_json(block, detail=detail)

    def _block_to_json(self, block: Block, *, detail: bool) -> dict[str, Any]:
        header = block.header_raw
        raw: dict[str, Any] = {}
        if header.number:
            raw["number"] = header.number
        raw["txTrieRoot"] = bytes(header.txTrieRoot).hex()
        raw["witness_address"] = bytes(header.witness_address).hex()
        raw["parentHash"] = bytes(header.parentHash).hex()
        raw["version"] = header.version
        raw["timestamp"] = header.timestamp
        out: dict[str, Any] = {
            "blockID": block.block_id.hex(),
            "block_header": {
                "raw_data": raw,
                "witness_signature": block.witness_signature.hex(),
            },
        }
        if detail and block.txs:
            out["transactions"] = list(self._block_txs_json(block))
        return out

    def _block_txs_json(self, block: Block) -> list[dict[str, Any]]:
        """Transaction JSON of a sealed block, cached for the last few blocks (getnowblock is
        polled; a sealed block never changes). Callers treat the dicts as read-only."""
        cached = self._txs_json_cache.get(block.number)
        if cached is None:
            cached = [self._tx_to_json(rec) for rec in block.txs]
            self._txs_json_cache[block.number] = cached
            while len(self._txs_json_cache) > TXS_JSON_CACHE_BLOCKS:
                self._txs_json_cache.popitem(last=False)
        else:
            self._txs_json_cache.move_to_end(block.number)
        return cached

    # ------------------------------------------------------------------------ transactions
    def submit(
        self,
        tx_bytes: bytes,
        *,
        hold_blocks: int = 0,
        never_include: bool = False,
        force_revert: bool = False,
    ) -> SubmitResult:
        """Validate a serialized Transaction (raw_data=1, signature=2) and queue it.

        java-tron's order (Wallet.broadcastTransaction, Manager.pushTransaction and
        processTransaction): parse, signature sizes, [txid cache], a contract at all, expiration
        against the next block slot, signature, TAPOS, size and expiration window, exactly one
        contract, duplicate on chain, bandwidth and memo fee, contract validation/execution."""
        decoded = core_decode.decode(tx_bytes, force_revert=force_revert)
        if isinstance(decoded, SubmitResult):
            if self.config.trx_cache_enable and decoded.txid:
                if decoded.txid in self._txid_cache:
                    return SubmitResult(
                        False, decoded.txid, "DUP_TRANSACTION_ERROR", core_decode.CACHED_DUP_MESSAGE
                    )
                self._txid_cache.add(decoded.txid)
            return decoded
        rec, signatures = decoded
        txid = rec.txid
        if self.config.trx_cache_enable:
            if txid in self._txid_cache:
                return SubmitResult(
                    False, txid, "DUP_TRANSACTION_ERROR", core_decode.CACHED_DUP_MESSAGE
                )
            self._txid_cache.add(txid)
        head_ts = self.head_timestamp
        exp = rec.raw.expiration
        # TransactionCapsule.checkExpiration(getNextBlockSlotTime())
        if exp < head_ts + self.config.block_interval_ms:
            return core_decode.fail(txid, "TRANSACTION_EXPIRATION_ERROR")
        sig_error = core_decode.check_signatures(rec, signatures)
        if sig_error:
            return core_decode.fail(txid, "SIGERROR", sig_error)
        if not self._tapos_ok(rec.raw):
            return core_decode.fail(txid, "TAPOS_ERROR")
        too_big = core_decode.size_error(
            txid, rec.input.size - core_decode.BANDWIDTH_EXTRA_BYTES, len(tx_bytes)
        )
        if too_big is not None:
            return too_big
        if exp <= head_ts or exp > head_ts + MAX_EXPIRATION_MS:
            return core_decode.fail(txid, "TRANSACTION_EXPIRATION_ERROR")
        if len(rec.raw.contract) != 1:
            return core_decode.fail(
                txid,
                "CONTRACT_VALIDATE_ERROR",
                core_decode.multi_contract_message(txid, len(rec.raw.contract)),
            )
        known = self._known.get(txid)
        if known is not None and (known.block is not None or known.never_include):
            # Manager.validateDup: on chain. (A never_include fault keeps its txid known.)
            return core_decode.fail(txid, "DUP_TRANSACTION_ERROR")
        pending_copy = known is not None and not known.dropped
        try:
            self._executor.run(self._pending_view, rec.input, head_ts, apply=not never_include)
        except Rejected as exc:
            return core_decode.fail(txid, exc.code, exc.message)
        if pending_copy:
            # java-tron (trxCacheEnable off): a pending transaction broadcast again executes
            # again on the pending state and is answered SUCCESS; block production later drops
            # the second copy as a duplicate. It is queued once here.
            return SubmitResult(True, txid)
        rec.hold_until = self.head_number + 1 + max(hold_blocks, 0)
        rec.never_include = never_include
        self._known[txid] = rec
        if not never_include:
            self._pending.append(rec)
        return SubmitResult(True, txid)

    def queued_with_forced_revert(self, txid_hex: str) -> bool:
        """True when ``txid_hex`` is known and was queued with ``force_revert`` (a pending copy
        broadcast again keeps its first submission's outcome)."""
        rec = self._known.get(txid_hex)
        return rec is not None and rec.input.force_revert

    def submit_json(
        self,
        tx: dict[str, Any],
        *,
        hold_blocks: int = 0,
        never_include: bool = False,
        force_revert: bool = False,
    ) -> SubmitResult:
        """broadcasttransaction: re-encode raw_data JSON (hex addresses) + signatures, submit."""
        try:
            if not isinstance(tx, dict):
                raise core_json.JsonShapeError("transaction must be an object")
            raw = core_json.raw_from_json(tx.get("raw_data") or {})
            sigs = tx.get("signature") or []
            if not isinstance(sigs, list):
                raise core_json.JsonShapeError("signature must be a list")
            msg = proto.Transaction()
            msg.raw_data.CopyFrom(raw)
            for sig in sigs:
                msg.signature.append(bytes.fromhex(sig))
        except (core_json.JsonShapeError, ValueError, TypeError) as exc:
            return core_decode.fail("", "OTHER_ERROR", str(exc))
        return self.submit(
            msg.SerializeToString(),
            hold_blocks=hold_blocks,
            never_include=never_include,
            force_revert=force_revert,
        )

    def _visible_record(self, txid_hex: str, *, solid: bool) -> TxRecord | None:
        rec = self._known.get(txid_hex.lower())
        if rec is None or rec.block is None:
            return None
        if solid and rec.block > self._solid:
            return None
        return rec

    def transaction_json(self, txid_hex: str, *, solid: bool = False) -> dict[str, Any] | None:
        rec = self._visible_record(txid_hex, solid=solid)
        return None if rec is None else self._tx_to_json(rec)

    @staticmethod
    def _tx_to_json(rec: TxRecord) -> dict[str, Any]:
        tx = proto.Transaction.FromString(rec.tx_bytes)
        out: dict[str, Any] = {}
        if rec.receipt is not None:
            out["ret"] = [{"contractRet": rec.receipt.result}]
        out["signature"] = [bytes(s).hex() for s in tx.signature]
        out["txID"] = rec.txid
        out["raw_data"] = core_json.raw_to_json(tx.raw_data)
        out["raw_data_hex"] = tx.raw_data.SerializeToString().hex()
        return out

    def transaction_info(self, txid_hex: str, *, solid: bool = False) -> dict[str, Any] | None:
        rec = self._visible_record(txid_hex, solid=solid)
        return None if rec is None else self._info_json(rec)

    def transaction_infos_in_block(
        self, number: int, *, solid: bool = False
    ) -> list[dict[str, Any]]:
        block = self._block(number)
        if block is None or (solid and number > self._solid):
            return []
        return [self._info_json(rec) for rec in block.txs]

    def _info_json(self, rec: TxRecord) -> dict[str, Any]:
        if rec.block is None:
            raise ChainError("OTHER_ERROR", f"transaction {rec.txid} is not on chain")
        return core_views.info_json(rec, self._blocks[rec.block], self.token)

    # ------------------------------------------------------------------ accounts/resources
    def _state(self, solid: bool) -> tuple[State, int]:
        if solid:
            return self._solid_state, self._blocks[self._solid].timestamp
        return self._head_state, self.head_timestamp

    def account_json(self, address_hex: str, *, solid: bool = False) -> dict[str, Any]:
        state, _ = self._state(solid)
        addr = _addr_or_none(address_hex)
        acct = state.accounts.get(addr) if addr else None
        return {} if acct is None else core_views.account_json(acct, self.token.address)

    def account_resource_json(self, address_hex: str, *, solid: bool = False) -> dict[str, Any]:
        state, now = self._state(solid)
        addr = _addr_or_none(address_hex)
        acct = state.accounts.get(addr) if addr else None
        if acct is None:
            return {}
        return core_views.account_resource_json(acct, state, now, self.config)

    def chain_parameters_json(self) -> dict[str, Any]:
        return {
            "chainParameter": [
                {"key": k, "value": v} for k, v in core_views.chain_parameters(self.config).items()
            ]
        }

    def energy_prices(self) -> str:
        return core_views.price_history(420, self._genesis_ts, self.config.energy_price_sun)

    def bandwidth_prices(self) -> str:
        return core_views.price_history(10, self._genesis_ts, self.config.bandwidth_price_sun)

    def node_info_json(self) -> dict[str, Any]:
        return core_views.node_info(self._blocks[-1], self._blocks[self._solid])

    # ------------------------------------------------------------------------ token contract
    def contract_json(self, address_hex: str) -> dict[str, Any]:
        if _addr_or_none(address_hex) != self.token.address:
            return {}
        return core_views.token_contract_json(self.token.address)

    def trigger_constant(
        self, owner_hex: str | None, contract_hex: str, data: bytes, *, solid: bool = False
    ) -> dict[str, Any]:
        """triggerconstantcontract: run the call without changing state."""
        state, _ = self._state(solid)
        contract = _addr_or_none(contract_hex)
        if contract != self.token.address:
            return _result_error("CONTRACT_VALIDATE_ERROR", "No contract or not a smart contract")
        owner = _addr_or_none(owner_hex or "") or b"\x41" + b"\0" * 20
        outcome = token.run_call(Overlay(state), self.token, owner, data, 0)
        value = {
            "owner_address": owner.hex(),
            "contract_address": contract.hex(),
            "data": data.hex(),
        }
        try:
            tx = self._unsigned("TriggerSmartContract", value, fee_limit=None)
        except ChainError:
            tx = {}
        result: dict[str, Any] = {"result": True}
        if not outcome.ok:
            result["message"] = outcome.message.encode().hex()
            tx["ret"] = [{"ret": "FAILED"}]
        else:
            tx["ret"] = [{}]
        out: dict[str, Any] = {
            "result": result,
            "energy_used": outcome.energy,
            "constant_result": [outcome.return_data.hex()],
            "transaction": tx,
        }
        if outcome.penalty:
            out["energy_penalty"] = outcome.penalty  # TransactionExtention.energy_penalty
        return out

    def estimate_energy(
        self, owner_hex: str, contract_hex: str, data: bytes, *, solid: bool = False
    ) -> dict[str, Any]:
        """estimateenergy (``solid=True``: /walletsolidity, from the solidified state only)."""
        state, _ = self._state(solid)
        contract = _addr_or_none(contract_hex)
        if contract != self.token.address:
            return _result_error("CONTRACT_VALIDATE_ERROR", "No contract or not a smart contract")
        owner = _addr_or_none(owner_hex)
        if owner is None or state.accounts.get(owner) is None:
            return _result_error(
                "CONTRACT_VALIDATE_ERROR", "Validate TriggerSmartContract error, no OwnerAccount."
            )
        outcome = token.run_call(Overlay(state), self.token, owner, data, 0)
        if not outcome.ok:
            return _result_error("CONTRACT_EXE_ERROR", outcome.message)
        return {"result": {"result": True}, "energy_required": outcome.energy}

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
        tx = self._unsigned(
            contract_type,
            value,
            fee_limit=fee_limit,
            memo_hex=memo_hex,
            expiration_ms=expiration_ms,
        )
        raw = proto.TransactionRaw.FromString(bytes.fromhex(tx["raw_data_hex"]))
        cls = proto.CONTRACT_CLASSES[contract_type]
        msg = cls.FromString(raw.contract[0].parameter.value)
        tx_input = TxInput(
            owner=bytes(msg.owner_address),
            contract_type=contract_type,
            value=msg,
            size=0,
            fee_limit=raw.fee_limit,
            has_memo=False,
        )
        try:
            self._executor.run(
                Overlay(self._head_state), tx_input, self.head_timestamp, apply=False
            )
        except Rejected as exc:
            message = exc.message
            if message == "No contract or not a smart contract":
                message = "No contract or not a valid smart contract"  # Wallet.triggerContract
            raise ChainError(exc.code, message) from exc
        return tx

    def _unsigned(
        self,
        contract_type: str,
        value: dict[str, Any],
        *,
        fee_limit: int | None,
        memo_hex: str | None = None,
        expiration_ms: int | None = None,
    ) -> dict[str, Any]:
        cls = proto.CONTRACT_CLASSES.get(contract_type)
        if cls is None:
            raise ChainError("CONTRACT_VALIDATE_ERROR", f"{contract_type} is not supported")
        try:
            msg = core_json.json_to_message(cls, value)
            memo = bytes.fromhex(memo_hex) if memo_hex else b""
        except (core_json.JsonShapeError, ValueError) as exc:
            raise ChainError("OTHER_ERROR", str(exc)) from exc
        head = self._blocks[-1]
        raw = proto.TransactionRaw()
        raw.ref_block_bytes = head.block_id[6:8]
        raw.ref_block_hash = head.block_id[8:16]
        if expiration_ms is None:
            # java-tron: head block time + 60 s; a devnet head can be stale (blocks on demand),
            # so never base it on a time behind the clock
            expiration_ms = max(head.timestamp, self._now()) + 60_000
        raw.expiration = expiration_ms
        if memo:
            raw.data = memo
        contract = raw.contract.add()
        contract.type = proto.CONTRACT_TYPES[contract_type]
        contract.parameter.type_url = proto.TYPE_URL_PREFIX + contract_type
        contract.parameter.value = msg.SerializeToString()
        raw.timestamp = self._now()
        if fee_limit:
            raw.fee_limit = fee_limit
        raw_bytes = raw.SerializeToString()
        return {
            "visible": False,
            "txID": sha256(raw_bytes).hex(),
            "raw_data": core_json.raw_to_json(raw),
            "raw_data_hex": raw_bytes.hex(),
        }

    # ------------------------------------------------------------------------ devnet control
    def mint(self, address_hex: str, *, trx_sun: int = 0, usdt_units: int = 0) -> None:
        """Credit TRX and/or tokens at once (head state; solid with the next block)."""
        addr = _addr_or_none(address_hex)
        if addr is None:
            raise ChainError("OTHER_ERROR", f"invalid address {address_hex}")
        if trx_sun < 0 or usdt_units < 0:
            raise ChainError("OTHER_ERROR", "mint amounts must not be negative")
        view = Overlay(self._head_state)
        if view.account(addr) is None:
            view.create_account(addr, self.head_timestamp)
        if trx_sun:
            view.account_mut(addr).balance += trx_sun
        if usdt_units:
            view.set_token_balance(addr, view.token_balance(addr) + usdt_units)
            view.add_total(TOKEN_SUPPLY, usdt_units)
        self._admin_delta.merge(view.commit())
        args = {"address": addr.hex(), "trx_sun": trx_sun, "usdt_units": usdt_units}
        self._events.append(AdminEvent(self.head_number, "mint", args))
        self._rebuild_pending()

    def blacklist(self, address_hex: str, listed: bool = True) -> None:
        addr = _addr_or_none(address_hex)
        if addr is None:
            raise ChainError("OTHER_ERROR", f"invalid address {address_hex}")
        view = Overlay(self._head_state)
        view.set_blacklisted(addr, listed)
        self._admin_delta.merge(view.commit())
        self._events.append(
            AdminEvent(self.head_number, "blacklist", {"address": addr.hex(), "listed": listed})
        )
        self._rebuild_pending()

    def ledger(self) -> dict[str, Any]:
        state = self._head_state
        addrs = sorted(set(state.accounts) | set(state.tokens))
        accounts = []
        for addr in addrs:
            acct = state.accounts.get(addr)
            accounts.append(
                {
                    "address": addr.hex(),
                    "trx_sun": acct.balance if acct else 0,
                    "usdt_units": state.tokens.get(addr, 0),
                    "frozen_energy_sun": acct.frozen_en if acct else 0,
                    "frozen_bandwidth_sun": acct.frozen_bw if acct else 0,
                    "blacklisted": state.blacklist.get(addr, False),
                }
            )
        transactions = [
            core_views.ledger_entry(rec, block.number)
            for block in self._blocks
            for rec in block.txs
        ]
        return {"accounts": accounts, "transactions": transactions}

    def state_json(self) -> dict[str, Any]:
        head = self._blocks[-1]
        return {
            "head": head.number,
            "head_block_id": head.block_id.hex(),
            "head_timestamp": head.timestamp,
            "solidified": self._solid,
            "pending": len(self._pending),
            "chain_parameters": core_views.chain_parameters(self.config),
            "token": {
                "address": self.token.address.hex(),
                "name": self.token.name,
                "symbol": self.token.symbol,
                "decimals": self.token.decimals,
                "total_supply": self._head_state.totals.get(TOKEN_SUPPLY, 0),
            },
        }

    def export_state(self) -> dict[str, Any]:
        config = asdict(self.config)
        config["genesis_timestamp_ms"] = self._genesis_ts
        return {
            "format": "tron_devnet.chain/1",
            "config": config,
            "genesis": [asdict(g) for g in self._genesis],
            "blocks": [
                {
                    "timestamp": b.timestamp,
                    "txs": [
                        {"tx": r.tx_bytes.hex(), "force_revert": r.input.force_revert}
                        for r in b.txs
                    ],
                }
                for b in self._blocks[1:]
            ],
            "events": [asdict(e) for e in self._events],
            "pending": [
                {
                    "tx": r.tx_bytes.hex(),
                    "force_revert": r.input.force_revert,
                    "hold_blocks": max(0, r.hold_until - self.head_number - 1),
                }
                for r in self._pending
            ],
        }

    @classmethod
    def from_state(
        cls, data: dict[str, Any], *, now_ms: Callable[[], int] = _wall_clock_ms
    ) -> Chain:
        """Rebuild a chain from ``export_state`` output by replaying every block."""
        if data.get("format") != "tron_devnet.chain/1":
            raise ChainError("OTHER_ERROR", "unknown state format")
        known = set(ChainConfig.__dataclass_fields__)
        config = ChainConfig(**{k: v for k, v in data["config"].items() if k in known})
        genesis = [GenesisAccount(**g) for g in data["genesis"]]
        chain = cls(config, genesis, now_ms=now_ms)
        events = [AdminEvent(**e) for e in data.get("events", [])]
        for number, block in enumerate(data["blocks"], start=1):
            chain._replay_events(events, number - 1)
            for item in block["txs"]:
                decoded = core_decode.decode(
                    bytes.fromhex(item["tx"]), force_revert=item["force_revert"]
                )
                if isinstance(decoded, SubmitResult):
                    raise ChainError("OTHER_ERROR", f"cannot replay block {number}")
                rec = decoded[0]
                rec.hold_until = number
                chain._known[rec.txid] = rec
                chain._pending.append(rec)
            sealed = chain._seal(int(block["timestamp"]))
            if len(sealed.txs) != len(block["txs"]):
                raise ChainError("OTHER_ERROR", f"replay of block {number} diverged")
        chain._replay_events(events, chain.head_number)
        for item in data.get("pending", []):
            chain.submit(
                bytes.fromhex(item["tx"]),
                hold_blocks=int(item.get("hold_blocks", 0)),
                force_revert=bool(item.get("force_revert", False)),
            )
        return chain

    def _replay_events(self, events: list[AdminEvent], after_block: int) -> None:
        for event in events:
            if event.after_block != after_block:
                continue
            if event.op == "mint":
                self.mint(
                    event.args["address"],
                    trx_sun=int(event.args.get("trx_sun", 0)),
                    usdt_units=int(event.args.get("usdt_units", 0)),
                )
            elif event.op == "blacklist":
                self.blacklist(event.args["address"], bool(event.args.get("listed", True)))


def _addr_or_none(text: str) -> bytes | None:
    try:
        addr = bytes.fromhex(text)
    except ValueError:
        return None
    return addr if is_address(addr) else None


def _result_error(code: str, message: str) -> dict[str, Any]:
    return {"result": {"code": code, "message": message.encode().hex()}}
