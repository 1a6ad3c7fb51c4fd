"""A signer holding the private key in this process, loaded from a hex key file or an
encrypted keystore."""

from __future__ import annotations

import os
from typing import NoReturn

import structlog

from tronpay.signer.errors import SecretFileError
from tronpay.signer.files import read_passphrase_file, read_secret_file
from tronpay.signer.keystore import load_keystore
from tronpay.tron.errors import SignatureError
from tronpay.tron.keys import PrivateKey

log = structlog.get_logger(__name__)


def read_key_file(path: str | os.PathLike[str]) -> PrivateKey:
    """The key in a private hex key file (64 hex digits, optional ``0x``, whitespace ok)."""
    data = read_secret_file(path, what="key file")
    try:
        return PrivateKey.from_hex(data.decode("ascii"))
    except (UnicodeDecodeError, SignatureError):
        raise SecretFileError(
            f"key file {os.fspath(path)} does not hold a valid hex private key"
        ) from None


class LocalSigner:
    """Signs with an in-process :class:`PrivateKey` (one coincurve object, reused)."""

    __slots__ = ("_address", "_key")

    def __init__(self, key: PrivateKey) -> None:
        self._key = key
        self._address = key.address

    @classmethod
    def from_key_file(cls, path: str | os.PathLike[str]) -> LocalSigner:
        """From a private file holding the key as 64 hex digits (``0x`` and whitespace ok)."""
        key = read_key_file(path)
        log.info("signer.loaded", source="key_file", address=key.address)
        return cls(key)

    @classmethod
    def from_keystore(
        cls, path: str | os.PathLike[str], passphrase_file: str | os.PathLike[str]
    ) -> LocalSigner:
        """From an encrypted keystore and a private passphrase file."""
        key = load_keystore(path, read_passphrase_file(passphrase_file))
        log.info("signer.loaded", source="keystore", address=key.address)
        return cls(key)

    @classmethod
    def generate(cls) -> LocalSigner:
        """A signer with a fresh random key (development and tests)."""
        return cls(PrivateKey.generate())

    @property
    def address(self) -> str:
        return self._address

    def sign(self, txid: bytes) -> bytes:
        """65-byte ``r || s || v`` over a 32-byte txid (RFC 6979, low-s, v in {0, 1})."""
        return self._key.sign_txid(txid)

    def __repr__(self) -> str:
        return f"LocalSigner(address={self._address})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("LocalSigner cannot be pickled or copied")
