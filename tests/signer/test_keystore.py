"""The encrypted keystore: round trip, tamper detection, bounded parameters, no leaks."""

from __future__ import annotations

import copy
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tronpay.signer.errors import (
    InsecureSecretFileError,
    KeystoreError,
    SecretFileError,
    WrongPassphraseError,
)
from tronpay.signer.keystore import (
    DEFAULT_SCRYPT_N,
    decrypt_keystore,
    encrypt_key,
    load_keystore,
    save_keystore,
)
from tronpay.tron.keys import PrivateKey

FAST_N = 2**10  # tests only; the default is DEFAULT_SCRYPT_N
PASSPHRASE = b"correct horse battery staple"


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture(scope="module")
def document(key: PrivateKey) -> dict[str, Any]:
    return encrypt_key(key, PASSPHRASE, scrypt_n=FAST_N)


def test_round_trip_and_format(key: PrivateKey, document: dict[str, Any]) -> None:
    assert set(document) == {
        "version",
        "address",
        "kdf",
        "kdf_params",
        "cipher",
        "nonce",
        "ciphertext",
    }
    assert document["version"] == 1
    assert document["address"] == key.address
    assert document["kdf"] == "scrypt"
    assert document["cipher"] == "aes-256-gcm"
    assert document["kdf_params"]["n"] == FAST_N
    assert len(bytes.fromhex(document["kdf_params"]["salt"])) == 16
    assert len(bytes.fromhex(document["nonce"])) == 12
    assert len(bytes.fromhex(document["ciphertext"])) == 48
    secret_hex = key.unsafe_export_secret().hex()
    assert secret_hex not in json.dumps(document)
    assert decrypt_keystore(document, PASSPHRASE).address == key.address


def test_default_cost_is_strong(key: PrivateKey) -> None:
    document = encrypt_key(key, PASSPHRASE)
    assert document["kdf_params"]["n"] == DEFAULT_SCRYPT_N == 2**17
    assert decrypt_keystore(document, PASSPHRASE).address == key.address


def test_wrong_passphrase(key: PrivateKey, document: dict[str, Any]) -> None:
    with pytest.raises(WrongPassphraseError) as info:
        decrypt_keystore(document, b"wrong")
    message = str(info.value)
    assert "wrong passphrase" in message
    assert "wrong" not in message.replace("wrong passphrase", "")
    assert key.unsafe_export_secret().hex() not in repr(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def _tampered(document: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def test_swapped_address_fails_authentication(document: dict[str, Any]) -> None:
    other = PrivateKey.generate().address
    with pytest.raises(WrongPassphraseError):
        decrypt_keystore(_tampered(document, ("address",), other), PASSPHRASE)


def test_modified_ciphertext_fails(document: dict[str, Any]) -> None:
    ciphertext = bytearray(bytes.fromhex(document["ciphertext"]))
    ciphertext[0] ^= 1
    with pytest.raises(WrongPassphraseError):
        decrypt_keystore(_tampered(document, ("ciphertext",), ciphertext.hex()), PASSPHRASE)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("version",), 2, "version"),
        (("version",), True, "version"),
        (("kdf",), "pbkdf2", "algorithms"),
        (("cipher",), "aes-128-ctr", "algorithms"),
        (("address",), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6T", "address"),
        (("address",), "41a614f803b6fd780986a42c78ec9c7f77e6ded13c", "address"),
        (("kdf_params", "n"), 2**40, "power of two"),
        (("kdf_params", "n"), 2**30, "power of two"),
        (("kdf_params", "n"), 1000, "power of two"),
        (("kdf_params", "n"), 2**4, "power of two"),
        (("kdf_params", "n"), "1024", "integers"),
        (("kdf_params", "r"), 1000, "bounds"),
        (("kdf_params", "p"), 64, "bounds"),
        (("kdf_params", "salt"), "00", "salt"),
        (("kdf_params", "salt"), "zz", "hex"),
        (("nonce",), "00" * 16, "length"),
        (("ciphertext",), "00" * 32, "length"),
        (("ciphertext",), 5, "hex string"),
    ],
)
def test_malformed_or_absurd_documents(
    document: dict[str, Any], path: tuple[str, ...], value: Any, message: str
) -> None:
    with pytest.raises(KeystoreError, match=message) as info:
        decrypt_keystore(_tampered(document, path, value), PASSPHRASE)
    assert not isinstance(info.value, WrongPassphraseError)


def test_memory_bound(document: dict[str, Any]) -> None:
    heavy = _tampered(document, ("kdf_params", "n"), 2**20)
    with pytest.raises(KeystoreError, match="memory"):
        decrypt_keystore(heavy, PASSPHRASE)


def test_missing_or_extra_fields(document: dict[str, Any]) -> None:
    missing = {k: v for k, v in document.items() if k != "nonce"}
    with pytest.raises(KeystoreError, match="fields"):
        decrypt_keystore(missing, PASSPHRASE)
    with pytest.raises(KeystoreError, match="fields"):
        decrypt_keystore({**document, "mac": "00"}, PASSPHRASE)
    with pytest.raises(KeystoreError, match="kdf_params"):
        decrypt_keystore(_tampered(document, ("kdf_params",), {"n": 1024}), PASSPHRASE)


def test_empty_passphrase_refused(key: PrivateKey, document: dict[str, Any]) -> None:
    with pytest.raises(KeystoreError, match="empty"):
        encrypt_key(key, b"", scrypt_n=FAST_N)
    with pytest.raises(WrongPassphraseError, match="empty"):
        decrypt_keystore(document, b"")


def test_file_round_trip(tmp_path: Path, key: PrivateKey) -> None:
    path = tmp_path / "hot.keystore.json"
    save_keystore(path, key, PASSPHRASE, scrypt_n=FAST_N)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key.unsafe_export_secret().hex() not in path.read_text()
    assert load_keystore(path, PASSPHRASE).address == key.address
    with pytest.raises(SecretFileError, match="already exists"):
        save_keystore(path, key, PASSPHRASE, scrypt_n=FAST_N)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(SecretFileError, match="does not exist"):
        load_keystore(tmp_path / "missing.json", PASSPHRASE)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    bad.chmod(0o600)
    with pytest.raises(KeystoreError, match="not valid JSON"):
        load_keystore(bad, PASSPHRASE)
    bad.write_text("[1, 2]")
    with pytest.raises(KeystoreError, match="JSON object"):
        load_keystore(bad, PASSPHRASE)
    bad.write_text(" " * 20_000)
    with pytest.raises(KeystoreError, match="too large"):
        load_keystore(bad, PASSPHRASE)
    bad.chmod(0o644)
    with pytest.raises(InsecureSecretFileError, match="chmod 600"):
        load_keystore(bad, PASSPHRASE)


json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=64).map(bytes.hex)
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_documents_only_raise_keystore_errors(
    key: PrivateKey, document: dict[str, Any], data: st.DataObject
) -> None:
    paths = [(k,) for k in document] + [("kdf_params", k) for k in document["kdf_params"]]
    path = data.draw(st.sampled_from(paths))
    mutated = _tampered(document, path, data.draw(json_leaves))
    if json.dumps(mutated) == json.dumps(document):  # drew the very same value
        assert decrypt_keystore(mutated, PASSPHRASE).address == key.address
        return
    with pytest.raises(KeystoreError) as info:
        decrypt_keystore(mutated, PASSPHRASE)
    assert key.unsafe_export_secret().hex() not in repr(info.value)
