"""Build and sign payout transactions offline, against one reference block per batch.

Nothing leaves the process here: the node only supplied the reference block. The result is
what the engine persists BEFORE the first broadcast (sign once, persist first).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from tronpay.engine.planner import USDT, Quote
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


_ts_lock = threading.Lock()
_last_ts = 0


def unique_timestamp_ms(floor_ms: int) -> int:
    """A millisecond timestamp >= floor, strictly increasing within this process, so two
    otherwise identical transfers never share a txid."""
    global _last_ts  # noqa: PLW0603 - process-wide monotonic counter
    with _ts_lock:
        _last_ts = max(_last_ts + 1, floor_ms, now_ms())
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
    """Build raw_data for every item against ``ref_block`` and sign it."""
    ref = RefBlock.from_block(ref_block.number, ref_block.id)
    base_ms = max(ref_block.timestamp, now_ms())
    expiration_ms = base_ms + expiration_s * 1000
    out: list[SignedTx] = []
    fast: Trc20Encoder | None = None
    checked = False
    for n, item in enumerate(items):
        q = item.quote
        ts = unique_timestamp_ms(base_ms)
        if q.asset == USDT:
            exp = max(expiration_ms, ts + 1000)
            if fast is not None:
                raw = fast.raw(
                    q.to_address,
                    q.amount,
                    timestamp_ms=ts,
                    expiration_ms=exp,
                    fee_limit=q.fee_limit_sun,
                    memo=item.memo,
                )
                out.append(_signed(item, raw, exp, signer))
                continue
            raw_json = build_trc20_transfer(
                signer.address,
                token_contract,
                q.to_address,
                q.amount,
                ref=ref,
                timestamp_ms=ts,
                expiration_ms=exp,
                fee_limit=q.fee_limit_sun,
                memo=item.memo,
            )
            if not checked:
                checked = True
                candidate = Trc20Encoder(signer.address, token_contract, ref)
                direct = candidate.raw(
                    q.to_address,
                    q.amount,
                    timestamp_ms=ts,
                    expiration_ms=exp,
                    fee_limit=q.fee_limit_sun,
                    memo=item.memo,
                )
                if direct == encode_raw_data(raw_json):
                    fast = candidate
                else:
                    log.warning("engine.sign.direct_encoding_differs")
        else:
            raw_json = build_trx_transfer(
                signer.address,
                q.to_address,
                q.amount,
                ref=ref,
                timestamp_ms=ts,
                expiration_ms=max(expiration_ms, ts + 1000),
                memo=item.memo,
            )
        raw = encode_raw_data(raw_json)
        tid = txid(raw)
        signature = signer.sign(tid)
        if verify_first and n == 0 and recover_address(tid, signature) != signer.address:
            raise SigningFailed("signature does not recover to the hot wallet address")
        out.append(
            SignedTx(
                payout_id=item.payout_id,
                txid=tid.hex(),
                raw_data=raw,
                signature=signature,
                expiration_ms=int(raw_json["expiration"]),
                fee_limit=q.fee_limit_sun if q.asset == USDT else None,
                quote=q,
            )
        )
    return out
