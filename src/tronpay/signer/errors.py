"""Signer errors. None of them ever carries key material: messages name files and fixes only."""

from __future__ import annotations

from typing import ClassVar

from tronpay.errors import TronpayError


class SignerError(TronpayError):
    """Root of the signer errors."""

    code: ClassVar[str] = "signer_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Signer error"


class SecretFileError(SignerError):
    """A key, passphrase or keystore file is missing, unreadable or malformed."""

    code: ClassVar[str] = "secret_file_error"
    title: ClassVar[str] = "Cannot use the secret file"


class InsecureSecretFileError(SecretFileError):
    """A secret file is accessible to others, writable by its group, readable by a group
    this process is not in, or owned by another user (see ``tronpay.signer.files``)."""

    code: ClassVar[str] = "secret_file_insecure"
    title: ClassVar[str] = "Secret file permissions are too open"


class KeystoreError(SignerError):
    """The keystore is malformed, of an unknown version, or has out-of-bounds parameters."""

    code: ClassVar[str] = "keystore_invalid"
    title: ClassVar[str] = "Invalid keystore"


class WrongPassphraseError(KeystoreError):
    """The keystore does not decrypt with this passphrase (or was tampered with)."""

    code: ClassVar[str] = "keystore_wrong_passphrase"
    title: ClassVar[str] = "Cannot decrypt the keystore"


class SigningFailed(SignerError):
    """A signature does not recover to the signer's address (a broken or swapped key, a bad
    signer implementation): nothing signed with it may be persisted or broadcast."""

    code: ClassVar[str] = "signing_failed"
    title: ClassVar[str] = "The signature does not match the signer"
