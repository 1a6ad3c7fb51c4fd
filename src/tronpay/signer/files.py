"""Reading and writing secret files (hex keys, passphrases, keystores, the JWT HS256 secret,
the node API key) safely.

Every secret file passes the same check before it is read:

* it is a regular file (symlinks are followed, as Kubernetes mounts secrets through them;
  the mode checked is that of the file actually opened);
* others (the "world") have no permission bits at all;
* the group may not write or execute it, and may read it only when the file's group is one
  of this process's groups: a Kubernetes secret volume with ``fsGroup`` gives owner root,
  group = the pod's fsGroup (65532 in our image) and mode 0440;
* it is owned by this process's user or by root.

So ``chmod 600`` (or ``400``, or ``440`` with the process's group) passes, 0644 never does.
New secret files are created with mode 0600 and never overwrite an existing file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tronpay.signer.errors import InsecureSecretFileError, SecretFileError

MAX_SECRET_FILE_BYTES = 64 * 1024
_OTHER_BITS = 0o007
_GROUP_WRITE_EXEC_BITS = 0o030
_GROUP_READ_BIT = 0o040


def _process_groups() -> set[int]:
    return {os.getegid(), *os.getgroups()}


def secret_mode_problem(info: os.stat_result) -> str | None:
    """Why a file with this ``stat`` may not hold a secret (``None``: it may)."""
    mode = stat.S_IMODE(info.st_mode)
    if mode & _OTHER_BITS:
        return f"is accessible to all users (mode {mode:04o})"
    if mode & _GROUP_WRITE_EXEC_BITS:
        return f"is writable or executable by its group (mode {mode:04o})"
    if mode & _GROUP_READ_BIT and info.st_gid not in _process_groups():
        return (
            f"is readable by group {info.st_gid}, which this process (uid {os.geteuid()}) "
            f"does not belong to (mode {mode:04o})"
        )
    if info.st_uid not in {os.geteuid(), 0}:
        return f"is owned by uid {info.st_uid}, neither this process's user nor root"
    return None


def _open_secret_file(name: str, what: str) -> int:
    """An open descriptor of the secret file ``name`` that passed every check."""
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
        problem = secret_mode_problem(info)
        if problem is not None:
            raise InsecureSecretFileError(
                f"{what} {name} {problem}; group/others must have no access to a secret "
                f"(only this process's own group may read it). Fix it with: chmod 600 {name}"
            )
        if info.st_size > MAX_SECRET_FILE_BYTES:
            raise SecretFileError(f"{what} {name} is too large to be a secret file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_secret_file(path: str | os.PathLike[str], *, what: str = "secret file") -> None:
    """Raise :class:`SecretFileError` unless ``path`` passes the checks of
    :func:`read_secret_file` (the content is not read)."""
    os.close(_open_secret_file(os.fspath(path), what))


def read_secret_file(path: str | os.PathLike[str], *, what: str = "secret file") -> bytes:
    """The bytes of a private, regular secret file, or a clear :class:`SecretFileError`."""
    name = os.fspath(path)
    fd = _open_secret_file(name, what)
    try:
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
