"""Independent transaction builder for the devnet core tests.

Transactions are written field by field with the devnet's wire encoder (``tron_devnet.core.wire``,
not google.protobuf) and signed with coincurve, so the core's message definitions (``proto``) are
checked against bytes they did not produce.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from coincurve import PrivateKey
from Cryptodome.Hash import keccak

from tron_devnet.core.chain import Chain, ChainConfig, GenesisAccount
from tron_devnet.core.wire import bytes_field, varint_field

TRX = 1_000_000
T0 = 1_700_000_000_000
USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"
ENERGY, BANDWIDTH = 1, 0


def f_varint(num: int, value: int) -> bytes:
    """A varint field, left out when zero (as protobuf writes proto3 defaults)."""
    return varint_field(num, value) if value else b""


def f_bytes(num: int, value: bytes) -> bytes:
    """A length-delimited field, left out when empty."""
    return bytes_field(num, value) if value else b""


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


@dataclass
class Wallet:
    seed: int
    key: PrivateKey = field(init=False)
    address: bytes = field(init=False)

    def __post_init__(self) -> None:
        self.key = PrivateKey(self.seed.to_bytes(32, "big"))
        pub = self.key.public_key.format(compressed=False)[1:]
        self.address = b"\x41" + keccak256(pub)[12:]

    @property
    def hex(self) -> str:
        return self.address.hex()


def transfer_param(owner: bytes, to: bytes, amount: int) -> bytes:
    return f_bytes(1, owner) + f_bytes(2, to) + f_varint(3, amount)


def trigger_param(owner: bytes, contract: bytes, data: bytes, call_value: int = 0) -> bytes:
    return f_bytes(1, owner) + f_bytes(2, contract) + f_varint(3, call_value) + f_bytes(4, data)


def freeze_param(owner: bytes, amount: int, resource: int) -> bytes:
    return f_bytes(1, owner) + f_varint(2, amount) + f_varint(3, resource)


def unfreeze_param(owner: bytes, amount: int, resource: int) -> bytes:
    return f_bytes(1, owner) + f_varint(2, amount) + f_varint(3, resource)


def withdraw_param(owner: bytes) -> bytes:
    return f_bytes(1, owner)


def cancel_unfreezes_param(owner: bytes) -> bytes:
    return f_bytes(1, owner)


def delegate_param(
    owner: bytes,
    receiver: bytes,
    amount: int,
    resource: int,
    *,
    lock: bool = False,
    period: int = 0,
) -> bytes:
    return (
        f_bytes(1, owner)
        + f_varint(2, resource)
        + f_varint(3, amount)
        + f_bytes(4, receiver)
        + f_varint(5, int(lock))
        + f_varint(6, period)
    )


def undelegate_param(owner: bytes, receiver: bytes, amount: int, resource: int) -> bytes:
    return f_bytes(1, owner) + f_varint(2, resource) + f_varint(3, amount) + f_bytes(4, receiver)


CONTRACT_TYPE = {
    "TransferContract": 1,
    "TriggerSmartContract": 31,
    "FreezeBalanceV2Contract": 54,
    "UnfreezeBalanceV2Contract": 55,
    "WithdrawExpireUnfreezeContract": 56,
    "DelegateResourceContract": 57,
    "UnDelegateResourceContract": 58,
    "CancelAllUnfreezeV2Contract": 59,
}


def contract_bytes(name: str, param: bytes, *, type_url: str | None = None) -> bytes:
    url = (type_url or f"type.googleapis.com/protocol.{name}").encode()
    any_msg = f_bytes(1, url) + f_bytes(2, param)
    return f_varint(1, CONTRACT_TYPE[name]) + f_bytes(2, any_msg)


def raw_bytes(
    contracts: list[bytes],
    *,
    ref_bytes: bytes,
    ref_hash: bytes,
    expiration: int,
    timestamp: int,
    fee_limit: int = 0,
    memo: bytes = b"",
) -> bytes:
    out = f_bytes(1, ref_bytes) + f_bytes(4, ref_hash) + f_varint(8, expiration) + f_bytes(10, memo)
    for c in contracts:
        out += f_bytes(11, c)
    return out + f_varint(14, timestamp) + f_varint(18, fee_limit)


def sign(raw: bytes, *wallets: Wallet, v27: bool = False) -> tuple[bytes, str]:
    """Serialized Transaction and its txid."""
    digest = hashlib.sha256(raw).digest()
    tx = f_bytes(1, raw)
    for w in wallets:
        sig = bytearray(w.key.sign_recoverable(digest, hasher=None))
        if v27:
            sig[64] += 27
        tx += f_bytes(2, bytes(sig))
    return tx, digest.hex()


def transfer_data(to: bytes, amount: int) -> bytes:
    return (
        keccak256(b"transfer(address,uint256)")[:4]
        + b"\0" * 12
        + to[1:]
        + amount.to_bytes(32, "big")
    )


class Clock:
    def __init__(self, start: int = T0) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


class Net:
    """A chain with an injected clock and helpers to build transactions against its head."""

    def __init__(
        self, genesis: list[tuple[Wallet, int, int]], config: ChainConfig | None = None
    ) -> None:
        self.clock = Clock()
        cfg = config or ChainConfig(genesis_timestamp_ms=T0)
        self.chain = Chain(
            cfg,
            [GenesisAccount(w.hex, trx, usdt) for w, trx, usdt in genesis],
            now_ms=self.clock,
        )

    def produce(self, n: int = 1) -> None:
        for _ in range(n):
            self.clock.advance(3000)
            self.chain.produce_block()

    def ref(self) -> tuple[bytes, bytes, int]:
        block = self.chain.block_json(self.chain.head_number)
        assert block is not None
        block_id = bytes.fromhex(block["blockID"])
        ts = block["block_header"]["raw_data"]["timestamp"]
        return block_id[6:8], block_id[8:16], ts

    def build(
        self,
        wallet: Wallet,
        name: str,
        param: bytes,
        *,
        fee_limit: int = 0,
        memo: bytes = b"",
        expiration_delta: int = 60_000,
        nonce: int = 0,
        signers: tuple[Wallet, ...] | None = None,
        type_url: str | None = None,
    ) -> tuple[bytes, str]:
        ref_bytes, ref_hash, ts = self.ref()
        raw = raw_bytes(
            [contract_bytes(name, param, type_url=type_url)],
            ref_bytes=ref_bytes,
            ref_hash=ref_hash,
            expiration=ts + expiration_delta,
            timestamp=self.clock.now + nonce,
            fee_limit=fee_limit,
            memo=memo,
        )
        return sign(raw, *(signers or (wallet,)))

    def trx(self, src: Wallet, dst: bytes, amount: int, **kw: object) -> tuple[bytes, str]:
        return self.build(src, "TransferContract", transfer_param(src.address, dst, amount), **kw)  # type: ignore[arg-type]

    def usdt(
        self, src: Wallet, dst: bytes, amount: int, fee_limit: int = 100 * TRX, **kw: object
    ) -> tuple[bytes, str]:
        param = trigger_param(src.address, bytes.fromhex(USDT_HEX), transfer_data(dst, amount))
        return self.build(src, "TriggerSmartContract", param, fee_limit=fee_limit, **kw)  # type: ignore[arg-type]

    def info(self, txid: str, solid: bool = False) -> dict[str, object]:
        info = self.chain.transaction_info(txid, solid=solid)
        assert info is not None
        return info

    def balance(self, w: Wallet | bytes, solid: bool = False) -> int:
        addr = w.address if isinstance(w, Wallet) else w
        return int(self.chain.account_json(addr.hex(), solid=solid).get("balance", 0))

    def tokens(self, w: Wallet | bytes, solid: bool = False) -> int:
        addr = w.address if isinstance(w, Wallet) else w
        data = keccak256(b"balanceOf(address)")[:4] + b"\0" * 12 + addr[1:]
        out = self.chain.trigger_constant(None, USDT_HEX, data, solid=solid)
        return int(out["constant_result"][0], 16)
