"""The chain core: blocks, admission, execution, pending transactions and solidified state.

``ChainCore`` keeps the records (``records.TxRecord``, ``records.Block``) and the head and solid
states, admits broadcasts and seals blocks. It speaks no JSON except ``submit_json``'s input:
rendering (``render``), node-built transactions (``building``), admin changes (``control``) and
the state export (``export``) live in their own modules, and ``chain.Chain`` puts them together
as the node the HTTP layer calls.

Synchronous and not thread-safe: the server calls it from one event-loop thread and holds an
asyncio.Lock around mutations.

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
  shares usage out on undelegate and keeps a per-account recovery window); lock_period in
  blocks of 3 s (0 = 3 days); no TRON_POWER staking, voting or rewards; no Stake 1.0
  contracts. getcandelegatedmaxsize for BANDWIDTH does not reserve the delegating
  transaction's own bandwidth as java-tron does.
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
- Time moves forward only with blocks: ``seal_block_at`` (``POST /admin/time``) stamps the next
  block later than the clock, and every later block continues from that time.
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
from collections.abc import Callable
from typing import Any

from tron_devnet.core import admission, message_json, proto, token
from tron_devnet.core.crypto import address_of_private_key, is_address, sha256, sign_digest
from tron_devnet.core.execution import Executor, Params, Rejected
from tron_devnet.core.records import AdminEvent, Block, TxRecord, merkle_root
from tron_devnet.core.state import TOKEN_SUPPLY, Account, Delta, Overlay, State
from tron_devnet.core.types import ChainConfig, ChainError, GenesisAccount, SubmitResult

MAX_EXPIRATION_MS = 86_400_000
TAPOS_RING = 65_536
BLOCK_VERSION = 32
WITNESS_SECRET = sha256(b"tron_devnet witness key (public, devnet only)")


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class ChainCore:
    """One devnet chain's blocks, head and solid states and pending transactions.

    The other core modules read ``config``, ``token``, ``executor``, ``now_ms``,
    ``genesis_timestamp``, ``genesis_accounts``, ``head_state``, ``solid_state`` and ``blocks``
    (block 0 is genesis) and never assign them; changes go through ``submit``, ``seal_block``,
    ``replay_block`` and ``commit_admin_change``."""

    def __init__(
        self,
        config: ChainConfig,
        genesis: list[GenesisAccount],
        *,
        now_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.config = config
        self.now_ms = now_ms
        genesis_ts = config.genesis_timestamp_ms
        if genesis_ts is None:
            genesis_ts = now_ms()
        self.genesis_timestamp = genesis_ts
        self.genesis_accounts = [
            GenesisAccount(g.address_hex, g.trx_sun, g.usdt_units) for g in genesis
        ]
        self.token = token.TokenInfo(
            address=bytes.fromhex(config.token_address_hex),
            name=config.token_name,
            symbol=config.token_symbol,
            decimals=config.token_decimals,
            energy_existing=config.trc20_energy_existing,
            energy_new=config.trc20_energy_new,
            energy_factor_permille=config.trc20_energy_factor_permille,
        )
        self.executor = Executor(
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
        for g in self.genesis_accounts:
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
        self.head_state = head
        self.solid_state = head.clone()
        self.blocks: list[Block] = []
        self._by_id: dict[bytes, Block] = {}
        self._tapos: dict[bytes, bytes] = {}
        self._known: dict[str, TxRecord] = {}
        self._txid_cache: set[str] = set()  # node.rpc.trxCacheEnable (never expires here)
        self._pending: list[TxRecord] = []
        self._pending_view = Overlay(self.head_state)
        self._admin_delta = Delta()
        self._events: list[AdminEvent] = []
        self._solid = 0
        self._append_block(0, genesis_ts, b"\0" * 32, [])

    # ------------------------------------------------------------------------------ blocks
    @property
    def head_number(self) -> int:
        return self.blocks[-1].number

    @property
    def solid_number(self) -> int:
        return self._solid

    @property
    def head_timestamp(self) -> int:
        return self.blocks[-1].timestamp

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    @property
    def pending(self) -> tuple[TxRecord, ...]:
        """The pending transactions in the order they will be sealed."""
        return tuple(self._pending)

    @property
    def admin_events(self) -> tuple[AdminEvent, ...]:
        """Every admin change so far, in order (what ``export`` keeps)."""
        return tuple(self._events)

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
        self.blocks.append(block)
        self._by_id[block_id] = block
        self._tapos[block_id[6:8]] = block_id[8:16]
        return block

    def seal_block(self) -> Block:
        """Seal pending transactions into block head+1, execute them and solidify."""
        return self._seal(max(self.head_timestamp + self.config.block_interval_ms, self.now_ms()))

    def seal_block_at(self, timestamp_ms: int) -> Block:
        """Seal block head+1 stamped ``timestamp_ms`` (at least one interval after the head):
        the devnet's time travel. Later blocks continue from there, so unstake waits, lock
        periods and the 24 h resource recovery all see the jump."""
        return self._seal(max(self.head_timestamp + self.config.block_interval_ms, timestamp_ms))

    def replay_block(self, timestamp: int, records: list[TxRecord]) -> Block:
        """Seal ``records`` (decoded from an export) into the next block at ``timestamp``."""
        number = self.head_number + 1
        for rec in records:
            rec.hold_until = number
            self._known[rec.txid] = rec
            self._pending.append(rec)
        return self._seal(timestamp)

    def _seal(self, ts: int) -> Block:
        parent = self.blocks[-1]
        number = parent.number + 1
        view = Overlay(self.head_state)
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
                rec.receipt = self.executor.run(view, rec.input, ts, apply=True)
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
            solid_block = self.blocks[self._solid]
            if solid_block.delta is not None:
                self.solid_state.apply(solid_block.delta)
                solid_block.delta = None
        return block

    def _rebuild_pending(self) -> None:
        self._pending_view = Overlay(self.head_state)
        keep: list[TxRecord] = []
        now = self.head_timestamp
        for rec in self._pending:
            try:
                self.executor.run(self._pending_view, rec.input, now, apply=True)
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

    def block(self, number: int) -> Block | None:
        if 0 <= number < len(self.blocks):
            return self.blocks[number]
        return None

    def block_by_id(self, block_id_hex: str) -> Block | None:
        try:
            return self._by_id.get(bytes.fromhex(block_id_hex))
        except ValueError:
            return None

    def commit_admin_change(self, view: Overlay, event: AdminEvent) -> None:
        """Write an admin change made on ``Overlay(self.head_state)`` through: head state now,
        solid state with the next produced block; pending transactions are checked again."""
        self._admin_delta.merge(view.commit())
        self._events.append(event)
        self._rebuild_pending()

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
        decoded = admission.decode(tx_bytes, force_revert=force_revert)
        if isinstance(decoded, SubmitResult):
            if self.config.trx_cache_enable and decoded.txid:
                if decoded.txid in self._txid_cache:
                    return SubmitResult(
                        False, decoded.txid, "DUP_TRANSACTION_ERROR", admission.CACHED_DUP_MESSAGE
                    )
                self._txid_cache.add(decoded.txid)
            return decoded
        rec, signatures = decoded.record, decoded.signatures
        txid = rec.txid
        if self.config.trx_cache_enable:
            if txid in self._txid_cache:
                return SubmitResult(
                    False, txid, "DUP_TRANSACTION_ERROR", admission.CACHED_DUP_MESSAGE
                )
            self._txid_cache.add(txid)
        head_ts = self.head_timestamp
        exp = rec.raw.expiration
        # TransactionCapsule.checkExpiration(getNextBlockSlotTime())
        if exp < head_ts + self.config.block_interval_ms:
            return admission.fail(txid, "TRANSACTION_EXPIRATION_ERROR")
        sig_error = admission.check_signatures(rec, signatures)
        if sig_error:
            return admission.fail(txid, "SIGERROR", sig_error)
        if not self._tapos_ok(rec.raw):
            return admission.fail(txid, "TAPOS_ERROR")
        too_big = admission.size_error(
            txid, rec.input.size - admission.BANDWIDTH_EXTRA_BYTES, len(tx_bytes)
        )
        if too_big is not None:
            return too_big
        if exp <= head_ts or exp > head_ts + MAX_EXPIRATION_MS:
            return admission.fail(txid, "TRANSACTION_EXPIRATION_ERROR")
        if len(rec.raw.contract) != 1:
            return admission.fail(
                txid,
                "CONTRACT_VALIDATE_ERROR",
                admission.multi_contract_message(txid, len(rec.raw.contract)),
            )
        known = self._known.get(txid)
        if known is not None and (known.block is not None or known.never_include):
            # Manager.validateDup: on chain. (A never_include fault keeps its txid known.)
            return admission.fail(txid, "DUP_TRANSACTION_ERROR")
        pending_copy = known is not None and not known.dropped
        try:
            self.executor.run(self._pending_view, rec.input, head_ts, apply=not never_include)
        except Rejected as exc:
            return admission.fail(txid, exc.code, exc.message)
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
                raise message_json.JsonShapeError("transaction must be an object")
            raw = message_json.raw_from_json(tx.get("raw_data") or {})
            sigs = tx.get("signature") or []
            if not isinstance(sigs, list):
                raise message_json.JsonShapeError("signature must be a list")
            tx_bytes = message_json.transaction_bytes(raw, sigs)
        except (message_json.JsonShapeError, ValueError, TypeError) as exc:
            return admission.fail("", "OTHER_ERROR", str(exc))
        return self.submit(
            tx_bytes,
            hold_blocks=hold_blocks,
            never_include=never_include,
            force_revert=force_revert,
        )

    def visible_record(self, txid_hex: str, *, solid: bool) -> TxRecord | None:
        """The on-chain (``solid``: solidified) record of a txid, None when not there."""
        rec = self._known.get(txid_hex.lower())
        if rec is None or rec.block is None:
            return None
        if solid and rec.block > self._solid:
            return None
        return rec

    # ------------------------------------------------------------------ accounts/resources
    def state(self, solid: bool) -> State:
        """The head state, or the solidified one."""
        return self.solid_state if solid else self.head_state

    def state_time(self, solid: bool) -> int:
        """The block time of ``state(solid)``."""
        return self.blocks[self._solid].timestamp if solid else self.head_timestamp
