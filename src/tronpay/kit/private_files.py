"""Directories and files only this service's user may use, whatever the umask.

The data directory (the embedded SQLite database, its WAL and shared-memory files, the
development secret, the devnet's files and log) is created with mode 0700; files in it with
mode 0600. SQLite creates its ``-wal`` and ``-shm`` files with the mode of the database
file, so a database file created here keeps both private.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

PRIVATE_DIR_MODE: Final = 0o700
PRIVATE_FILE_MODE: Final = 0o600


def make_private_dir(path: Path) -> None:
    """Create ``path`` and any missing parents with mode 0700 (an existing directory is
    left as it is: it may be a mount point whose mode an operator chose)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # created meanwhile by another process
        directory.chmod(PRIVATE_DIR_MODE)  # the umask may have removed bits; never added


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (then it is left alone)."""
    make_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)


def open_private_log(path: Path) -> int:
    """A file descriptor writing the log file ``path`` from its start (created, or
    truncated), with mode 0600."""
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    os.fchmod(fd, PRIVATE_FILE_MODE)
    return fd
