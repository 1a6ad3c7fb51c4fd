"""The devnet chain: blocks, validation, execution and solidified state (no HTTP).

Synchronous and not thread-safe: the server calls it from one event-loop thread and holds an
asyncio.Lock around mutations. All JSON returned is java-tron's shape with HEX addresses ("41...");
``trigger_constant``/``estimate_energy`` error messages are hex-encoded as java-tron prints them,
``SubmitResult.message`` and ``ChainError.message`` are plain text (the server hex-encodes).

Order of checks in ``submit`` (java-tron's Wallet.broadcastTransaction + Manager.processTransaction,
as far as practical): size (> 500 KiB) → decode → exactly one contract → txid = sha256(raw) →
duplicate → signature → TAPOS → expiration → owner account exists → bandwidth (and memo fee) →
contract validation against head state plus every pending transaction.

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
  the contract creator pays none (origin_energy_usage is always 0). No dynamic energy penalty.
- The TRC20 token is native Python, not TVM bytecode. Energy: transfer = trc20_energy_existing
  (recipient balance > 0) or trc20_energy_new; views 1,000; REVERT costs a fixed figure per
  failing check (blacklisted sender 1,600, insufficient balance 2,700, malformed call 300);
  a forced revert costs the full transfer energy. Calldata must be exactly 4 + 32*n bytes with
  zero upper address bytes (stricter than the mainnet Solidity 0.4 contract, on purpose).
  No approve/transferFrom/allowance; no pause; TRX sent with a call reverts.
- OUT_OF_ENERGY uses the whole energy limit (stake first, the rest burned, at most fee_limit).
- Stake 2.0: unfreeze and undelegate do not move resource *usage* between accounts; delegable
  amount = frozen amount (usage not subtracted); lock_period in blocks of 3 s (0 = 3 days).
- Validation of pending transactions uses the head block time; execution uses the new block's
  time. Pending transactions are NOT visible in getaccount (head = last produced block).
- A pending transaction is dropped (never included) if at sealing time it expired
  (expiration <= parent block time or < the new block time), its TAPOS ref fell out of the
  ring, or it no longer validates. Dropped and never_include txids stay known (DUP on rebroadcast).
- Admin mint/blacklist apply to the head state at once and reach the solid state with the next
  produced block. Energy/bandwidth price history is a single change at genesis.
- export_state keeps config, genesis, every block's timestamp and tx bytes (+ force_revert),
  admin events and pending txs; from_state replays them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from google.protobuf.message import DecodeError

from tron_devnet import core_json, proto, token
from tron_devnet.crypto import (
    SignatureError,
    address_of_private_key,
    is_address,
    recover_address,
    sha256,
    sign_digest,
    to_base58,
)
from tron_devnet.execution import Executor, Params, Receipt, Rejected, TxInput
from tron_devnet.staking import (
    energy_limit,
    energy_used,
    free_net_used,
    net_limit,
    net_used,
)
from tron_devnet.state import (
    RESOURCE_ENERGY,
    TOKEN_SUPPLY,
    TOTAL_ENERGY_WEIGHT,
    TOTAL_NET_WEIGHT,
    Account,
    Delta,
    Overlay,
    State,
)

MAX_TX_BYTES = 500 * 1024
MAX_EXPIRATION_MS = 86_400_000
TAPOS_RING = 65_536
BANDWIDTH_EXTRA_BYTES = 64  # java-tron Constant.MAX_RESULT_SIZE_IN_TX
BLOCK_VERSION = 32
WITNESS_SECRET = sha256(b"tron_devnet witness key (public, devnet only)")
TOKEN_CREATOR_HEX = "41" + sha256(b"tron_devnet token creator")[:20].hex()
CODE_VERSION = "4.8.0-devnet"


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class ChainConfig:
    block_interval_ms: int = 3000  # timestamps advance by this per produced block
    solidify_depth: int = 19  # solid head = head - depth
    energy_price_sun: int = 100  # getEnergyFee chain parameter
    bandwidth_price_sun: int = 1000  # getTransactionFee
    free_bandwidth: int = 600  # free net per account per day
    create_account_fee_sun: int = 1_000_000  # TRX transfer to a new account (plus bandwidth)
    trc20_energy_existing: int = 64_285  # USDT transfer to an existing holder
    trc20_energy_new: int = 130_285  # ... to an address with zero token balance
    unfreeze_delay_ms: int = 14 * 86_400_000
    total_energy_limit: int = 180_000_000_000
    total_net_limit: int = 43_200_000_000
    token_address_hex: str = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"  # noqa: S105
    token_name: str = "Tether USD"  # noqa: S105
    token_symbol: str = "USDT"  # noqa: S105
    token_decimals: int = 6
    genesis_timestamp_ms: int | None = None  # None = now
    # added by the core (defaults follow mainnet):
    create_account_bandwidth_fee_sun: int = 100_000  # getCreateAccountFee (bandwidth part)
    memo_fee_sun: int = 1_000_000  # getMemoFee: burned for a transaction with raw.data
    max_fee_limit_sun: int = 15_000_000_000  # getMaxFeeLimit
    max_delegate_lock_period: int = 864_000  # getMaxDelegateLockPeriod (blocks)


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


# java-tron Wallet.broadcastTransaction messages per code (prefix + exception message)
_BROADCAST_MESSAGES = {
    "SIGERROR": "validate signature error ",
    "CONTRACT_VALIDATE_ERROR": "contract validate error : ",
    "CONTRACT_EXE_ERROR": "contract execute error : ",
    "OTHER_ERROR": "other error : ",
}
_FIXED_MESSAGES = {
    "BANDWITH_ERROR": "AccountResourceInsufficient error",
    "DUP_TRANSACTION_ERROR": "",  # java-tron's transaction-id cache answers without a message
    "TAPOS_ERROR": "Tapos check error",
    "TOO_BIG_TRANSACTION_ERROR": "transaction size is too big",
    "TRANSACTION_EXPIRATION_ERROR": "transaction expired",
}


def _fail(txid: str, code: str, detail: str = "") -> SubmitResult:
    if code in _FIXED_MESSAGES:
        return SubmitResult(False, txid, code, _FIXED_MESSAGES[code])
    return SubmitResult(False, txid, code, _BROADCAST_MESSAGES.get(code, "") + detail)


@dataclass(eq=False)
class TxRecord:
    txid: str
    tx_bytes: bytes
    raw: Any
    raw_bytes: bytes
    signatures: list[bytes]
    input: TxInput
    hold_until: int = 0
    never_include: bool = False
    block: int | None = None
    receipt: Receipt | None = None
    dropped: bool = False
    _json: dict[str, Any] | None = None


@dataclass(eq=False)
class Block:
    number: int
    timestamp: int
    block_id: bytes
    parent_hash: bytes
    header_raw: Any
    witness_signature: bytes
    txs: list[TxRecord]
    delta: Delta | None = None  # applied to the solid state when this block solidifies


@dataclass
class _Event:
    after_block: int
    op: str
    args: dict[str, Any] = field(default_factory=dict)


def _merkle_root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return b"\0" * 32
    level = leaves
    while len(level) > 1:
        nxt = [sha256(level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def _omit_zero(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (0, "", None, [], {})}


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
        self._pending: list[TxRecord] = []
        self._pending_view = Overlay(self._head_state)
        self._admin_delta = Delta()
        self._events: list[_Event] = []
        self._ledger: list[dict[str, Any]] = []
        self._solid = 0
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
        header.txTrieRoot = _merkle_root([sha256(r.tx_bytes) for r in txs])
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
            if exp <= parent.timestamp or exp < ts or not self._tapos_ok(rec.raw):
                rec.dropped = True
                continue
            try:
                rec.receipt = self._executor.run(view, rec.input, ts, apply=True)
            except Rejected:
                rec.dropped = True
                continue
            included.append(rec)
        delta = self._admin_delta
        delta.merge(view.commit())
        self._admin_delta = Delta()
        block = self._append_block(number, ts, parent.block_id, included)
        block.delta = delta
        for rec in included:
            rec.block = number
            self._ledger.append(self._ledger_entry(rec, number))
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
                rec.dropped = True
                continue
            keep.append(rec)
        self._pending = keep

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
            out["transactions"] = [self._tx_to_json(rec) for rec in block.txs]
        return out

    # ------------------------------------------------------------------------ transactions
    def submit(
        self,
        tx_bytes: bytes,
        *,
        hold_blocks: int = 0,
        never_include: bool = False,
        force_revert: bool = False,
    ) -> SubmitResult:
        """Validate a serialized Transaction (raw_data=1, signature=2) and queue it."""
        decoded = self._decode(tx_bytes, force_revert=force_revert)
        if isinstance(decoded, SubmitResult):
            return decoded
        rec = decoded
        txid = rec.txid
        if txid in self._known:
            return _fail(txid, "DUP_TRANSACTION_ERROR")
        sig_error = self._check_signatures(rec)
        if sig_error:
            return _fail(txid, "SIGERROR", sig_error)
        if not self._tapos_ok(rec.raw):
            return _fail(txid, "TAPOS_ERROR")
        head_ts = self.head_timestamp
        exp = rec.raw.expiration
        if exp <= head_ts or exp > head_ts + MAX_EXPIRATION_MS:
            return _fail(txid, "TRANSACTION_EXPIRATION_ERROR")
        try:
            self._executor.run(self._pending_view, rec.input, head_ts, apply=not never_include)
        except Rejected as exc:
            return _fail(txid, exc.code, exc.message)
        rec.hold_until = self.head_number + 1 + max(hold_blocks, 0)
        rec.never_include = never_include
        self._known[txid] = rec
        if not never_include:
            self._pending.append(rec)
        return SubmitResult(True, txid)

    def _decode(self, tx_bytes: bytes, *, force_revert: bool) -> TxRecord | SubmitResult:
        try:
            tx = proto.Transaction.FromString(tx_bytes)
        except DecodeError as exc:
            if len(tx_bytes) > MAX_TX_BYTES:
                return _fail("", "TOO_BIG_TRANSACTION_ERROR")
            return _fail("", "OTHER_ERROR", f"invalid transaction bytes: {exc}")
        raw = tx.raw_data
        raw_bytes = raw.SerializeToString()
        txid = sha256(raw_bytes).hex()
        if tx.ret:
            tx.ClearField("ret")
        size = tx.ByteSize()
        if size > MAX_TX_BYTES:
            return _fail(txid, "TOO_BIG_TRANSACTION_ERROR")
        if len(raw.contract) != 1:
            return _fail(
                txid, "OTHER_ERROR", "act size should be exactly 1, this is extend feature"
            )
        contract = raw.contract[0]
        type_name = proto.CONTRACT_NAMES.get(contract.type, f"ContractType({contract.type})")
        cls = proto.CONTRACT_CLASSES.get(type_name)
        if cls is None:
            return _fail(
                txid, "CONTRACT_VALIDATE_ERROR", f"{type_name} is not supported by the devnet"
            )
        if contract.parameter.type_url.rsplit("/", 1)[-1] != f"protocol.{type_name}":
            return _fail(
                txid,
                "CONTRACT_VALIDATE_ERROR",
                f"contract type error, expected type [{type_name}], real type[class "
                "com.google.protobuf.Any]",
            )
        try:
            value = cls.FromString(contract.parameter.value)
        except DecodeError as exc:
            return _fail(txid, "OTHER_ERROR", f"invalid contract parameter: {exc}")
        tx_input = TxInput(
            owner=bytes(value.owner_address),
            contract_type=type_name,
            value=value,
            size=size + BANDWIDTH_EXTRA_BYTES,
            fee_limit=raw.fee_limit,
            has_memo=bool(raw.data),
            force_revert=force_revert and type_name == "TriggerSmartContract",
        )
        return TxRecord(
            txid=txid,
            tx_bytes=bytes(tx_bytes),
            raw=raw,
            raw_bytes=raw_bytes,
            signatures=[bytes(s) for s in tx.signature],
            input=tx_input,
        )

    def _check_signatures(self, rec: TxRecord) -> str:
        """Empty string when the signatures satisfy the owner permission, else java-tron's
        reason (TransactionCapsule.validateSignature / checkWeight)."""
        if not rec.signatures:
            return "miss sig or contract"
        permission = rec.raw.contract[0].Permission_id
        if permission not in (0, 2):
            return "permission isn't exit"
        if len(rec.signatures) > 1:
            return (
                f"Signature count is {len(rec.signatures)} more than key counts of permission : 1"
            )
        sig = rec.signatures[0]
        if len(sig) < 65:
            return f"Signature size is {len(sig)}"
        try:
            signer = recover_address(bytes.fromhex(rec.txid), sig[:65])
        except SignatureError as exc:
            return str(exc)
        if signer != rec.input.owner:
            return (
                f"{rec.txid} is signed by {to_base58(signer)} but it is not contained of "
                "permission."
            )
        return ""

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
            return _fail("", "OTHER_ERROR", str(exc))
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

    def _tx_to_json(self, rec: TxRecord) -> dict[str, Any]:
        if rec._json is None:
            out: dict[str, Any] = {}
            if rec.receipt is not None:
                out["ret"] = [{"contractRet": rec.receipt.result}]
            out["signature"] = [s.hex() for s in rec.signatures]
            out["txID"] = rec.txid
            out["raw_data"] = core_json.raw_to_json(rec.raw)
            out["raw_data_hex"] = rec.raw_bytes.hex()
            rec._json = out
        return dict(rec._json)

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
        r = rec.receipt
        if r is None or rec.block is None:
            raise ChainError("OTHER_ERROR", f"transaction {rec.txid} is not on chain")
        block = self._blocks[rec.block]
        info: dict[str, Any] = {"id": rec.txid}
        if r.fee:
            info["fee"] = r.fee
        info["blockNumber"] = block.number
        info["blockTimeStamp"] = block.timestamp
        info["contractResult"] = [r.contract_result.hex()]
        if r.is_vm:
            info["contract_address"] = self.token.address.hex()
        receipt = _omit_zero(
            {
                "energy_usage": r.energy_usage,
                "energy_fee": r.energy_fee,
                "energy_usage_total": r.energy_total,
                "net_usage": r.net_usage,
                "net_fee": r.net_fee,
            }
        )
        if r.is_vm:
            receipt["result"] = r.result
        info["receipt"] = receipt
        if r.logs:
            info["log"] = [dict(entry) for entry in r.logs]
        if r.result != "SUCCESS":
            info["result"] = "FAILED"
            info["resMessage"] = r.res_message.encode().hex()
        if r.withdraw_expire_amount:
            info["withdraw_expire_amount"] = r.withdraw_expire_amount
        if rec.input.contract_type == "UnfreezeBalanceV2Contract":
            info["unfreeze_amount"] = r.amount
        return info

    def _ledger_entry(self, rec: TxRecord, number: int) -> dict[str, Any]:
        r = rec.receipt
        if r is None:
            raise ChainError("OTHER_ERROR", f"transaction {rec.txid} was not executed")
        return {
            "txid": rec.txid,
            "block": number,
            "asset": r.asset,
            "type": rec.input.contract_type,
            "from": rec.input.owner.hex(),
            "to": r.to.hex() if r.to is not None else None,
            "amount": r.amount,
            "fee": r.fee,
            "result": r.result,
        }

    # ------------------------------------------------------------------ accounts/resources
    def _state(self, solid: bool) -> tuple[State, int]:
        if solid:
            return self._solid_state, self._blocks[self._solid].timestamp
        return self._head_state, self.head_timestamp

    def account_json(self, address_hex: str, *, solid: bool = False) -> dict[str, Any]:
        state, _ = self._state(solid)
        addr = _addr_or_none(address_hex)
        acct = state.accounts.get(addr) if addr else None
        if acct is None:
            return {}
        out: dict[str, Any] = {"address": acct.address.hex()}
        if acct.address == self.token.address:
            out["type"] = "Contract"
        out.update(
            _omit_zero(
                {
                    "balance": acct.balance,
                    "create_time": acct.create_time,
                    "latest_opration_time": acct.latest_operation_time,
                    "free_net_usage": acct.free_net_usage,
                    "latest_consume_free_time": acct.latest_consume_free_time,
                    "net_usage": acct.net_usage,
                    "latest_consume_time": acct.latest_consume_time,
                }
            )
        )
        resource = _omit_zero(
            {
                "energy_usage": acct.energy_usage,
                "latest_consume_time_for_energy": acct.latest_consume_time_for_energy,
                "delegated_frozenV2_balance_for_energy": acct.delegated_en,
                "acquired_delegated_frozenV2_balance_for_energy": acct.acquired_en,
            }
        )
        if resource:
            out["account_resource"] = resource
        key = [{"address": acct.address.hex(), "weight": 1}]
        out["owner_permission"] = {"permission_name": "owner", "threshold": 1, "keys": key}
        out["active_permission"] = [
            {
                "type": "Active",
                "id": 2,
                "permission_name": "active",
                "threshold": 1,
                "operations": "7fff1fc0033ec30f000000000000000000000000000000000000000000000000",
                "keys": key,
            }
        ]
        frozen: list[dict[str, Any]] = [
            {"amount": acct.frozen_bw} if acct.frozen_bw else {},
            {"type": "ENERGY", "amount": acct.frozen_en} if acct.frozen_en else {"type": "ENERGY"},
            {"type": "TRON_POWER"},
        ]
        out["frozenV2"] = frozen
        if acct.unfrozen:
            out["unfrozenV2"] = [
                _omit_zero(
                    {
                        "type": "ENERGY" if u.resource == RESOURCE_ENERGY else "",
                        "unfreeze_amount": u.amount,
                        "unfreeze_expire_time": u.expire_ms,
                    }
                )
                for u in acct.unfrozen
            ]
        out.update(
            _omit_zero(
                {
                    "delegated_frozenV2_balance_for_bandwidth": acct.delegated_bw,
                    "acquired_delegated_frozenV2_balance_for_bandwidth": acct.acquired_bw,
                }
            )
        )
        return out

    def account_resource_json(self, address_hex: str, *, solid: bool = False) -> dict[str, Any]:
        state, now = self._state(solid)
        addr = _addr_or_none(address_hex)
        acct = state.accounts.get(addr) if addr else None
        if acct is None:
            return {}
        cfg = self.config
        energy_weight = state.totals.get(TOTAL_ENERGY_WEIGHT, 0)
        net_weight = state.totals.get(TOTAL_NET_WEIGHT, 0)
        return _omit_zero(
            {
                "freeNetUsed": free_net_used(acct, now),
                "freeNetLimit": cfg.free_bandwidth,
                "NetUsed": net_used(acct, now),
                "NetLimit": net_limit(acct, cfg.total_net_limit, net_weight),
                "TotalNetLimit": cfg.total_net_limit,
                "TotalNetWeight": net_weight // 1_000_000,
                "EnergyUsed": energy_used(acct, now),
                "EnergyLimit": energy_limit(acct, cfg.total_energy_limit, energy_weight),
                "TotalEnergyLimit": cfg.total_energy_limit,
                "TotalEnergyWeight": energy_weight // 1_000_000,
            }
        )

    def chain_parameters_json(self) -> dict[str, Any]:
        return {
            "chainParameter": [{"key": k, "value": v} for k, v in self._chain_parameters().items()]
        }

    def _chain_parameters(self) -> dict[str, int]:
        cfg = self.config
        return {
            "getMaintenanceTimeInterval": 21_600_000,
            "getAccountUpgradeCost": 9_999_000_000,
            "getCreateAccountFee": cfg.create_account_bandwidth_fee_sun,
            "getTransactionFee": cfg.bandwidth_price_sun,
            "getAssetIssueFee": 1_024_000_000,
            "getCreateNewAccountFeeInSystemContract": cfg.create_account_fee_sun,
            "getCreateNewAccountBandwidthRate": 1,
            "getAllowCreationOfContracts": 1,
            "getEnergyFee": cfg.energy_price_sun,
            "getMaxCpuTimeOfOneTx": 80,
            "getAllowSameTokenName": 1,
            "getAllowDelegateResource": 1,
            "getTotalEnergyLimit": cfg.total_energy_limit,
            "getAllowTvmTransferTrc10": 1,
            "getTotalEnergyCurrentLimit": cfg.total_energy_limit,
            "getAllowMultiSign": 1,
            "getAllowAdaptiveEnergy": 0,
            "getUpdateAccountPermissionFee": 100_000_000,
            "getMultiSignFee": 1_000_000,
            "getAllowTvmConstantinople": 1,
            "getAllowTvmSolidity059": 1,
            "getAllowTvmIstanbul": 1,
            "getMaxFeeLimit": cfg.max_fee_limit_sun,
            "getAllowOptimizeBlackHole": 1,
            "getAllowNewResourceModel": 1,
            "getAllowTvmFreeze": 1,
            "getAllowTvmLondon": 1,
            "getFreeNetLimit": cfg.free_bandwidth,
            "getTotalNetLimit": cfg.total_net_limit,
            "getMemoFee": cfg.memo_fee_sun,
            "getUnfreezeDelayDays": cfg.unfreeze_delay_ms // 86_400_000,
            "getAllowDynamicEnergy": 0,
            "getAllowTvmShangHai": 1,
            "getAllowCancelAllUnfreezeV2": 1,
            "getMaxDelegateLockPeriod": cfg.max_delegate_lock_period,
        }

    def energy_prices(self) -> str:
        return _price_history(420, self._genesis_ts, self.config.energy_price_sun)

    def bandwidth_prices(self) -> str:
        return _price_history(10, self._genesis_ts, self.config.bandwidth_price_sun)

    def node_info_json(self) -> dict[str, Any]:
        head = self._blocks[-1]
        solid = self._blocks[self._solid]
        return {
            "beginSyncNum": head.number,
            "block": f"Num:{head.number},ID:{head.block_id.hex()}",
            "solidityBlock": f"Num:{solid.number},ID:{solid.block_id.hex()}",
            "currentConnectCount": 0,
            "activeConnectCount": 0,
            "passiveConnectCount": 0,
            "totalFlow": 0,
            "peerInfoList": [],
            "configNodeInfo": {
                "codeVersion": CODE_VERSION,
                "p2pVersion": "devnet",
                "listenPort": 0,
                "discoverEnable": False,
                "activeNodeSize": 0,
                "passiveNodeSize": 0,
                "sendNodeSize": 0,
                "maxConnectCount": 0,
                "sameIpMaxConnectCount": 0,
                "backupListenPort": 0,
                "backupMemberSize": 0,
                "backupPriority": 0,
                "dbVersion": 2,
                "minParticipationRate": 0,
                "supportConstant": True,
                "minTimeRatio": 0.0,
                "maxTimeRatio": 5.0,
                "allowCreationOfContracts": 1,
                "allowAdaptiveEnergy": 0,
            },
            "machineInfo": {"threadCount": 1, "cpuCount": 1, "javaVersion": "python"},
            "cheatWitnessInfoMap": {},
        }

    # ------------------------------------------------------------------------ token contract
    def contract_json(self, address_hex: str) -> dict[str, Any]:
        if _addr_or_none(address_hex) != self.token.address:
            return {}
        return {
            "bytecode": "",
            "consume_user_resource_percent": 100,
            "name": "TetherToken",
            "origin_address": TOKEN_CREATOR_HEX,
            "abi": {"entrys": [dict(e) for e in token.ABI_ENTRIES]},
            "origin_energy_limit": 10_000_000,
            "contract_address": self.token.address.hex(),
            "code_hash": sha256(b"tron_devnet native TRC20").hex(),
        }

    def trigger_constant(
        self, owner_hex: str | None, contract_hex: str, data: bytes, *, solid: bool = False
    ) -> dict[str, Any]:
        """triggerconstantcontract: run the call without changing state."""
        state, _ = self._state(solid)
        contract = _addr_or_none(contract_hex)
        if contract != self.token.address:
            return _result_error(
                "CONTRACT_VALIDATE_ERROR", "No contract or not a valid smart contract"
            )
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
        return {
            "result": result,
            "energy_used": outcome.energy,
            "constant_result": [outcome.return_data.hex()],
            "transaction": tx,
        }

    def estimate_energy(self, owner_hex: str, contract_hex: str, data: bytes) -> dict[str, Any]:
        contract = _addr_or_none(contract_hex)
        if contract != self.token.address:
            return _result_error(
                "CONTRACT_VALIDATE_ERROR", "No contract or not a valid smart contract"
            )
        owner = _addr_or_none(owner_hex)
        if owner is None or self._head_state.accounts.get(owner) is None:
            return _result_error(
                "CONTRACT_VALIDATE_ERROR", "Validate TriggerSmartContract error, no OwnerAccount."
            )
        outcome = token.run_call(Overlay(self._head_state), self.token, owner, data, 0)
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
            raise ChainError(exc.code, exc.message) from exc
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
        raw.expiration = expiration_ms if expiration_ms is not None else head.timestamp + 60_000
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
        self._events.append(_Event(self.head_number, "mint", args))
        self._rebuild_pending()

    def blacklist(self, address_hex: str, listed: bool = True) -> None:
        addr = _addr_or_none(address_hex)
        if addr is None:
            raise ChainError("OTHER_ERROR", f"invalid address {address_hex}")
        view = Overlay(self._head_state)
        view.set_blacklisted(addr, listed)
        self._admin_delta.merge(view.commit())
        self._events.append(
            _Event(self.head_number, "blacklist", {"address": addr.hex(), "listed": listed})
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
        return {"accounts": accounts, "transactions": [dict(e) for e in self._ledger]}

    def state_json(self) -> dict[str, Any]:
        head = self._blocks[-1]
        return {
            "head": head.number,
            "head_block_id": head.block_id.hex(),
            "head_timestamp": head.timestamp,
            "solidified": self._solid,
            "pending": len(self._pending),
            "chain_parameters": self._chain_parameters(),
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
        events = [_Event(**e) for e in data.get("events", [])]
        for number, block in enumerate(data["blocks"], start=1):
            chain._replay_events(events, number - 1)
            for item in block["txs"]:
                decoded = chain._decode(
                    bytes.fromhex(item["tx"]), force_revert=item["force_revert"]
                )
                if isinstance(decoded, SubmitResult):
                    raise ChainError("OTHER_ERROR", f"cannot replay block {number}")
                decoded.hold_until = number
                chain._known[decoded.txid] = decoded
                chain._pending.append(decoded)
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

    def _replay_events(self, events: list[_Event], after_block: int) -> None:
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


def _price_history(initial: int, genesis_ts: int, price: int) -> str:
    if price == initial:
        return f"0:{initial}"
    return f"0:{initial},{genesis_ts}:{price}"
