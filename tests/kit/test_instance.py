"""One service per data directory, and port probes that a restart's TIME-WAIT does not fool."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tronpay.kit.instance import DirectoryInUse, lock_directory, port_is_free


def test_a_second_lock_on_the_same_directory_names_the_holder(tmp_path: Path) -> None:
    first = lock_directory(tmp_path / "data")
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    # flock is per open file: another process is refused
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from tronpay.kit.instance import *\n"
            "try:\n    lock_directory(Path(sys.argv[1]))\n"
            "except DirectoryInUse as exc:\n    print(exc.holder)\n    sys.exit(3)\n",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 3, child.stderr
    assert child.stdout.strip() == str(os.getpid())
    # and so is a second open in this process
    with pytest.raises(DirectoryInUse) as raised:
        lock_directory(tmp_path / "data")
    assert raised.value.holder == str(os.getpid())
    first.release()
    again = lock_directory(tmp_path / "data")
    again.release()


def test_a_lock_dies_with_its_process(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; from pathlib import Path; from tronpay.kit.instance import *\n"
            "lock_directory(Path(sys.argv[1])); os._exit(9)\n",
            str(tmp_path),
        ],
        timeout=60,
        check=False,
    )
    lock_directory(tmp_path).release()  # no stale lock after a crash


def _time_wait_port() -> int:
    """A port whose only connection was closed by the listening side (so the listening side
    holds it in TIME-WAIT), with nothing listening on it any more. The listener sets
    SO_REUSEADDR as uvicorn (and so tron-devnet) does; its connections inherit it."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port: int = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: TIME-WAIT is on the server's port
    client.recv(1)
    client.close()
    server.close()
    return port


def test_a_port_in_time_wait_is_free_and_a_listening_port_is_not() -> None:
    port = _time_wait_port()
    plain = socket.socket()
    with pytest.raises(OSError, match="in use"):  # the old probe (no SO_REUSEADDR)
        plain.bind(("127.0.0.1", port))
    plain.close()
    assert port_is_free("127.0.0.1", port)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert not port_is_free("127.0.0.1", listener.getsockname()[1])
