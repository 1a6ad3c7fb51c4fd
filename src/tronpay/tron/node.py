"""Async client for the TRON full-node HTTP API (java-tron ``/wallet`` and ``/walletsolidity``).

Several node URLs are configured; the client tracks their health and fails over between them.
Reads back off on HTTP 429/5xx and transport errors and try the next node; a broadcast is never
retried with a delay inside the client: it is offered once to each node in health order until
one gives a definitive answer, and an unclear answer comes back as ``BroadcastKind.UNKNOWN``
(the engine rebroadcasts the same bytes later, which is idempotent).

Error tree (every error is a :class:`tronpay.errors.TronpayError`)::

    NodeError                      base: something went wrong talking to a node
    ├── NodeUnavailable            no configured node could be reached or answered usefully
    │                              (timeouts, connection errors, 429, 5xx) -> retry later
    └── NodeRejected               a node answered and refused the request ({"Error": ...},
                                   a failed constant call, a malformed answer) -> classify

A broadcast does not raise for a refused transaction: it returns a :class:`BroadcastOutcome`
whose ``kind`` tells the engine what the refusal proves. Only reads raise.

Addresses may be given as base58 (``T...``) or hex (``41...``); requests always send the
hex form with ``"visible": false``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import httpx
import structlog

from tronpay.errors import TronpayError
from tronpay.tron import abi
from tronpay.tron.address import to_bytes
from tronpay.tron.errors import DecodeError

log = structlog.get_logger(__name__)

API_KEY_HEADER = "TRON-PRO-API-KEY"
_T = TypeVar("_T")

# ---------------------------------------------------------------------------------------------
# errors


class NodeError(TronpayError):
    """Base of every node-client error."""

    code: ClassVar[str] = "node_error"
    status: ClassVar[int] = 502
    title: ClassVar[str] = "TRON node error"


class NodeUnavailable(NodeError):
    """No configured node could be reached or gave a usable answer (retry later)."""

    code: ClassVar[str] = "node_unavailable"
    status: ClassVar[int] = 503
    title: ClassVar[str] = "No TRON node is reachable"


class NodeRejected(NodeError):
    """A node answered and refused the request, or answered something we cannot parse."""

    code: ClassVar[str] = "node_rejected"
    status: ClassVar[int] = 502
    title: ClassVar[str] = "The TRON node rejected the request"


# ---------------------------------------------------------------------------------------------
# typed results


@dataclass(frozen=True)
class BlockRef:
    """A block as a reference point: number, 32-byte id (hex) and timestamp (ms)."""

    number: int
    id: str
    timestamp: int
    parent_id: str = ""
    txids: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeInfo:
    head_number: int
    head_id: str
    solid_number: int
    solid_id: str


@dataclass(frozen=True)
class Account:
    address: str
    exists: bool
    balance_sun: int


@dataclass(frozen=True)
class AccountResource:
    energy_limit: int
    energy_used: int
    net_limit: int
    net_used: int
    free_net_limit: int
    free_net_used: int
    total_energy_limit: int
    total_energy_weight: int

    @property
    def energy_available(self) -> int:
        return max(0, self.energy_limit - self.energy_used)

    @property
    def bandwidth_available(self) -> int:
        """Free plus staked bandwidth still unused today."""
        return max(0, self.free_net_limit - self.free_net_used) + max(
            0, self.net_limit - self.net_used
        )


@dataclass(frozen=True)
class ChainParameters:
    energy_fee_sun: int
    transaction_fee_sun: int
    create_account_fee_sun: int
    create_new_account_fee_in_system_contract_sun: int
    raw: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ConstantResult:
    """Outcome of a view call (``triggerconstantcontract``)."""

    ok: bool
    results: tuple[bytes, ...]
    energy_used: int
    energy_penalty: int
    message: str = ""

    @property
    def first(self) -> bytes:
        if not self.results:
            raise NodeRejected("constant call returned no result")
        return self.results[0]


@dataclass(frozen=True)
class TransactionInfo:
    """A transaction's receipt as ``gettransactioninfobyid`` reports it."""

    txid: str
    block_number: int
    block_timestamp: int
    fee_sun: int
    receipt_result: str  # SUCCESS, REVERT, OUT_OF_ENERGY, ... ("SUCCESS" when omitted)
    failed: bool  # top-level result == "FAILED"
    res_message: str
    energy_usage_total: int
    energy_fee_sun: int
    net_usage: int
    net_fee_sun: int
    energy_penalty_total: int
    logs: tuple[Mapping[str, Any], ...] = ()

    @property
    def success(self) -> bool:
        return not self.failed and self.receipt_result == "SUCCESS"


@dataclass(frozen=True)
class Transaction:
    """A transaction as ``gettransactionbyid`` reports it (the parts tronpay checks)."""

    txid: str
    raw_data_hex: str
    contract_type: str
    parameter: Mapping[str, Any]
    contract_ret: str  # "SUCCESS" or the failure code; "" when not yet executed


class BroadcastKind(enum.StrEnum):
    ACCEPTED = "accepted"  # the node took it into its pool
    KNOWN = "known"  # DUP_TRANSACTION_ERROR: the node already has it; track the txid
    DEAD = "dead"  # TAPOS/expiration/validation: this broadcast was refused for good
    HOLD = "hold"  # bandwidth or balance short: refused until funds arrive
    UNKNOWN = "unknown"  # timeout, 5xx, busy, OTHER_ERROR: look the txid up, rebroadcast
    BUG = "bug"  # SIGERROR, too big, txid mismatch: our transaction is wrong


@dataclass(frozen=True)
class BroadcastOutcome:
    kind: BroadcastKind
    txid: str
    code: str = ""
    message: str = ""
    node: str = ""


@dataclass(frozen=True)
class TxidPresence:
    """What every configured node says about a txid (for the dead-attempt proof)."""

    txid: str
    known_on: tuple[str, ...]  # nodes that have the tx (pool, block or solidified info)
    unknown_on: tuple[str, ...]  # nodes that answered and do not know it
    unreachable: tuple[str, ...]  # nodes that did not answer: they prove nothing

    @property
    def proven_unknown(self) -> bool:
        """True when at least one node answered, none knows the txid and none was unreachable."""
        return bool(self.unknown_on) and not self.known_on and not self.unreachable


# broadcast code classification (FACTS.md)
_KNOWN_CODES = frozenset({"DUP_TRANSACTION_ERROR"})
_DEAD_CODES = frozenset(
    {"TAPOS_ERROR", "TRANSACTION_EXPIRATION_ERROR", "CONTRACT_VALIDATE_ERROR", "CONTRACT_EXE_ERROR"}
)
_HOLD_CODES = frozenset({"BANDWITH_ERROR", "BANDWIDTH_ERROR"})
_BUG_CODES = frozenset({"SIGERROR", "TOO_BIG_TRANSACTION_ERROR"})
_HOLD_HINTS = ("balance is not sufficient", "not enough", "insufficient", "balance not sufficient")


def classify_broadcast_code(code: str, message: str) -> BroadcastKind:
    """Map a java-tron broadcast ``code`` (and its decoded message) to what it proves."""
    if code in _KNOWN_CODES:
        return BroadcastKind.KNOWN
    if code in _BUG_CODES:
        return BroadcastKind.BUG
    if code in _HOLD_CODES:
        return BroadcastKind.HOLD
    if code == "CONTRACT_VALIDATE_ERROR" and any(h in message.lower() for h in _HOLD_HINTS):
        return BroadcastKind.HOLD
    if code in _DEAD_CODES:
        return BroadcastKind.DEAD
    return BroadcastKind.UNKNOWN


def decode_message(message: Any) -> str:
    """java-tron hex-encodes broadcast/constant-call messages; decode when it is hex."""
    if not isinstance(message, str):
        return "" if message is None else str(message)
    try:
        return bytes.fromhex(message).decode("utf-8", errors="replace")
    except ValueError:
        return message


# ---------------------------------------------------------------------------------------------
# health


@dataclass
class _NodeHealth:
    url: str
    failures: int = 0
    cooldown_until: float = 0.0
    last_error: str = ""
    requests: int = 0

    def healthy(self, now: float) -> bool:
        return now >= self.cooldown_until


@dataclass(frozen=True)
class NodeHealthView:
    url: str
    healthy: bool
    failures: int
    last_error: str


class _Transient(Exception):
    """Internal: a node did not answer usefully; try another (never escapes the module)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


# ---------------------------------------------------------------------------------------------
# a lean HTTP/1.1 keep-alive client for the hot path

_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 64 * 1024 * 1024


class _HttpFailure(Exception):
    """Transport-level failure of one request (connection, timeout, malformed response)."""


@dataclass(frozen=True, slots=True)
class _Response:
    status_code: int
    headers: dict[str, str]
    body: bytes


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    last_used: float


_PROXY_ENV = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def _lean_eligible(urls: Sequence[str]) -> bool:
    """Only plain http:// URLs and no proxy configured in the environment."""
    if any(os.environ.get(name) for name in _PROXY_ENV):
        return False
    return all(urlsplit(url).scheme == "http" for url in urls)


class _LeanHttp:
    """POST JSON over pooled keep-alive plain HTTP/1.1 connections, no proxy.

    httpx spends about 1.5 ms of CPU per request; the engine makes thousands per batch, so
    direct connections use this instead (about a tenth of that). Proxies (SOCKS, Tor) and
    injected transports keep using httpx. Responses may be Content-Length, chunked or
    close-delimited. A request that fails on a reused idle connection before any byte of
    the answer arrived is retried once on a new connection when ``retry_stale`` (reads
    only: a broadcast is never sent twice inside one call, its outcome is just UNKNOWN)."""

    def __init__(
        self,
        headers: Mapping[str, str],
        *,
        timeout_s: float,
        connect_timeout_s: float,
        max_connections: int,
        idle_s: float = 4.0,
    ) -> None:
        self._headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._idle_s = idle_s
        self._max = max(1, max_connections)
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._slots: dict[tuple[str, str, int], asyncio.Semaphore] = {}
        self._closed = False

    async def aclose(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for c in conns:
                c.writer.close()
        self._idle.clear()

    async def post_json(self, url: str, body: Mapping[str, Any], *, retry_stale: bool) -> _Response:
        parts = urlsplit(url)
        scheme = parts.scheme
        if scheme != "http" or not parts.hostname:
            raise _HttpFailure(f"unsupported URL scheme {scheme!r}")
        port = parts.port or 80
        key = (scheme, parts.hostname, port)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        payload = json.dumps(body, separators=(",", ":")).encode()
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{self._headers}"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode("latin-1")
        slot = self._slots.setdefault(key, asyncio.Semaphore(self._max))
        async with slot:
            try:
                async with asyncio.timeout(self._timeout_s):
                    return await self._exchange(key, head + payload, retry_stale=retry_stale)
            except TimeoutError as exc:
                raise _HttpFailure("ReadTimeout") from exc

    async def _exchange(
        self, key: tuple[str, str, int], request: bytes, *, retry_stale: bool
    ) -> _Response:
        conn, reused = await self._checkout(key)
        try:
            conn.writer.write(request)
            try:
                status_line = await conn.reader.readuntil(b"\r\n")
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                if not (reused and retry_stale):
                    raise
                conn.writer.close()
                conn, reused = await self._connect(key), False
                conn.writer.write(request)
                status_line = await conn.reader.readuntil(b"\r\n")
            response, keep = await self._read_response(conn.reader, status_line)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            conn.writer.close()
            raise _HttpFailure(type(e).__name__) from e
        except BaseException:
            conn.writer.close()
            raise
        if keep and not self._closed:
            conn.last_used = time.monotonic()
            self._idle.setdefault(key, []).append(conn)
        else:
            conn.writer.close()
        return response

    async def _checkout(self, key: tuple[str, str, int]) -> tuple[_Conn, bool]:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.last_used < self._idle_s and not conn.reader.at_eof():
                return conn, True
            conn.writer.close()
        return await self._connect(key), False

    async def _connect(self, key: tuple[str, str, int]) -> _Conn:
        _, hostname, port = key
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                reader, writer = await asyncio.open_connection(
                    hostname, port, limit=_MAX_HEADER_BYTES
                )
        except TimeoutError as exc:
            raise _HttpFailure("ConnectTimeout") from exc
        except OSError as exc:
            raise _HttpFailure("ConnectError") from exc
        return _Conn(reader, writer, time.monotonic())

    @staticmethod
    async def _read_response(
        reader: asyncio.StreamReader, status_line: bytes
    ) -> tuple[_Response, bool]:
        version, _, rest = status_line.decode("latin-1").partition(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError("not an HTTP/1.x response")
        status = int(rest.split(" ", 1)[0])
        raw = await reader.readuntil(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in raw.decode("latin-1").split("\r\n"):
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if status in (204, 304) or 100 <= status < 200:
            return _Response(status, headers, b""), keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass  # trailers
                    break
                total += size
                if total > _MAX_BODY_BYTES:
                    raise ValueError("response body too large")
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            return _Response(status, headers, b"".join(chunks)), keep
        length = headers.get("content-length")
        if length is not None:
            n = int(length)
            if n < 0 or n > _MAX_BODY_BYTES:
                raise ValueError("bad Content-Length")
            return _Response(status, headers, await reader.readexactly(n)), keep
        body = await reader.read(_MAX_BODY_BYTES)  # close-delimited
        return _Response(status, headers, body), False


# ---------------------------------------------------------------------------------------------
# the client


class NodeClient:
    """Async TRON node client with failover. Use as ``async with NodeClient(...) as node``."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        api_key: str | None = None,
        timeout: httpx.Timeout,
        proxy: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 64,
        read_rounds: int = 3,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 5.0,
        cooldown_s: float = 5.0,
    ) -> None:
        if not urls:
            raise ValueError("at least one node URL is required")
        self._nodes = [_NodeHealth(url.rstrip("/")) for url in urls]
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            headers[API_KEY_HEADER] = api_key
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=timeout,
            transport=transport,
            proxy=None if transport is not None else proxy,
            follow_redirects=False,
            # every pooled connection stays open between requests (httpx keeps only 20 by
            # default, so a burst of broadcasts would reconnect over and over)
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=30.0,
            ),
        )
        # Plain-HTTP direct connections (the operator's own full nodes, the devnet) take the
        # lean client; TLS endpoints (TronGrid), proxies (explicit or from the environment)
        # and injected transports keep httpx, which verifies and routes them.
        self._lean: _LeanHttp | None = None
        if transport is None and proxy is None and _lean_eligible(urls):
            self._lean = _LeanHttp(
                headers,
                timeout_s=_total_timeout(timeout),
                connect_timeout_s=timeout.connect if timeout.connect is not None else 10.0,
                max_connections=max_connections,
            )
        self._read_rounds = max(1, read_rounds)
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._cooldown_s = cooldown_s

    async def __aenter__(self) -> NodeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._lean is not None:
            await self._lean.aclose()
        await self._client.aclose()

    def __repr__(self) -> str:  # never shows the API key
        return f"NodeClient(urls={self.urls!r})"

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(n.url for n in self._nodes)

    def health(self) -> tuple[NodeHealthView, ...]:
        now = time.monotonic()
        return tuple(
            NodeHealthView(n.url, n.healthy(now), n.failures, n.last_error) for n in self._nodes
        )

    # -- transport ------------------------------------------------------------------------------

    def _ordered(self) -> list[_NodeHealth]:
        now = time.monotonic()
        healthy = [n for n in self._nodes if n.healthy(now)]
        sick = sorted(
            (n for n in self._nodes if not n.healthy(now)), key=lambda n: n.cooldown_until
        )
        return healthy + sick

    def _mark_ok(self, node: _NodeHealth) -> None:
        node.failures = 0
        node.cooldown_until = 0.0

    def _mark_bad(self, node: _NodeHealth, reason: str) -> None:
        node.failures += 1
        node.last_error = reason
        backoff = min(self._cooldown_s * (2 ** min(node.failures - 1, 5)), 60.0)
        node.cooldown_until = time.monotonic() + backoff
        log.warning("node.unhealthy", node=node.url, reason=reason, failures=node.failures)

    async def _post_once(
        self, node: _NodeHealth, path: str, body: Mapping[str, Any], *, read: bool = True
    ) -> Any:
        """One POST to one node; returns parsed JSON or raises _Transient."""
        node.requests += 1
        if self._lean is not None:
            return await self._post_lean(self._lean, node, path, body, read=read)
        try:
            resp = await self._client.post(node.url + path, json=dict(body))
        except httpx.TransportError as exc:
            raise _Transient(f"{type(exc).__name__}") from exc
        if resp.status_code == 429 or resp.status_code >= 500:
            retry_after: float | None = None
            header = resp.headers.get("Retry-After")
            if header is not None:
                with contextlib.suppress(ValueError):
                    retry_after = float(header)
            raise _Transient(f"http_{resp.status_code}", retry_after)
        if resp.status_code != 200:
            raise NodeRejected(f"HTTP {resp.status_code} from node", node=node.url, path=path)
        text = resp.text.strip()
        if not text:
            return {}
        try:
            return resp.json()
        except ValueError as exc:
            raise _Transient("invalid_json") from exc

    async def _post_lean(
        self, lean: _LeanHttp, node: _NodeHealth, path: str, body: Mapping[str, Any], *, read: bool
    ) -> Any:
        try:
            resp = await lean.post_json(node.url + path, body, retry_stale=read)
        except _HttpFailure as exc:
            raise _Transient(str(exc)) from exc
        status = resp.status_code
        if status == 429 or status >= 500:
            retry_after: float | None = None
            header = resp.headers.get("retry-after")
            if header is not None:
                with contextlib.suppress(ValueError):
                    retry_after = float(header)
            raise _Transient(f"http_{status}", retry_after)
        if status != 200:
            raise NodeRejected(f"HTTP {status} from node", node=node.url, path=path)
        if not resp.body.strip():
            return {}
        try:
            return json.loads(resp.body)
        except ValueError as exc:
            raise _Transient("invalid_json") from exc

    async def _read(self, path: str, body: Mapping[str, Any]) -> Any:
        """A read with failover across nodes and backoff between rounds."""
        last_reason = "no attempt"
        for round_no in range(self._read_rounds):
            delay_hint: float | None = None
            for node in self._ordered():
                try:
                    data = await self._post_once(node, path, body)
                except _Transient as exc:
                    self._mark_bad(node, exc.reason)
                    last_reason = exc.reason
                    if exc.retry_after is not None:
                        delay_hint = max(delay_hint or 0.0, exc.retry_after)
                    continue
                self._mark_ok(node)
                if isinstance(data, dict) and "Error" in data:
                    raise NodeRejected(str(data["Error"]), node=node.url, path=path)
                return data
            if round_no + 1 < self._read_rounds:
                delay = min(self._backoff_max_s, self._backoff_base_s * (2**round_no))
                delay = delay * (0.5 + random.random() / 2)  # jitter, not crypto
                if delay_hint is not None:
                    delay = max(delay, min(delay_hint, self._backoff_max_s))
                await asyncio.sleep(delay)
        raise NodeUnavailable(f"no node answered {path}: {last_reason}", path=path)

    async def _read_node(self, node: _NodeHealth, path: str, body: Mapping[str, Any]) -> Any:
        """A read from one specific node, no failover; NodeUnavailable when it does not answer."""
        try:
            data = await self._post_once(node, path, body)
        except _Transient as exc:
            self._mark_bad(node, exc.reason)
            raise NodeUnavailable(f"{node.url} did not answer {path}: {exc.reason}") from exc
        self._mark_ok(node)
        if isinstance(data, dict) and "Error" in data:
            raise NodeRejected(str(data["Error"]), node=node.url, path=path)
        return data

    # -- blocks and node ------------------------------------------------------------------------

    async def now_block(self) -> BlockRef:
        return _parse_block(await self._read("/wallet/getnowblock", {}), "getnowblock")

    async def block_by_number(self, number: int) -> BlockRef | None:
        data = await self._read("/wallet/getblockbynum", {"num": number})
        if not data:
            return None
        return _parse_block(data, "getblockbynum")

    async def solid_block(self) -> BlockRef:
        return _parse_block(await self._read("/walletsolidity/getnowblock", {}), "solid nowblock")

    async def node_info(self) -> NodeInfo:
        data = _as_dict(await self._read("/wallet/getnodeinfo", {}), "getnodeinfo")
        head_n, head_id = _parse_num_id(data.get("block", ""))
        solid_n, solid_id = _parse_num_id(data.get("solidityBlock", ""))
        return NodeInfo(head_n, head_id, solid_n, solid_id)

    # -- accounts -------------------------------------------------------------------------------

    async def account(self, address: str, *, solid: bool = False) -> Account:
        prefix = "/walletsolidity" if solid else "/wallet"
        data = _as_dict(
            await self._read(f"{prefix}/getaccount", {"address": _hex(address), "visible": False}),
            "getaccount",
        )
        return Account(address=address, exists=bool(data), balance_sun=_int(data.get("balance")))

    async def account_resource(self, address: str) -> AccountResource:
        data = _as_dict(
            await self._read(
                "/wallet/getaccountresource", {"address": _hex(address), "visible": False}
            ),
            "getaccountresource",
        )
        return AccountResource(
            energy_limit=_int(data.get("EnergyLimit")),
            energy_used=_int(data.get("EnergyUsed")),
            net_limit=_int(data.get("NetLimit")),
            net_used=_int(data.get("NetUsed")),
            free_net_limit=_int(data.get("freeNetLimit")),
            free_net_used=_int(data.get("freeNetUsed")),
            total_energy_limit=_int(data.get("TotalEnergyLimit")),
            total_energy_weight=_int(data.get("TotalEnergyWeight")),
        )

    async def chain_parameters(self) -> ChainParameters:
        data = _as_dict(await self._read("/wallet/getchainparameters", {}), "getchainparameters")
        raw: dict[str, int] = {}
        for item in data.get("chainParameter") or []:
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                raw[item["key"]] = _int(item.get("value"))
        if "getEnergyFee" not in raw or "getTransactionFee" not in raw:
            raise NodeRejected("chain parameters lack getEnergyFee/getTransactionFee")
        return ChainParameters(
            energy_fee_sun=raw["getEnergyFee"],
            transaction_fee_sun=raw["getTransactionFee"],
            create_account_fee_sun=raw.get("getCreateAccountFee", 0),
            create_new_account_fee_in_system_contract_sun=raw.get(
                "getCreateNewAccountFeeInSystemContract", 0
            ),
            raw=raw,
        )

    # -- contracts ------------------------------------------------------------------------------

    async def trigger_constant(
        self, owner: str | None, contract: str, data: bytes, *, solid: bool = False
    ) -> ConstantResult:
        """Run a view call with full calldata (selector + arguments)."""
        body: dict[str, Any] = {
            "contract_address": _hex(contract),
            "data": data.hex(),
            "visible": False,
        }
        if owner is not None:
            body["owner_address"] = _hex(owner)
        prefix = "/walletsolidity" if solid else "/wallet"
        resp = _as_dict(
            await self._read(f"{prefix}/triggerconstantcontract", body), "triggerconstantcontract"
        )
        result = resp.get("result") or {}
        ok = bool(result.get("result")) if isinstance(result, dict) else False
        message = decode_message(result.get("message")) if isinstance(result, dict) else ""
        if "REVERT" in message.upper() or _tx_ret_failed(resp.get("transaction")):
            ok = False  # java-tron reports a reverted view call with result=true + a message
        try:
            outputs = tuple(bytes.fromhex(h) for h in resp.get("constant_result") or [])
        except (TypeError, ValueError) as exc:
            raise NodeRejected("constant_result is not hex") from exc
        return ConstantResult(
            ok=ok,
            results=outputs,
            energy_used=_int(resp.get("energy_used")),
            energy_penalty=_int(resp.get("energy_penalty")),
            message=message,
        )

    async def call_view(self, owner: str | None, contract: str, data: bytes) -> bytes:
        """A view call that must succeed; returns its first 32-byte-word output."""
        res = await self.trigger_constant(owner, contract, data)
        if not res.ok or not res.first:
            raise NodeRejected(f"view call failed: {res.message}", contract=contract)
        return res.first

    async def estimate_energy(self, owner: str, contract: str, data: bytes) -> int:
        """Energy a contract call needs: ``estimateenergy``, else ``triggerconstantcontract``."""
        body = {
            "owner_address": _hex(owner),
            "contract_address": _hex(contract),
            "data": data.hex(),
            "visible": False,
        }
        try:
            resp = _as_dict(await self._read("/wallet/estimateenergy", body), "estimateenergy")
        except NodeRejected:
            resp = {}
        result = resp.get("result") or {}
        if isinstance(result, dict) and result.get("result") and "energy_required" in resp:
            return _int(resp.get("energy_required"))
        fallback = await self.trigger_constant(owner, contract, data)
        if not fallback.ok:
            raise NodeRejected(f"energy estimate failed: {fallback.message}", contract=contract)
        return fallback.energy_used + fallback.energy_penalty

    async def token_balance(self, token: str, owner: str) -> int:
        """TRC20 ``balanceOf(owner)`` in base units."""
        out = await self.call_view(owner, token, abi.balance_of_call(owner))
        return _decode(abi.decode_uint256, out[:32])

    async def token_decimals(self, token: str) -> int:
        out = await self.call_view(None, token, abi.decimals_call())
        return _decode(abi.decode_uint256, out[:32])

    async def is_blacklisted(self, token: str, addr: str) -> bool:
        """Tether's ``isBlackListed(addr)``."""
        out = await self.call_view(None, token, abi.is_blacklisted_call(addr))
        return _decode(abi.decode_bool, out[:32])

    # -- transactions ---------------------------------------------------------------------------

    async def broadcast_hex(self, tx_bytes: bytes, txid: str) -> BroadcastOutcome:
        """Offer a signed, serialized ``Transaction`` to the nodes (no delays, no exceptions).

        Nodes are tried in health order until one gives a definitive answer; if none does the
        outcome is UNKNOWN. A returned txid different from ours is a BUG.
        """
        body = {"transaction": tx_bytes.hex()}
        unknown: BroadcastOutcome | None = None
        for node in self._ordered():
            outcome = await self._broadcast_one(node, body, txid)
            if outcome.kind is not BroadcastKind.UNKNOWN:
                return outcome
            unknown = unknown or outcome
        assert unknown is not None  # noqa: S101 - at least one node is configured
        return unknown

    async def _broadcast_one(
        self, node: _NodeHealth, body: Mapping[str, Any], txid: str
    ) -> BroadcastOutcome:
        try:
            data = await self._post_once(node, "/wallet/broadcasthex", body, read=False)
        except _Transient as exc:
            self._mark_bad(node, exc.reason)
            return BroadcastOutcome(BroadcastKind.UNKNOWN, txid, exc.reason, "", node.url)
        except NodeRejected as exc:
            return BroadcastOutcome(BroadcastKind.UNKNOWN, txid, "http_error", exc.detail, node.url)
        self._mark_ok(node)
        if not isinstance(data, dict):
            return BroadcastOutcome(BroadcastKind.UNKNOWN, txid, "bad_json", "", node.url)
        returned = data.get("txid")
        if isinstance(returned, str) and returned and returned.lower() != txid.lower():
            log.error("node.broadcast.txid_mismatch", node=node.url, ours=txid, theirs=returned)
            return BroadcastOutcome(
                BroadcastKind.BUG, txid, "TXID_MISMATCH", f"node computed {returned}", node.url
            )
        if data.get("result") is True:
            return BroadcastOutcome(BroadcastKind.ACCEPTED, txid, "SUCCESS", "", node.url)
        if "Error" in data:
            return BroadcastOutcome(
                BroadcastKind.UNKNOWN, txid, "SERVLET_ERROR", str(data["Error"]), node.url
            )
        code = str(data.get("code") or "")
        message = decode_message(data.get("message"))
        kind = classify_broadcast_code(code, message)
        return BroadcastOutcome(kind, txid, code, message, node.url)

    async def transaction_by_id(self, txid: str) -> Transaction | None:
        data = await self._read("/wallet/gettransactionbyid", {"value": txid})
        return _parse_transaction(data)

    async def transaction_info(self, txid: str, *, solid: bool = False) -> TransactionInfo | None:
        prefix = "/walletsolidity" if solid else "/wallet"
        data = await self._read(f"{prefix}/gettransactioninfobyid", {"value": txid})
        if not data:
            return None
        return _parse_info(_as_dict(data, "gettransactioninfobyid"))

    async def transaction_infos_in_block(
        self, number: int, *, solid: bool = False
    ) -> tuple[TransactionInfo, ...]:
        """Every receipt of block ``number`` (``solid``: as the solidity node has it, empty
        while the block is not solidified there)."""
        prefix = "/walletsolidity" if solid else "/wallet"
        data = await self._read(f"{prefix}/gettransactioninfobyblocknum", {"num": number})
        if not data:
            return ()
        if not isinstance(data, list):
            raise NodeRejected("gettransactioninfobyblocknum did not return a list")
        return tuple(_parse_info(_as_dict(item, "transaction info")) for item in data)

    async def txid_presence(self, txid: str) -> TxidPresence:
        """Ask EVERY configured node whether it knows ``txid`` (pool/block and solidified).

        A node that cannot be reached lands in ``unreachable``: it proves nothing.
        """
        results = await asyncio.gather(*(self._presence_on(n, txid) for n in self._nodes))
        known = tuple(url for url, state in results if state == "known")
        unknown = tuple(url for url, state in results if state == "unknown")
        unreachable = tuple(url for url, state in results if state == "unreachable")
        return TxidPresence(txid, known, unknown, unreachable)

    async def _presence_on(self, node: _NodeHealth, txid: str) -> tuple[str, str]:
        try:
            tx = await self._read_node(node, "/wallet/gettransactionbyid", {"value": txid})
            if tx:
                return node.url, "known"
            info = await self._read_node(
                node, "/walletsolidity/gettransactioninfobyid", {"value": txid}
            )
            if info:
                return node.url, "known"
            info = await self._read_node(node, "/wallet/gettransactioninfobyid", {"value": txid})
        except NodeError:
            return node.url, "unreachable"
        return node.url, "known" if info else "unknown"


# ---------------------------------------------------------------------------------------------
# parsing helpers (JSON edge)


def _total_timeout(timeout: httpx.Timeout) -> float:
    """One bound for a whole request of the lean client: the largest phase timeout."""
    phases = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t]
    return max(phases) if phases else 30.0


def _tx_ret_failed(tx: Any) -> bool:
    if not isinstance(tx, dict):
        return False
    rets = tx.get("ret")
    if not isinstance(rets, list):
        return False
    return any(isinstance(r, dict) and r.get("ret") == "FAILED" for r in rets)


def _hex(addr: str) -> str:
    return to_bytes(addr).hex()


def _decode(fn: Callable[[bytes], _T], data: bytes) -> _T:
    try:
        return fn(data)
    except DecodeError as exc:
        raise NodeRejected(f"cannot decode contract result: {exc.detail}") from exc


def _int(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError as exc:
            raise NodeRejected(f"not an integer: {value!r}") from exc
    raise NodeRejected(f"not an integer: {type(value).__name__}")


def _as_dict(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise NodeRejected(f"{what}: expected a JSON object")
    return data


def _parse_num_id(text: Any) -> tuple[int, str]:
    """Parse getnodeinfo's ``"Num:123,ID:00ab..."``."""
    if not isinstance(text, str) or "Num:" not in text:
        raise NodeRejected(f"getnodeinfo: unexpected block field {text!r}")
    num_part, _, id_part = text.partition(",")
    number = _int(num_part.split(":", 1)[1])
    block_id = id_part.split(":", 1)[1] if ":" in id_part else ""
    return number, block_id


def _parse_block(data: Any, what: str) -> BlockRef:
    block = _as_dict(data, what)
    header = block.get("block_header")
    if not isinstance(header, dict) or not isinstance(header.get("raw_data"), dict):
        raise NodeRejected(f"{what}: no block_header.raw_data")
    raw = header["raw_data"]
    block_id = block.get("blockID")
    if not isinstance(block_id, str) or len(block_id) != 64:
        raise NodeRejected(f"{what}: bad blockID")
    txids = tuple(
        str(tx.get("txID"))
        for tx in block.get("transactions") or []
        if isinstance(tx, dict) and tx.get("txID")
    )
    return BlockRef(
        number=_int(raw.get("number")),
        id=block_id,
        timestamp=_int(raw.get("timestamp")),
        parent_id=str(raw.get("parentHash") or ""),
        txids=txids,
    )


def _parse_info(data: dict[str, Any]) -> TransactionInfo:
    receipt = data.get("receipt") or {}
    if not isinstance(receipt, dict):
        receipt = {}
    logs = tuple(item for item in data.get("log") or [] if isinstance(item, dict))
    txid = data.get("id")
    if not isinstance(txid, str):
        raise NodeRejected("transaction info without id")
    return TransactionInfo(
        txid=txid,
        block_number=_int(data.get("blockNumber")),
        block_timestamp=_int(data.get("blockTimeStamp")),
        fee_sun=_int(data.get("fee")),
        receipt_result=str(receipt.get("result") or "SUCCESS"),
        failed=data.get("result") == "FAILED",
        res_message=decode_message(data.get("resMessage")),
        energy_usage_total=_int(receipt.get("energy_usage_total")),
        energy_fee_sun=_int(receipt.get("energy_fee")),
        net_usage=_int(receipt.get("net_usage")),
        net_fee_sun=_int(receipt.get("net_fee")),
        energy_penalty_total=_int(receipt.get("energy_penalty_total")),
        logs=logs,
    )


def _parse_transaction(data: Any) -> Transaction | None:
    if not data:
        return None
    tx = _as_dict(data, "gettransactionbyid")
    raw = tx.get("raw_data") or {}
    contracts = raw.get("contract") or [] if isinstance(raw, dict) else []
    contract = contracts[0] if contracts and isinstance(contracts[0], dict) else {}
    parameter = contract.get("parameter") or {}
    value = parameter.get("value") if isinstance(parameter, dict) else None
    rets = tx.get("ret") or []
    ret = rets[0] if rets and isinstance(rets[0], dict) else {}
    return Transaction(
        txid=str(tx.get("txID") or ""),
        raw_data_hex=str(tx.get("raw_data_hex") or ""),
        contract_type=str(contract.get("type") or ""),
        parameter=value if isinstance(value, dict) else {},
        contract_ret=str(ret.get("contractRet") or ""),
    )
