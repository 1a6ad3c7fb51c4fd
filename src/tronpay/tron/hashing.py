"""Hash functions of the TRON protocol."""

from __future__ import annotations

import hashlib

from Cryptodome.Hash import keccak


def keccak256(data: bytes) -> bytes:
    """Keccak-256 as used by TRON and Ethereum (not NIST SHA3-256)."""
    return bytes(keccak.new(data=data, digest_bits=256).digest())


def sha256(data: bytes) -> bytes:
    """SHA-256 (transaction ids, block ids)."""
    return hashlib.sha256(data).digest()


def double_sha256(data: bytes) -> bytes:
    """SHA-256 applied twice (base58check checksums)."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()
