"""The public face of transaction handling: the java-tron JSON <-> protobuf codec, the
transaction id, the signed envelope, the typed builders and the direct TRC20 encoder.

Import from here: ``from tronpay.tron.transaction import build_trc20_transfer, txid``.
"""

from __future__ import annotations

from tronpay.tron.builders import (
    MEMO_MAX_BYTES,
    RefBlock,
    Resource,
    build_cancel_all_unfreeze_v2,
    build_delegate_resource,
    build_freeze_v2,
    build_trc20_transfer,
    build_trx_transfer,
    build_undelegate_resource,
    build_unfreeze_v2,
    build_withdraw_expire_unfreeze,
    memo_bytes,
)
from tronpay.tron.codec import (
    MAX_TRANSACTION_SIZE,
    SignedTransaction,
    decode_raw_data,
    decode_transaction,
    encode_raw_data,
    encode_transaction,
    txid,
)
from tronpay.tron.direct import Trc20Encoder

__all__ = [
    "MAX_TRANSACTION_SIZE",
    "MEMO_MAX_BYTES",
    "RefBlock",
    "Resource",
    "SignedTransaction",
    "Trc20Encoder",
    "build_cancel_all_unfreeze_v2",
    "build_delegate_resource",
    "build_freeze_v2",
    "build_trc20_transfer",
    "build_trx_transfer",
    "build_undelegate_resource",
    "build_unfreeze_v2",
    "build_withdraw_expire_unfreeze",
    "decode_raw_data",
    "decode_transaction",
    "encode_raw_data",
    "encode_transaction",
    "memo_bytes",
    "txid",
]
