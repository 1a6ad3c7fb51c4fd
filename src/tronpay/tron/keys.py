"""secp256k1 keys and signatures for TRON.

:class:`PrivateKey` holds one coincurve key object, created once and reused, so signing costs
one libsecp256k1 call. Its repr/str show only the address; it refuses to be pickled or
copied. The secret leaves the object only through the loudly named
:meth:`PrivateKey.unsafe_export_secret`.
"""

from __future__ import annotations

import secrets
from typing import NoReturn

import coincurve

from tronpay.tron.address import address_from_public_key, encode_base58
from tronpay.tron.errors import SignatureError

SECRET_LENGTH = 32
TXID_LENGTH = 32
SIGNATURE_LENGTH = 65
_V_NORMALIZE = {0: 0, 1: 1, 27: 0, 28: 1}


class PrivateKey:
    """A secp256k1 private key that signs TRON transaction ids."""

    __slots__ = ("_address", "_address_bytes", "_key", "_public_key")

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes) or len(secret) != SECRET_LENGTH:
            raise SignatureError("a private key must be 32 bytes")
        try:
            key = coincurve.PrivateKey(secret)
        except Exception:  # coincurve raises ValueError or its own errors; never echo them
            raise SignatureError("the private key is out of the secp256k1 range") from None
        self._key = key
        self._public_key: bytes = key.public_key.format(compressed=False)[1:]
        self._address_bytes = address_from_public_key(self._public_key)
        self._address = encode_base58(self._address_bytes)

    @classmethod
    def generate(cls) -> PrivateKey:
        """A fresh key from the operating system's CSPRNG."""
        while True:
            try:
                return cls(secrets.token_bytes(SECRET_LENGTH))
            except SignatureError:  # astronomically unlikely: zero or >= curve order
                continue

    @classmethod
    def from_hex(cls, text: str) -> PrivateKey:
        """From 64 hex digits, with an optional ``0x`` and surrounding whitespace."""
        cleaned = text.strip()
        if cleaned[:2].lower() == "0x":
            cleaned = cleaned[2:]
        if len(cleaned) != 2 * SECRET_LENGTH:
            raise SignatureError("a hex private key must be 64 hex digits")
        try:
            secret = bytes.fromhex(cleaned)
        except ValueError:
            raise SignatureError("the private key is not valid hex") from None
        return cls(secret)

    @property
    def address(self) -> str:
        """The base58 address (``T...``)."""
        return self._address

    @property
    def address_bytes(self) -> bytes:
        """The 21-byte address."""
        return self._address_bytes

    @property
    def public_key(self) -> bytes:
        """The uncompressed public key, 64 bytes (no 0x04 tag)."""
        return self._public_key

    def sign_txid(self, txid: bytes) -> bytes:
        """65-byte ``r || s || v`` (v in {0, 1}) over a 32-byte txid: RFC 6979, low-s."""
        if len(txid) != TXID_LENGTH:
            raise SignatureError("a txid must be 32 bytes")
        signature: bytes = self._key.sign_recoverable(txid, hasher=None)
        return signature

    def unsafe_export_secret(self) -> bytes:
        """The raw 32-byte secret. Only for writing a key file or an encrypted keystore."""
        secret: bytes = self._key.secret
        return secret

    def __repr__(self) -> str:
        return f"PrivateKey(address={self._address})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("PrivateKey cannot be pickled or copied")


def recover_address(txid: bytes, signature: bytes) -> str:
    """The base58 address that produced ``signature`` over ``txid``.

    Accepts v as 0/1 or 27/28; raises :class:`SignatureError` for anything invalid.
    """
    if not isinstance(txid, bytes) or len(txid) != TXID_LENGTH:
        raise SignatureError("a txid must be 32 bytes")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_LENGTH:
        raise SignatureError("a signature must be 65 bytes (r || s || v)")
    v = _V_NORMALIZE.get(signature[64])
    if v is None:
        raise SignatureError("signature v must be 0, 1, 27 or 28")
    try:
        public = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes([v]), txid, hasher=None
        )
    except Exception:  # coincurve raises ValueError or plain Exception on bad input
        raise SignatureError("the signature does not recover to a public key") from None
    return encode_base58(address_from_public_key(public.format(compressed=False)[1:]))
