"""Loading verification keys from files, strictly."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from tronpay.auth.errors import AuthMisconfigured

MIN_HS256_SECRET_BYTES = 32

PublicKey = RSAPublicKey | EllipticCurvePublicKey


def load_hs256_secret(path: Path) -> bytes:
    """Read an HMAC secret file (a trailing newline is ignored); refuse < 32 bytes."""
    try:
        secret = path.read_bytes().rstrip(b"\r\n")
    except OSError as exc:
        raise AuthMisconfigured(f"cannot read the HS256 secret file {path}") from exc
    check_hs256_secret(secret)
    return secret


def check_hs256_secret(secret: bytes) -> None:
    """Refuse a secret shorter than 32 bytes (RFC 7518 §3.2)."""
    if len(secret) < MIN_HS256_SECRET_BYTES:
        raise AuthMisconfigured(
            f"the HS256 secret must be at least {MIN_HS256_SECRET_BYTES} bytes (got {len(secret)})"
        )


def load_public_key(path: Path) -> PublicKey:
    """Read an RSA or EC public key in PEM form."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuthMisconfigured(f"cannot read the public key file {path}") from exc
    try:
        key = load_pem_public_key(data)
    except ValueError as exc:
        raise AuthMisconfigured(f"{path} is not a PEM public key") from exc
    if not isinstance(key, RSAPublicKey | EllipticCurvePublicKey):
        raise AuthMisconfigured(f"{path}: only RSA and EC public keys are supported")
    return key


def read_jwks(path: Path) -> str:
    """Read a JWKS document (parsed by the verifier)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AuthMisconfigured(f"cannot read the JWKS file {path}") from exc


def ensure_dev_hs256_secret(path: Path) -> Path:
    """Create a random 32-byte (64 hex characters) secret file with mode 0600 if missing.

    For development (``tronpay serve --devnet``); production supplies its own secret.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return path
