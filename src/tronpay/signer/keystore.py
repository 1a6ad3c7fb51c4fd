"""Encrypted keystore, version 1: the private key sealed with AES-256-GCM under a key derived
from a passphrase with scrypt.

::

    {"version": 1, "address": "T...", "kdf": "scrypt",
     "kdf_params": {"n": 131072, "r": 8, "p": 1, "salt": "<hex, 16 bytes>"},
     "cipher": "aes-256-gcm", "nonce": "<hex, 12 bytes>", "ciphertext": "<hex, 32 + 16 bytes>"}

The associated data is the canonical JSON of every field except nonce and ciphertext, so the
address (and the KDF parameters) cannot be swapped without decryption failing. Loading bounds
every parameter so a hostile file cannot make us allocate gigabytes.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from tronpay.signer.errors import KeystoreError, WrongPassphraseError
from tronpay.signer.files import read_secret_file, write_secret_file
from tronpay.tron import address as tron_address
from tronpay.tron.errors import SignatureError
from tronpay.tron.keys import PrivateKey

VERSION = 1
KDF = "scrypt"
CIPHER = "aes-256-gcm"
DEFAULT_SCRYPT_N = 2**17  # ~0.35 s and 128 MiB per derivation on our machines
MIN_SCRYPT_N = 2**10  # accepted on load; only tests create such weak files, explicitly
MAX_SCRYPT_N = 2**20
SCRYPT_R = 8
SCRYPT_P = 1
MAX_SCRYPT_MEMORY = 256 * 1024 * 1024  # 128 * n * r bytes
SALT_BYTES = 16
NONCE_BYTES = 12
KEY_BYTES = 32
TAG_BYTES = 16
MAX_KEYSTORE_BYTES = 16 * 1024

_KEYS = frozenset({"version", "address", "kdf", "kdf_params", "cipher", "nonce", "ciphertext"})
_PARAM_KEYS = frozenset({"n", "r", "p", "salt"})


def encrypt_key(
    key: PrivateKey, passphrase: bytes, *, scrypt_n: int = DEFAULT_SCRYPT_N
) -> dict[str, Any]:
    """A version-1 keystore document for ``key``.

    ``scrypt_n`` below the default is for tests only; it must still be a power of two within
    the bounds accepted on load.
    """
    if not passphrase:
        raise KeystoreError("refusing an empty passphrase")
    salt = secrets.token_bytes(SALT_BYTES)
    header: dict[str, Any] = {
        "version": VERSION,
        "address": key.address,
        "kdf": KDF,
        "kdf_params": {"n": scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt.hex()},
        "cipher": CIPHER,
    }
    _check_kdf_params(scrypt_n, SCRYPT_R, SCRYPT_P, salt)
    nonce = secrets.token_bytes(NONCE_BYTES)
    derived = _derive(passphrase, salt, scrypt_n, SCRYPT_R, SCRYPT_P)
    ciphertext = AESGCM(derived).encrypt(nonce, key.unsafe_export_secret(), _aad(header))
    return {**header, "nonce": nonce.hex(), "ciphertext": ciphertext.hex()}


def decrypt_keystore(document: Mapping[str, Any], passphrase: bytes) -> PrivateKey:
    """The private key in a keystore document; :class:`WrongPassphraseError` if the
    passphrase is wrong or the file was modified, :class:`KeystoreError` if malformed."""
    if not isinstance(document, Mapping) or set(document) != _KEYS:
        raise KeystoreError("not a tronpay keystore (unexpected or missing fields)")
    if document["version"] != VERSION or isinstance(document["version"], bool):
        raise KeystoreError(f"unsupported keystore version (this build reads {VERSION})")
    if document["kdf"] != KDF or document["cipher"] != CIPHER:
        raise KeystoreError(f"unsupported keystore algorithms (expected {KDF}, {CIPHER})")
    stored_address = document["address"]
    if not tron_address.is_valid(stored_address) or not str(stored_address).startswith("T"):
        raise KeystoreError("keystore address is not a valid base58 TRON address")
    params = document["kdf_params"]
    if not isinstance(params, Mapping) or set(params) != _PARAM_KEYS:
        raise KeystoreError("keystore kdf_params must hold exactly n, r, p and salt")
    n, r, p = params["n"], params["r"], params["p"]
    salt = _hex_field(params["salt"], "kdf_params.salt")
    _check_kdf_params(n, r, p, salt)
    nonce = _hex_field(document["nonce"], "nonce")
    ciphertext = _hex_field(document["ciphertext"], "ciphertext")
    if len(nonce) != NONCE_BYTES or len(ciphertext) != KEY_BYTES + TAG_BYTES:
        raise KeystoreError("keystore nonce or ciphertext has the wrong length")
    if not passphrase:
        raise WrongPassphraseError("cannot decrypt the keystore: the passphrase is empty")
    header = {k: document[k] for k in ("version", "address", "kdf", "kdf_params", "cipher")}
    derived = _derive(passphrase, salt, n, r, p)
    try:
        secret = AESGCM(derived).decrypt(nonce, ciphertext, _aad(header))
    except InvalidTag:
        raise WrongPassphraseError(
            "cannot decrypt the keystore: wrong passphrase, or the file was modified"
        ) from None
    try:
        key = PrivateKey(secret)
    except SignatureError:
        raise KeystoreError("the keystore holds an invalid private key") from None
    if key.address != stored_address:
        raise KeystoreError("the keystore's address does not match the key inside it")
    return key


def save_keystore(
    path: str | os.PathLike[str],
    key: PrivateKey,
    passphrase: bytes,
    *,
    scrypt_n: int = DEFAULT_SCRYPT_N,
) -> None:
    """Write a new keystore file (mode 0600; never overwrites)."""
    document = encrypt_key(key, passphrase, scrypt_n=scrypt_n)
    data = (json.dumps(document, indent=2) + "\n").encode()
    write_secret_file(path, data, what="keystore")


def load_keystore(path: str | os.PathLike[str], passphrase: bytes) -> PrivateKey:
    """Read and decrypt a keystore file (a secret file: the same permission rules as a key
    file, since a readable keystore invites an offline guess of its passphrase)."""
    name = os.fspath(path)
    data = read_secret_file(name, what="keystore")
    if len(data) > MAX_KEYSTORE_BYTES:
        raise KeystoreError(f"keystore {name} is too large")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise KeystoreError(f"keystore {name} is not valid JSON") from None
    if not isinstance(document, dict):
        raise KeystoreError(f"keystore {name} is not a JSON object")
    return decrypt_keystore(document, passphrase)


def _aad(header: Mapping[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _derive(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=KEY_BYTES, n=n, r=r, p=p).derive(passphrase)


def _check_kdf_params(n: object, r: object, p: object, salt: bytes) -> None:
    if not (isinstance(n, int) and isinstance(r, int) and isinstance(p, int)) or any(
        isinstance(value, bool) for value in (n, r, p)
    ):
        raise KeystoreError("scrypt parameters must be integers")
    if n & (n - 1) or not MIN_SCRYPT_N <= n <= MAX_SCRYPT_N:
        raise KeystoreError(f"scrypt n must be a power of two in [2**10, 2**20], got {n}")
    if not 1 <= r <= 32 or not 1 <= p <= 4 or 128 * n * r > MAX_SCRYPT_MEMORY:
        raise KeystoreError("scrypt r/p out of bounds (memory limit 256 MiB)")
    if not SALT_BYTES <= len(salt) <= 64:
        raise KeystoreError("scrypt salt must be 16 to 64 bytes")


def _hex_field(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise KeystoreError(f"keystore {name} must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise KeystoreError(f"keystore {name} is not valid hex") from None
