"""The few TRC20 ABI calls a payout service needs: call data builders and result decoders.

Addresses in call data are the 20-byte EVM form (the 0x41 prefix dropped), left-padded to
32 bytes; integers are 32-byte big-endian words.
"""

from __future__ import annotations

from dataclasses import dataclass

from tronpay.tron.address import ADDRESS_PREFIX, encode_base58, to_bytes
from tronpay.tron.errors import DecodeError, EncodeError
from tronpay.tron.hashing import keccak256

WORD = 32
UINT256_LIMIT = 1 << 256


def selector(signature: str) -> bytes:
    """The 4-byte function selector: keccak256 of the canonical signature, first 4 bytes."""
    return keccak256(signature.encode("ascii"))[:4]


TRANSFER_SELECTOR = selector("transfer(address,uint256)")  # a9059cbb
BALANCE_OF_SELECTOR = selector("balanceOf(address)")  # 70a08231
DECIMALS_SELECTOR = selector("decimals()")  # 313ce567
IS_BLACKLISTED_SELECTOR = selector("isBlackListed(address)")  # e47d6060

TRANSFER_CALL_LENGTH = 4 + 2 * WORD


def encode_address_word(addr: str | bytes) -> bytes:
    """A TRON address as an ABI ``address`` word."""
    return bytes(12) + to_bytes(addr)[1:]


def encode_uint256(value: int) -> bytes:
    if not isinstance(value, int) or isinstance(value, bool):
        raise EncodeError("a uint256 must be an integer")
    if not 0 <= value < UINT256_LIMIT:
        raise EncodeError("a uint256 must be in [0, 2**256)")
    return value.to_bytes(WORD, "big")


def transfer_call(to: str | bytes, amount: int) -> bytes:
    """Call data of ``transfer(address,uint256)``."""
    return TRANSFER_SELECTOR + encode_address_word(to) + encode_uint256(amount)


def balance_of_call(owner: str | bytes) -> bytes:
    """Call data of ``balanceOf(address)``."""
    return BALANCE_OF_SELECTOR + encode_address_word(owner)


def decimals_call() -> bytes:
    """Call data of ``decimals()``."""
    return DECIMALS_SELECTOR


def is_blacklisted_call(addr: str | bytes) -> bytes:
    """Call data of Tether's ``isBlackListed(address)`` view."""
    return IS_BLACKLISTED_SELECTOR + encode_address_word(addr)


def decode_uint256(data: bytes) -> int:
    """A single ``uint256`` return value (exactly 32 bytes)."""
    if len(data) != WORD:
        raise DecodeError(f"a uint256 result must be {WORD} bytes, got {len(data)}")
    return int.from_bytes(data, "big")


def decode_bool(data: bytes) -> bool:
    """A single ``bool`` return value (exactly 32 bytes, 0 or 1)."""
    value = decode_uint256(data)
    if value > 1:
        raise DecodeError("a bool result must be 0 or 1")
    return value == 1


@dataclass(frozen=True, slots=True)
class TransferCall:
    """The decoded arguments of a ``transfer(address,uint256)`` call."""

    to: str  # base58
    amount: int


def decode_transfer(data: bytes) -> TransferCall:
    """Parse ``transfer(address,uint256)`` call data (selector included, exact length)."""
    if len(data) != TRANSFER_CALL_LENGTH:
        raise DecodeError(f"transfer call data must be {TRANSFER_CALL_LENGTH} bytes")
    if data[:4] != TRANSFER_SELECTOR:
        raise DecodeError("call data is not transfer(address,uint256)")
    address_word = data[4 : 4 + WORD]
    if any(address_word[:12]):
        raise DecodeError("address word has non-zero padding")
    to = encode_base58(bytes([ADDRESS_PREFIX]) + address_word[12:])
    return TransferCall(to=to, amount=decode_uint256(data[4 + WORD :]))
