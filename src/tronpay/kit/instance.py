"""One running service per data directory, and ports that are really free.

``tronpay serve`` takes an exclusive lock on ``<data dir>/tronpay.lock`` before it starts
anything (the devnet child, the database, the API), so a second ``serve`` on the same data
directory stops at once and says which process holds it, instead of starting a second devnet
on the same state file. The lock is an ``flock`` on an open file: the kernel releases it when
the process ends, however it ends, so a crash never leaves a stale lock behind.

A port probe binds with ``SO_REUSEADDR``, as the servers themselves do: a port whose last
connection is still in TIME-WAIT (a restart within a minute) is free to listen on again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tronpay.kit.private_files import PRIVATE_FILE_MODE, make_private_dir

LOCK_NAME: Final = "tronpay.lock"


class DirectoryInUse(Exception):
    """Another process holds the data directory's lock."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is in use by process {holder or '(unknown)'}")
        self.path = path
        self.holder = holder


@dataclass
class DirectoryLock:
    """An exclusive lock held for as long as this object's file stays open."""

    path: Path
    _fd: int

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = -1


def lock_directory(directory: Path) -> DirectoryLock:
    """Lock ``directory`` for this process (creating it 0700 if missing) and write our pid
    into the lock file. Raises ``DirectoryInUse`` with the holder's pid when it is taken."""
    make_private_dir(directory)
    path = directory / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        raise DirectoryInUse(path, holder) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return DirectoryLock(path, fd)


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (TIME-WAIT does not count)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):
            probe.bind((host, port))
            return True
    return False
