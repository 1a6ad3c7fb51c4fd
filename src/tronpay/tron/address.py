"""TRON addresses: 21 bytes ``0x41 || keccak256(pubkey)[12:]``, shown as base58check (``T...``)
or as 42 hex characters (``41...``).

Everything here is strict: no whitespace trimming, no ``0x`` prefix, no other network prefix.
Bad input raises :class:`InvalidAddressError` with a one-word ``reason``.
"""

from __future__ import annotations

from functools import lru_cache

from tronpay.tron.errors import InvalidAddressError, SignatureError
from tronpay.tron.hashing import double_sha256, keccak256

ADDRESS_PREFIX = 0x41
ADDRESS_LENGTH = 21
BASE58_LENGTH = 34
HEX_LENGTH = 42
PUBLIC_KEY_LENGTH = 64

# 41 followed by twenty zero bytes: nobody holds its key, so what is sent there is burned.
ZERO_ADDRESS = "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb"

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ALPHABET_SET = frozenset(_ALPHABET)
_INDEX = {char: value for value, char in enumerate(_ALPHABET)}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_CHECKSUM_LENGTH = 4
# Decoded addresses remembered (valid ones only: a bad one raises every time). The same few
# addresses come back on every payout (the hot wallet, the token contract, the zero address,
# a recipient checked at the API, planned, encoded and reconciled by the engine), and a
# base58check decode costs a 34-step big-integer loop plus a double SHA-256.
_DECODED_CACHE_SIZE = 16_384


def b58encode(data: bytes) -> str:
    """Plain base58 (Bitcoin alphabet) of ``data``; leading zero bytes become ``1``."""
    zeros = len(data) - len(data.lstrip(b"\x00"))
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(_ALPHABET[remainder])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; ``InvalidAddressError('alphabet')`` on a foreign char."""
    number = 0
    for char in text:
        value = _INDEX.get(char)
        if value is None:
            raise InvalidAddressError("alphabet")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * zeros + body


def encode_base58(raw21: bytes) -> str:
    """Base58check text (``T...``) of a 21-byte address."""
    _check_raw(raw21)
    return b58encode(raw21 + double_sha256(raw21)[:_CHECKSUM_LENGTH])


def decode_base58(text: str) -> bytes:
    """The 21 address bytes of a base58check address, checking alphabet, length (a TRON
    address is always 34 characters), checksum and the 0x41 prefix, in that order."""
    if not text:
        raise InvalidAddressError("empty")
    if not _ALPHABET_SET.issuperset(text):
        raise InvalidAddressError("alphabet")
    if len(text) != BASE58_LENGTH:
        raise InvalidAddressError("length")
    payload = b58decode(text)
    if len(payload) != ADDRESS_LENGTH + _CHECKSUM_LENGTH:
        raise InvalidAddressError("length")
    raw, checksum = payload[:ADDRESS_LENGTH], payload[ADDRESS_LENGTH:]
    if double_sha256(raw)[:_CHECKSUM_LENGTH] != checksum:
        raise InvalidAddressError("checksum")
    if raw[0] != ADDRESS_PREFIX:
        raise InvalidAddressError("prefix")
    return raw


def decode_hex(hex_: str) -> bytes:
    """The 21 address bytes of a ``41...`` hex address (42 chars, either case, no ``0x``)."""
    if not hex_:
        raise InvalidAddressError("empty")
    if not _HEX_DIGITS.issuperset(hex_):
        raise InvalidAddressError("alphabet")
    if len(hex_) != HEX_LENGTH:
        raise InvalidAddressError("length")
    raw = bytes.fromhex(hex_)
    if raw[0] != ADDRESS_PREFIX:
        raise InvalidAddressError("prefix")
    return raw


def to_hex(base58: str) -> str:
    """``T...`` -> ``41...`` (lower-case, 42 chars)."""
    return decode_base58(base58).hex()


def from_hex(hex_: str) -> str:
    """``41...`` -> ``T...``."""
    return encode_base58(decode_hex(hex_))


def _looks_hex(text: str) -> bool:
    return len(text) == HEX_LENGTH and _HEX_DIGITS.issuperset(text)


def to_bytes(addr: str | bytes) -> bytes:
    """The 21 address bytes of a base58 or hex address, or of 21 raw bytes (checked)."""
    if isinstance(addr, bytes):
        _check_raw(addr)
        return addr
    return _decode_text(addr)


@lru_cache(maxsize=_DECODED_CACHE_SIZE)
def _decode_text(addr: str) -> bytes:
    if _looks_hex(addr):
        return decode_hex(addr)
    return decode_base58(addr)


def normalize(addr: str) -> str:
    """Accept a base58 or ``41...`` hex address; return the base58 form."""
    return encode_base58(to_bytes(addr))


def is_valid(text: object) -> bool:
    """True when ``text`` is a valid base58 or ``41...`` hex TRON address."""
    if not isinstance(text, str):
        return False
    try:
        to_bytes(text)
    except InvalidAddressError:
        return False
    return True


def address_from_public_key(pub64: bytes) -> bytes:
    """The 21-byte address of an uncompressed public key (64 bytes, without the 0x04 tag)."""
    if len(pub64) != PUBLIC_KEY_LENGTH:
        raise SignatureError("a public key must be 64 bytes (uncompressed, without 0x04)")
    return bytes([ADDRESS_PREFIX]) + keccak256(pub64)[12:]


def _check_raw(raw: bytes) -> None:
    if not raw:
        raise InvalidAddressError("empty")
    if len(raw) != ADDRESS_LENGTH:
        raise InvalidAddressError("length")
    if raw[0] != ADDRESS_PREFIX:
        raise InvalidAddressError("prefix")
