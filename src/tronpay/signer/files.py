"""Reading and writing secret files (hex keys, passphrases, keystores) safely.

A secret file must be a regular file that neither group nor others may read or write
(``chmod 600`` or ``400``). Symlinks are followed (Kubernetes mounts secrets through them);
the mode checked is that of the file actually opened. New secret files are created with mode
0600 and never overwrite an existing file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tronpay.signer.errors import InsecureSecretFileError, SecretFileError

MAX_SECRET_FILE_BYTES = 64 * 1024
_GROUP_OTHER_BITS = 0o077


def read_secret_file(path: str | os.PathLike[str], *, what: str = "secret file") -> bytes:
    """The bytes of a private, regular secret file, or a clear :class:`SecretFileError`."""
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise SecretFileError(f"{what} {name} does not exist") from None
    except OSError as exc:
        raise SecretFileError(f"cannot open {what} {name}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretFileError(f"{what} {name} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & _GROUP_OTHER_BITS:
            raise InsecureSecretFileError(
                f"{what} {name} is readable or writable by group/others (mode {mode:04o}); "
                f"a secret must be private to its owner. Fix it with: chmod 600 {name}"
            )
        if info.st_size > MAX_SECRET_FILE_BYTES:
            raise SecretFileError(f"{what} {name} is too large to be a secret file")
        chunks: list[bytes] = []
        while chunk := os.read(fd, MAX_SECRET_FILE_BYTES + 1):
            chunks.append(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise SecretFileError(f"{what} {name} is too large to be a secret file")
    return data


def write_secret_file(path: str | os.PathLike[str], data: bytes, *, what: str = "file") -> None:
    """Create ``path`` with mode 0600 and write ``data``; refuse to replace an existing file."""
    name = os.fspath(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags, 0o600)
    except FileExistsError:
        raise SecretFileError(f"{what} {name} already exists; refusing to overwrite it") from None
    except OSError as exc:
        raise SecretFileError(f"cannot create {what} {name}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # in case the umask or the filesystem changed the mode
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        Path(name).unlink(missing_ok=True)
        raise SecretFileError(f"cannot write {what} {name}: {exc.strerror}") from None
    os.close(fd)


def read_passphrase_file(path: str | os.PathLike[str]) -> bytes:
    """A passphrase from a private file: exactly one trailing newline (``\\n`` or ``\\r\\n``)
    is stripped; everything else is part of the passphrase. Empty is refused."""
    data = read_secret_file(path, what="passphrase file")
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        raise SecretFileError(f"passphrase file {os.fspath(path)} is empty")
    return data
