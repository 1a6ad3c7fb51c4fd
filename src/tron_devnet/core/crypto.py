"""Hashes, the one base58check and address codec, and signature recovery (independent of tronpay).

Addresses are 21 bytes (0x41 prefix + 20 bytes). Hex form is "41" + 40 hex digits; base58check
form starts with "T".
"""

from __future__ import annotations

import functools
import hashlib

from coincurve import PrivateKey, PublicKey
from Cryptodome.Hash import keccak

ADDRESS_PREFIX = 0x41
ADDRESS_LEN = 21

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}


class AddressError(ValueError):
    """An address string or byte string is not a valid TRON address."""


class SignatureError(ValueError):
    """A signature is malformed or does not recover a public key."""


def keccak256(data: bytes) -> bytes:
    return bytes(keccak.new(digest_bits=256, data=data).digest())


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def b58encode(data: bytes) -> str:
    num = int.from_bytes(data, "big")
    out = []
    while num > 0:
        num, rem = divmod(num, 58)
        out.append(_B58_ALPHABET[rem])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    num = 0
    for ch in text:
        idx = _B58_INDEX.get(ch)
        if idx is None:
            raise AddressError("invalid base58 character")
        num = num * 58 + idx
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\0" * pad + body


def b58check_encode(payload: bytes) -> str:
    return b58encode(payload + sha256(sha256(payload))[:4])


def b58check_decode(text: str) -> bytes:
    raw = b58decode(text)
    if len(raw) < 5:
        raise AddressError("base58check string too short")
    payload, check = raw[:-4], raw[-4:]
    if sha256(sha256(payload))[:4] != check:
        raise AddressError("base58check checksum mismatch")
    return payload


def address_from_pubkey64(pub64: bytes) -> bytes:
    """21-byte address of an uncompressed public key given without its 0x04 prefix."""
    return bytes([ADDRESS_PREFIX]) + keccak256(pub64)[12:]


def address_of_private_key(secret: bytes) -> bytes:
    pub = PrivateKey(secret).public_key.format(compressed=False)
    return address_from_pubkey64(pub[1:])


def is_address(addr: bytes) -> bool:
    return len(addr) == ADDRESS_LEN and addr[0] == ADDRESS_PREFIX


def to_base58(addr: bytes) -> str:
    if not is_address(addr):
        raise AddressError("not a 21-byte TRON address")
    return b58check_encode(addr)


def from_base58(text: str) -> bytes:
    addr = b58check_decode(text)
    if not is_address(addr):
        raise AddressError("not a TRON address")
    return addr


@functools.lru_cache(maxsize=65_536)
def hex_to_base58(address_hex: str) -> str:
    """``41...`` hex (42 digits) to base58check ``T...`` (cached: responses repeat addresses)."""
    return to_base58(parse_address(address_hex))


def base58_to_hex(address: object) -> str:
    """base58check ``T...`` to ``41...`` hex; AddressError "invalid address ..." on any defect."""
    if not isinstance(address, str) or not 25 <= len(address) <= 36:
        raise AddressError(f"invalid address {address!r}")
    try:
        return from_base58(address).hex()
    except AddressError:
        raise AddressError(f"invalid address {address!r}") from None


def address_or_none(text: str) -> bytes | None:
    """The 21-byte address of a "41..." hex string, or None when it is not one."""
    try:
        addr = bytes.fromhex(text)
    except ValueError:
        return None
    return addr if is_address(addr) else None


def parse_address(text: str) -> bytes:
    """Accept hex ("41..." 42 digits) or base58 ("T...") and return the 21-byte address."""
    if text.startswith("T") and len(text) == 34:
        return from_base58(text)
    try:
        addr = bytes.fromhex(text)
    except ValueError as exc:
        raise AddressError("address is neither hex nor base58") from exc
    if not is_address(addr):
        raise AddressError("not a 21-byte TRON address")
    return addr


_ADDRESS_CACHE: dict[bytes, bytes] = {}
_ADDRESS_CACHE_MAX = 100_000


def _cached_address(pub65: bytes) -> bytes:
    addr = _ADDRESS_CACHE.get(pub65)
    if addr is None:
        if len(_ADDRESS_CACHE) >= _ADDRESS_CACHE_MAX:
            _ADDRESS_CACHE.clear()
        addr = address_from_pubkey64(pub65[1:])
        _ADDRESS_CACHE[pub65] = addr
    return addr


def recover_address(digest: bytes, signature: bytes) -> bytes:
    """Address that produced a 65-byte r||s||v signature over a 32-byte digest.

    v may be 0/1 or 27/28 (java-tron accepts both)."""
    if len(signature) != 65:
        raise SignatureError("signature must be 65 bytes")
    v = signature[64]
    if v >= 27:
        v -= 27
    if v not in (0, 1):
        raise SignatureError(f"Header byte out of range: {signature[64]}")
    try:
        pub = PublicKey.from_signature_and_message(signature[:64] + bytes([v]), digest, hasher=None)
    except ValueError as exc:
        raise SignatureError("Could not recover public key from signature") from exc
    return _cached_address(pub.format(compressed=False))


def sign_digest(secret: bytes, digest: bytes) -> bytes:
    """65-byte r||s||v (v in 0/1) recoverable signature; used for the devnet witness only."""
    return bytes(PrivateKey(secret).sign_recoverable(digest, hasher=None))
