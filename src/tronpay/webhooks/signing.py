"""Standard Webhooks signing: ``whsec_`` secrets and the ``webhook-signature`` header.

The signed content is ``"{webhook-id}.{webhook-timestamp}.{body}"``; the signature is the
base64 of its HMAC-SHA256 under the secret's 32 bytes, written ``v1,<base64>``. Several
signatures (a rotation's old and new secret) are separated by spaces. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Final

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the prefix, not a secret
SECRET_BYTES: Final = 32


class InvalidSecret(ValueError):
    """A signing secret that is not ``whsec_`` + base64."""


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret("a signing secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSecret("a signing secret is whsec_ + base64") from exc
    if not key:
        raise InvalidSecret("a signing secret is not empty")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of a message."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets_: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets_)
