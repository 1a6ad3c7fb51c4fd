"""Loading verification keys from files, strictly."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from tronpay.auth.errors import AuthMisconfigured
from tronpay.kit.entropy import MIN_SECRET_BYTES, weak_secret_reason
from tronpay.kit.private_files import PRIVATE_FILE_MODE, make_private_dir
from tronpay.signer.errors import SecretFileError
from tronpay.signer.files import read_secret_file

MIN_HS256_SECRET_BYTES = MIN_SECRET_BYTES

PublicKey = RSAPublicKey | EllipticCurvePublicKey


def load_hs256_secret(path: Path) -> bytes:
    """Read an HMAC secret file (a trailing newline is ignored). The file passes the secret
    file permission check of ``tronpay.signer.files``; the secret that of
    :func:`check_hs256_secret`."""
    try:
        secret = read_secret_file(path, what="HS256 secret file").rstrip(b"\r\n")
    except SecretFileError as exc:
        raise AuthMisconfigured(f"cannot read the HS256 secret file: {exc.detail}") from None
    check_hs256_secret(secret)
    return secret


def check_hs256_secret(secret: bytes) -> None:
    """Refuse a secret shorter than 32 bytes (RFC 7518 §3.2) or one that is clearly not
    random (``tronpay.kit.entropy``: ``aaaa…``, a repeated word, ``abcd…``)."""
    reason = weak_secret_reason(secret)
    if reason is not None:
        raise AuthMisconfigured(
            f"the HS256 secret is too weak: {reason}; make one with `openssl rand -hex 32`"
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
        make_private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        os.fchmod(fd, PRIVATE_FILE_MODE)  # whatever the umask
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return path
