"""LocalSigner: loading from files, the Signer protocol, and keeping the key secret."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tronpay.signer import InsecureSecretFileError, LocalSigner, SecretFileError, Signer
from tronpay.signer.keystore import save_keystore
from tronpay.tron.keys import PrivateKey, recover_address

KEY_1_HEX = "0000000000000000000000000000000000000000000000000000000000000001"
KEY_1_ADDRESS = "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC"
TXID = bytes.fromhex("6cf7c7d8f1af18a50ef5375a022aa6444fb7e076e3d52ea7b7ed943af008eee3")
SIG_V01 = (
    "bab879d6021160f68ef4064ef07624af4e8014c85029d073ea06adfd96c6308705c612b5820fc6fecb22090d"
    "4791e733b5d3699b2778b3009d54234e4f77e6ff00"
)


def _secret(tmp_path: Path, name: str, content: str, mode: int = 0o600) -> Path:
    path = tmp_path / name
    path.write_text(content)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    "content", [KEY_1_HEX, KEY_1_HEX + "\n", "0x" + KEY_1_HEX, f"  \n{KEY_1_HEX.upper()}\t\n"]
)
def test_from_key_file(tmp_path: Path, content: str) -> None:
    signer = LocalSigner.from_key_file(_secret(tmp_path, "hot.key", content))
    assert signer.address == KEY_1_ADDRESS
    assert signer.sign(TXID).hex() == SIG_V01
    assert isinstance(signer, Signer)


def test_key_file_permissions_refused(tmp_path: Path) -> None:
    path = _secret(tmp_path, "hot.key", KEY_1_HEX, 0o644)
    with pytest.raises(InsecureSecretFileError) as info:
        LocalSigner.from_key_file(path)
    assert f"chmod 600 {path}" in str(info.value)
    assert KEY_1_HEX not in str(info.value)


@pytest.mark.parametrize(
    "content", ["", "nothex", KEY_1_HEX[:-2], "00" * 32, "é" * 10, KEY_1_HEX + "00"]
)
def test_bad_key_file_content(tmp_path: Path, content: str) -> None:
    with pytest.raises(SecretFileError, match="valid hex private key") as info:
        LocalSigner.from_key_file(_secret(tmp_path, "hot.key", content))
    assert info.value.__cause__ is None
    if content:
        assert content not in str(info.value)


def test_from_keystore(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    keystore = tmp_path / "hot.json"
    save_keystore(keystore, key, b"pw", scrypt_n=2**10)
    signer = LocalSigner.from_keystore(keystore, _secret(tmp_path, "pass", "pw\n"))
    assert signer.address == key.address
    with pytest.raises(InsecureSecretFileError, match="chmod 600"):
        LocalSigner.from_keystore(keystore, _secret(tmp_path, "open-pass", "pw\n", 0o644))


def test_generate_sign_recover() -> None:
    signer = LocalSigner.generate()
    signature = signer.sign(TXID)
    assert recover_address(TXID, signature) == signer.address


def test_key_never_shown(tmp_path: Path) -> None:
    key_hex = PrivateKey.generate().unsafe_export_secret().hex()
    path = _secret(tmp_path, "hot.key", key_hex + "\n")
    with capture_logs() as logs:
        signer = LocalSigner.from_key_file(path)
    assert logs == [
        {
            "event": "signer.loaded",
            "source": "key_file",
            "address": signer.address,
            "log_level": "info",
        }
    ]
    for text in (repr(signer), str(signer), f"{signer}", repr(logs)):
        assert key_hex not in text.lower()
    assert repr(signer) == f"LocalSigner(address={signer.address})"
    with pytest.raises(TypeError):
        pickle.dumps(signer)
    with pytest.raises(TypeError):
        copy.deepcopy(signer)
    with pytest.raises(AttributeError):
        signer.__dict__  # noqa: B018 (slots only: nothing to dump)
