"""What ``tronpay serve`` adds around uvicorn: a server that says when it listens (the
``serve --devnet`` banner comes after the start-up lines, not among them), and the devnet's
port, kept per data directory so a restart brings the devnet back where it was."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import uvicorn

from tronpay.kit.instance import port_is_free

DEVNET_PORT: Final = 8091
# In the data directory, beside the devnet's own folder: the port its last run listened on.
DEVNET_PORT_FILE: Final = "devnet.port"


class Server(uvicorn.Server):
    """uvicorn's server, calling ``on_started`` once it listens (after its start-up lines)."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_started is not None:
            self._on_started()


def devnet_port(data_dir: Path, requested: int | None, say: Callable[[str], None]) -> int:
    """The port asked for; else the one the devnet of this data directory had last time (so
    a restart keeps the URL the operator's tools and wallets were given), when it is free;
    else the documented 8091 when free (also right after a restart, while the last run's
    connections are in TIME-WAIT); else any free port (0). ``say`` tells the operator when
    the remembered port is taken."""
    if requested is not None:
        return requested
    try:
        remembered = int((data_dir / DEVNET_PORT_FILE).read_text().strip())
    except (OSError, ValueError):
        remembered = 0
    if 0 < remembered < 65536:
        if port_is_free("127.0.0.1", remembered):
            return remembered
        say(f"the devnet's port {remembered} (from its last run) is taken; using another")
    return DEVNET_PORT if port_is_free("127.0.0.1", DEVNET_PORT) else 0


def remember_devnet_port(data_dir: Path, url: str) -> None:
    """Keep the port of the devnet now listening at ``url`` for the next start."""
    port = urlsplit(url).port
    if port is not None:
        (data_dir / DEVNET_PORT_FILE).write_text(f"{port}\n")


__all__ = ["DEVNET_PORT", "DEVNET_PORT_FILE", "Server", "devnet_port", "remember_devnet_port"]
