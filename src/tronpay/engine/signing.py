"""Build and sign payout transactions offline, against one reference block per batch.

Nothing leaves the process here: the node only supplied the reference block. The result is
what the engine persists BEFORE the first broadcast (sign once, persist first).

A payout whose own values cannot be encoded (a memo over the builder's byte limit, an
address or amount a builder refuses: a ``ValueError``) is set aside with the reason by
``sign_each`` and the rest of the batch is signed; a signer that fails stops the batch (it
is the engine's problem, not one payout's).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from tronpay.engine.planner import USDT, Quote
from tronpay.errors import TronpayError
from tronpay.kit.clock import now_ms
from tronpay.signer import Signer, SigningFailed
from tronpay.tron.keys import recover_address
from tronpay.tron.node import BlockRef
from tronpay.tron.transaction import (
    RefBlock,
    Trc20Encoder,
    build_trc20_transfer,
    build_trx_transfer,
    encode_raw_data,
    encode_transaction,
    txid,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ToSign:
    payout_id: str
    quote: Quote
    memo: str | None = None


@dataclass(frozen=True)
class SignedTx:
    payout_id: str
    txid: str
    raw_data: bytes
    signature: bytes
    expiration_ms: int
    fee_limit: int | None
    quote: Quote

    @property
    def tx_bytes(self) -> bytes:
        return encode_transaction(self.raw_data, [self.signature])


@dataclass(frozen=True)
class SignedBatch:
    """What ``sign_each`` made: the signed transactions, and the payouts whose transaction
    could not be built, with the reason (``unbuildable:<error>: <detail>``)."""

    signed: list[SignedTx]
    unbuildable: Mapping[str, str] = field(default_factory=dict)


UNBUILDABLE_PREFIX = "unbuildable:"


def unbuildable_reason(exc: ValueError) -> str:
    """Why a payout's transaction cannot be built: the error type and, for our own protocol
    errors (which describe the payout's values, never a key), their detail."""
    detail = f": {exc.detail}" if isinstance(exc, TronpayError) else ""
    return f"{UNBUILDABLE_PREFIX}{type(exc).__name__}{detail}"[:500]


_ts_lock = threading.Lock()
_last_ts = 0


# How far ahead of the floor the counter may run before it starts again from the floor: a
# node that once reported a head far in the future (a wrong clock; the devnet's time travel)
# must not push every later transaction's timestamp, and so its expiration, past what the
# chain accepts (TRANSACTION_EXPIRATION_ERROR) for the rest of the process's life.
TS_RESET_AHEAD_MS = 60_000


def unique_timestamp_ms(floor_ms: int) -> int:
    """A millisecond timestamp >= floor, strictly increasing within this process while the
    floor moves normally, so two otherwise identical transfers never share a txid. When the
    counter is more than ``TS_RESET_AHEAD_MS`` ahead of the floor it starts again from the
    floor (identical transfers then still differ: a new reference block and expiration, and
    the database refuses a repeated txid)."""
    global _last_ts  # noqa: PLW0603 - process-wide monotonic counter
    with _ts_lock:
        floor = max(floor_ms, now_ms())
        ahead = _last_ts - floor
        _last_ts = floor if ahead > TS_RESET_AHEAD_MS else max(_last_ts + 1, floor)
        return _last_ts


def _signed(item: ToSign, raw: bytes, expiration_ms: int, signer: Signer) -> SignedTx:
    tid = txid(raw)
    q = item.quote
    return SignedTx(
        payout_id=item.payout_id,
        txid=tid.hex(),
        raw_data=raw,
        signature=signer.sign(tid),
        expiration_ms=expiration_ms,
        fee_limit=q.fee_limit_sun if q.asset == USDT else None,
        quote=q,
    )


def sign_batch(
    items: Sequence[ToSign],
    *,
    ref_block: BlockRef,
    signer: Signer,
    token_contract: str,
    expiration_s: int,
    verify_first: bool = True,
) -> list[SignedTx]:
    """Build raw_data for every item against ``ref_block`` and sign it; an item that cannot
    be built raises (``sign_each`` sets it aside instead)."""
    return sign_each(
        items,
        ref_block=ref_block,
        signer=signer,
        token_contract=token_contract,
        expiration_s=expiration_s,
        verify_first=verify_first,
        raise_unbuildable=True,
    ).signed


def sign_each(
    items: Sequence[ToSign],
    *,
    ref_block: BlockRef,
    signer: Signer,
    token_contract: str,
    expiration_s: int,
    verify_first: bool = True,
    raise_unbuildable: bool = False,
) -> SignedBatch:
    """Build raw_data for every item against ``ref_block`` and sign it. An item whose values
    cannot be encoded is set aside in ``unbuildable`` (or raised with ``raise_unbuildable``);
    the signer's own failures always raise."""
    base_ms = max(ref_block.timestamp, now_ms())
    builder = _Builder(
        owner=signer.address,
        token_contract=token_contract,
        ref=RefBlock.from_block(ref_block.number, ref_block.id),
        expiration_ms=base_ms + expiration_s * 1000,
    )
    out: list[SignedTx] = []
    unbuildable: dict[str, str] = {}
    for item in items:
        ts = unique_timestamp_ms(base_ms)
        try:
            built = builder.build(item, ts)
        except ValueError as exc:
            if raise_unbuildable:
                raise
            unbuildable[item.payout_id] = unbuildable_reason(exc)
            log.warning(
                "engine.sign.unbuildable", payout_id=item.payout_id, error=type(exc).__name__
            )
            continue
        if built.direct:
            out.append(_signed(item, built.raw, built.expiration_ms, signer))
            continue
        tid = txid(built.raw)
        signature = signer.sign(tid)
        if verify_first and not out and recover_address(tid, signature) != signer.address:
            raise SigningFailed("signature does not recover to the hot wallet address")
        q = item.quote
        out.append(
            SignedTx(
                payout_id=item.payout_id,
                txid=tid.hex(),
                raw_data=built.raw,
                signature=signature,
                expiration_ms=built.expiration_ms,
                fee_limit=q.fee_limit_sun if q.asset == USDT else None,
                quote=q,
            )
        )
    return SignedBatch(signed=out, unbuildable=unbuildable)


@dataclass(frozen=True)
class _Built:
    """One item's raw_data; ``direct``: made by the checked direct TRC20 encoder."""

    raw: bytes
    expiration_ms: int
    direct: bool


class _Builder:
    """Builds raw_data for a batch: TRC20 transfers through the direct encoder once it has
    produced the same bytes as the builder for the first one."""

    def __init__(self, *, owner: str, token_contract: str, ref: RefBlock, expiration_ms: int):
        self._owner = owner
        self._token = token_contract
        self._ref = ref
        self._expiration_ms = expiration_ms
        self._fast: Trc20Encoder | None = None
        self._checked = False

    def build(self, item: ToSign, ts: int) -> _Built:
        q = item.quote
        exp = max(self._expiration_ms, ts + 1000)
        if q.asset != USDT:
            raw_json = build_trx_transfer(
                self._owner,
                q.to_address,
                q.amount,
                ref=self._ref,
                timestamp_ms=ts,
                expiration_ms=exp,
                memo=item.memo,
            )
            return _Built(encode_raw_data(raw_json), int(raw_json["expiration"]), direct=False)
        if self._fast is not None:
            raw = self._fast.raw(
                q.to_address,
                q.amount,
                timestamp_ms=ts,
                expiration_ms=exp,
                fee_limit=q.fee_limit_sun,
                memo=item.memo,
            )
            return _Built(raw, exp, direct=True)
        raw_json = build_trc20_transfer(
            self._owner,
            self._token,
            q.to_address,
            q.amount,
            ref=self._ref,
            timestamp_ms=ts,
            expiration_ms=exp,
            fee_limit=q.fee_limit_sun,
            memo=item.memo,
        )
        raw = encode_raw_data(raw_json)
        if not self._checked:
            self._checked = True
            candidate = Trc20Encoder(self._owner, self._token, self._ref)
            direct = candidate.raw(
                q.to_address,
                q.amount,
                timestamp_ms=ts,
                expiration_ms=exp,
                fee_limit=q.fee_limit_sun,
                memo=item.memo,
            )
            if direct == raw:
                self._fast = candidate
            else:
                log.warning("engine.sign.direct_encoding_differs")
        return _Built(raw, int(raw_json["expiration"]), direct=False)
