"""Secret files: permission refusal with real files and chmod, creation mode, passphrases."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tronpay.signer.errors import InsecureSecretFileError, SecretFileError
from tronpay.signer.files import (
    MAX_SECRET_FILE_BYTES,
    read_passphrase_file,
    read_secret_file,
    write_secret_file,
)


def _file(tmp_path: Path, data: bytes, mode: int, name: str = "secret") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    path.chmod(mode)
    return path


def _foreign_gid() -> int:
    """A group this process is not in."""
    mine = {os.getegid(), *os.getgroups()}
    return next(gid for gid in range(65_000, 66_000) if gid not in mine)


def _chown_or_skip(path: Path, uid: int, gid: int) -> None:
    try:
        os.chown(path, uid, gid)
    except PermissionError:
        pytest.skip("changing a file's owner or group needs root (the suite runs as root in CI)")


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700, 0o500])
def test_private_modes_are_accepted(tmp_path: Path, mode: int) -> None:
    path = _file(tmp_path, b"data", mode)
    assert read_secret_file(path) == b"data"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602, 0o620, 0o666, 0o610])
def test_group_or_other_access_is_refused(tmp_path: Path, mode: int) -> None:
    path = _file(tmp_path, b"data", mode)
    if mode == 0o640:  # group read alone is refused for a group this process is not in
        _chown_or_skip(path, os.geteuid(), _foreign_gid())
    with pytest.raises(InsecureSecretFileError) as info:
        read_secret_file(path, what="key file")
    message = str(info.value)
    assert f"chmod 600 {path}" in message
    assert f"{mode:04o}" in message
    assert "group/others" in message
    assert info.value.code == "secret_file_insecure"
    path.chmod(0o600)
    assert read_secret_file(path) == b"data"


@pytest.mark.parametrize("mode", [0o440, 0o640, 0o400])
def test_kubernetes_secret_volume_is_accepted(tmp_path: Path, mode: int) -> None:
    """Owner root, group = the pod's fsGroup (a group of this process), mode 0440."""
    path = _file(tmp_path, b"data", mode)
    _chown_or_skip(path, 0, os.getegid())
    assert read_secret_file(path) == b"data"


@pytest.mark.parametrize("mode", [0o444, 0o644, 0o441, 0o460])
def test_kubernetes_volume_with_world_or_group_write_bits_is_refused(
    tmp_path: Path, mode: int
) -> None:
    path = _file(tmp_path, b"data", mode)
    _chown_or_skip(path, 0, os.getegid())
    with pytest.raises(InsecureSecretFileError, match=f"{mode:04o}"):
        read_secret_file(path)


def test_a_file_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, b"data", 0o600)
    other = 65_534 if os.geteuid() != 65_534 else 65_533
    _chown_or_skip(path, other, os.getegid())
    if os.geteuid() != 0:
        pytest.skip("only root can read a 0600 file of another user")
    with pytest.raises(InsecureSecretFileError, match="owned by uid"):
        read_secret_file(path)


def test_symlink_to_private_file_is_followed(tmp_path: Path) -> None:
    target = _file(tmp_path, b"data", 0o600)
    link = tmp_path / "link"
    link.symlink_to(target)
    assert read_secret_file(link) == b"data"
    target.chmod(0o644)
    with pytest.raises(InsecureSecretFileError):
        read_secret_file(link)


def test_missing_directory_and_oversize(tmp_path: Path) -> None:
    with pytest.raises(SecretFileError, match="does not exist"):
        read_secret_file(tmp_path / "nope")
    with pytest.raises(SecretFileError, match="not a regular file"):
        read_secret_file(tmp_path)
    big = _file(tmp_path, b"x" * (MAX_SECRET_FILE_BYTES + 1), 0o600)
    with pytest.raises(SecretFileError, match="too large"):
        read_secret_file(big)


def test_write_creates_0600_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "new"
    old_umask = os.umask(0)
    try:
        write_secret_file(path, b"abc")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b"abc"
    with pytest.raises(SecretFileError, match="already exists"):
        write_secret_file(path, b"other")
    assert path.read_bytes() == b"abc"
    with pytest.raises(SecretFileError, match="cannot create"):
        write_secret_file(tmp_path / "missing-dir" / "x", b"abc")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"correct horse\n", b"correct horse"),
        (b"correct horse", b"correct horse"),
        (b"correct horse\r\n", b"correct horse"),
        (b"two newlines\n\n", b"two newlines\n"),
        (b" spaces kept \n", b" spaces kept "),
    ],
)
def test_passphrase_strips_one_newline(tmp_path: Path, content: bytes, expected: bytes) -> None:
    assert read_passphrase_file(_file(tmp_path, content, 0o600)) == expected


def test_passphrase_rules(tmp_path: Path) -> None:
    with pytest.raises(SecretFileError, match="empty"):
        read_passphrase_file(_file(tmp_path, b"\n", 0o600, "empty"))
    with pytest.raises(InsecureSecretFileError, match="chmod 600"):
        read_passphrase_file(_file(tmp_path, b"pw\n", 0o644, "open"))
