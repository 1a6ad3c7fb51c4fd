"""Signing: the :class:`Signer` interface, the in-process :class:`LocalSigner` and the
encrypted keystore. Keys never leave this package in any printable form."""

from tronpay.signer.base import Signer
from tronpay.signer.errors import (
    InsecureSecretFileError,
    KeystoreError,
    SecretFileError,
    SignerError,
    SigningFailed,
    WrongPassphraseError,
)
from tronpay.signer.local import LocalSigner

__all__ = [
    "InsecureSecretFileError",
    "KeystoreError",
    "LocalSigner",
    "SecretFileError",
    "Signer",
    "SignerError",
    "SigningFailed",
    "WrongPassphraseError",
]
