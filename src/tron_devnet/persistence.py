"""The ``--state FILE`` (the chain kept across restarts as one JSON document), and how the
devnet reads and writes its files.

Written atomically by ``write_private_file`` (temporary file in the same directory, fsync,
rename; also used for the demo key), so a crash while saving leaves the previous state intact.
The content is ``Chain.export_state()`` wrapped with a format marker; loading replays it through
``Chain.from_state``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tron_devnet.core.chain import Chain

FORMAT = "tron-devnet-state/1"


class StateFileError(ValueError):
    """The state file cannot be read or is not a devnet state."""


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, mode 0600 (a temporary file in the same
    directory, fsync, rename, fsync of the directory); parent directories are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)  # a leftover temporary file keeps its mode through O_TRUNC
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_state(chain: Chain, path: Path) -> None:
    document = {"format": FORMAT, "chain": chain.export_state()}
    write_private_file(path, json.dumps(document, separators=(",", ":")).encode())


def read_json_file(path: Path, kind: str, error: type[Exception]) -> Any:
    """The JSON value in ``path``; raises ``error`` with a one-line message naming the ``kind``
    of file ("genesis", "state", "faults") when it cannot be read or is not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read {kind} file {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{kind} file {path} is not valid JSON: {exc.msg}") from None


def read_state(path: Path) -> dict[str, Any]:
    """The exported chain state stored in ``path``."""
    document = read_json_file(path, "state", StateFileError)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateFileError(f"state file {path} is not a {FORMAT} document")
    chain = document.get("chain")
    if not isinstance(chain, dict):
        raise StateFileError(f"state file {path} has no chain state")
    return chain


def load_state(path: Path) -> Chain:
    data = read_state(path)
    try:
        return Chain.from_state(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"state file {path} cannot be replayed: {exc}") from None
