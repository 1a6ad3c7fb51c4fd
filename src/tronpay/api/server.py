"""How ``tronpay serve`` runs uvicorn: server limits that protect the process itself.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but has no limit
on how long a client may take to send a request's headers, and accepts connections until the
process runs out of file descriptors. 1,100 connections that never finish their headers were
enough to stop ``/health`` answering in a 1,024-descriptor process. The HTTP protocol class
here adds, below ASGI:

* a header timeout: from the moment a connection is accepted (or its previous response is
  complete) the client has ``header_timeout_s`` to finish the next request's headers, or the
  connection is closed (within a further half timeout, at most one second: one sweep per
  server checks every connection, instead of a timer armed and cancelled per request, which
  cost the create fast lane a few percent). A request already being handled is never cut off;
* a header size limit: a client that has sent ``MAX_HEADER_BYTES`` (64 KiB) without
  finishing its request's headers gets ``431`` and the connection is closed;
* a connection cap, kept below the process's descriptor limit so the database, the node
  client and health checks always have descriptors: when a new connection would pass
  ``max_connections``, the connection that has waited longest without a request in progress
  (an idle keep-alive, or a slow sender still on its headers) is closed to make room; when
  every connection is busy answering a request, the new one gets an immediate
  ``503 Service Unavailable`` with ``Connection: close``. A slowloris can therefore never
  lock a health check out.

None of this replaces a reverse proxy in production (see docs/security.md).
"""

from __future__ import annotations

import asyncio
import resource
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Final

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is a pinned dependency
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

from tronpay.config import Settings

# Descriptors kept free for everything but client connections: the database pool, the node
# client, the devnet child's pipes, logs, listening sockets - and one accept burst: asyncio
# accepts up to ``backlog`` connections per loop iteration, before any evicted connection's
# descriptor is closed, so the burst must fit in the reserve.
FD_RESERVE: Final = 256
ACCEPT_BACKLOG: Final = 128
MIN_CONNECTIONS: Final = 16
# The header-timeout sweep runs every half timeout, but at least once a second.
SWEEP_MAX_INTERVAL_S: Final = 1.0

# Bytes a client may send while its request's headers are still incomplete.
MAX_HEADER_BYTES: Final = 64 * 1024
_HEADERS_TOO_LARGE_RESPONSE: Final = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 22\r\n"
    b"connection: close\r\n\r\n"
    b"request header too big"
)
_OVER_CAP_RESPONSE: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 20\r\n"
    b"retry-after: 1\r\n"
    b"connection: close\r\n\r\n"
    b"too many connections"
)


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """The limits one server applies (``effective_connection_cap`` already applied)."""

    header_timeout_s: float
    keep_alive_s: int
    max_connections: int


def effective_connection_cap(configured: int) -> int:
    """``configured``, but never more than the descriptor limit minus ``FD_RESERVE``."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    return max(MIN_CONNECTIONS, min(configured, soft - FD_RESERVE))


def server_limits(settings: Settings) -> ServerLimits:
    return ServerLimits(
        header_timeout_s=settings.http_header_timeout_s,
        keep_alive_s=settings.http_keep_alive_s,
        max_connections=effective_connection_cap(settings.http_max_connections),
    )


@lru_cache(maxsize=1)
def _environment_limits() -> ServerLimits:
    """The limits of a ``serve --workers`` process, whose settings come from the environment."""
    return server_limits(Settings())


class _Sweep:
    """The header-timeout check of one server: every ``interval_s`` it closes the connections
    that have waited longer than the timeout for a request's headers. It runs while the
    server has connections and is started again by the next one."""

    def __init__(self, loop: asyncio.AbstractEventLoop, connections: set[Any], timeout_s: float):
        self.loop = loop
        self.connections = connections
        self.timeout_s = timeout_s
        self.interval_s = min(timeout_s / 2, SWEEP_MAX_INTERVAL_S)
        self.handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        if self.handle is None:
            self.handle = self.loop.call_later(self.interval_s, self._run)

    def _run(self) -> None:
        self.handle = None
        deadline = time.monotonic() - self.timeout_s
        for connection in list(self.connections):
            if isinstance(connection, _Guard) and connection._headers_overdue(deadline):
                connection.transport.close()  # no request's headers arrived in time
        if self.connections:
            self.start()


class _Guard:
    """Mixed into uvicorn's HTTP protocol classes (see the module docstring)."""

    limits: ClassVar[ServerLimits | None] = None

    # uvicorn's protocol attributes this mixin uses
    connections: set[Any]
    server_state: Any
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    cycle: Any
    _header_cycle: Any = None
    _waiting_since: float = 0.0
    _header_bytes: int = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        if len(self.connections) > self._limits().max_connections and not self._evict_one():
            self.transport.write(_OVER_CAP_RESPONSE)
            self.transport.close()
            return
        self._start_waiting()
        self._sweep().start()

    def _sweep(self) -> _Sweep:
        """This server's sweep (kept on uvicorn's state shared by its connections)."""
        sweep: _Sweep | None = getattr(self.server_state, "tronpay_sweep", None)
        if sweep is None:
            timeout_s = self._limits().header_timeout_s
            sweep = _Sweep(self.loop, self.connections, timeout_s)
            self.server_state.tronpay_sweep = sweep
        return sweep

    def _waiting_for_headers(self) -> bool:
        """Idle, or still receiving a request's headers: nothing is being answered."""
        idle = self.cycle is None or self.cycle.response_complete
        return idle and not self.transport.is_closing()

    def _headers_overdue(self, deadline: float) -> bool:
        """Waiting since before ``deadline`` for the headers of a request that has not
        started (the request in progress when it began waiting is complete)."""
        return (
            self._waiting_since < deadline
            and self.cycle is self._header_cycle
            and self._waiting_for_headers()
        )

    def _evict_one(self) -> bool:
        """Over the cap: close the connection that has waited longest without a request in
        progress (an idle keep-alive or a slow sender), so a new caller such as a health
        check gets in. ``False`` when every other connection is busy answering."""
        waiting = [
            other
            for other in self.connections
            if isinstance(other, _Guard) and other is not self and other._waiting_for_headers()
        ]
        if not waiting:
            return False
        min(waiting, key=lambda other: other._waiting_since).transport.close()
        return True

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self.cycle is not self._header_cycle or self.transport.is_closing():
            self._header_bytes = 0  # a request's headers are complete
            return
        self._header_bytes += len(data)
        if self._header_bytes > MAX_HEADER_BYTES:
            self.transport.write(_HEADERS_TOO_LARGE_RESPONSE)
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._start_waiting()

    def _limits(self) -> ServerLimits:
        return type(self).limits or _environment_limits()

    def _start_waiting(self) -> None:
        """From now the client has the header timeout to finish its next request's headers."""
        self._header_bytes = 0
        self._waiting_since = time.monotonic()
        self._header_cycle = self.cycle


class GuardedH11Protocol(_Guard, H11Protocol):
    pass


if HttpToolsProtocol is not None:

    class GuardedHttpToolsProtocol(_Guard, HttpToolsProtocol):
        pass

    _BASE: type[_Guard] = GuardedHttpToolsProtocol
else:  # pragma: no cover
    _BASE = GuardedH11Protocol


class EnvironmentHTTPProtocol(_BASE):  # type: ignore[valid-type,misc]
    """For ``serve --workers``: uvicorn imports it by name in each worker process, and it
    reads the limits from that process's environment (``TRONPAY_HTTP_*``)."""

    limits = None


WORKER_PROTOCOL: Final = "tronpay.api.server:EnvironmentHTTPProtocol"


def guarded_protocol(limits: ServerLimits) -> type[asyncio.Protocol]:
    """The HTTP protocol class for one server, with ``limits`` baked in."""
    protocol: type[asyncio.Protocol] = type("TronpayHTTPProtocol", (_BASE,), {"limits": limits})
    return protocol


def uvicorn_config(app: Any, settings: Settings, **extra: Any) -> uvicorn.Config:
    """The uvicorn configuration of ``tronpay serve`` (one process or ``--workers``)."""
    limits = server_limits(settings)
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # tronpay.observability.logs routes uvicorn's lines (JSON like ours)
        access_log=settings.log_access,
        proxy_headers=True,
        server_header=False,
        http=guarded_protocol(limits),
        timeout_keep_alive=limits.keep_alive_s,
        backlog=ACCEPT_BACKLOG,
        **extra,
    )
