"""The signer interface the engine depends on."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Signer(Protocol):
    """Something that holds one TRON key and signs transaction ids with it.

    ``sign`` returns the 65-byte ``r || s || v`` signature (v in {0, 1}) over a 32-byte txid.
    Implementations never expose the key: not in repr/str, logs or exceptions.
    """

    @property
    def address(self) -> str:
        """The base58 address (``T...``) of the key."""
        ...

    def sign(self, txid: bytes) -> bytes:
        """Sign a 32-byte transaction id."""
        ...
