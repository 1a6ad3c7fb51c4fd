"""``NodeClient``: the async TRON node client with failover, written once over a
:class:`Transport` (``_transport``). The transport moves bytes; this module alone decides what
an answer means: 429 and 5xx (honouring ``Retry-After``), transport failures and invalid JSON
make a node cool down and a read try the next one; any other non-200 status or a servlet
``Error`` fails a read with :class:`NodeRejected`; an empty body is ``{}``. A broadcast maps
each of these to a :class:`BroadcastOutcome` instead of raising.

Reads back off between rounds over all nodes; a broadcast is never retried with a delay
inside the client: it is offered once to each node in health order until one gives a
definitive answer, and an unclear answer comes back as ``BroadcastKind.UNKNOWN`` (the engine
rebroadcasts the same bytes later, which is idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import structlog

from tronpay.tron import abi
from tronpay.tron.errors import NodeError, NodeRejected, NodeUnavailable
from tronpay.tron.node._health import NodeHealth, NodeHealthView, NodePool
from tronpay.tron.node._http import LeanHttp, lean_eligible
from tronpay.tron.node._httpx import HttpxTransport
from tronpay.tron.node._parse import (
    as_dict,
    classify_broadcast_code,
    decode_message,
    decode_word,
    hex_address,
    parse_account,
    parse_account_resource,
    parse_block,
    parse_chain_parameters,
    parse_constant_result,
    parse_info,
    parse_int,
    parse_node_info,
    parse_transaction,
)
from tronpay.tron.node._results import (
    Account,
    AccountResource,
    BlockRef,
    BroadcastKind,
    BroadcastOutcome,
    ChainParameters,
    ConstantResult,
    NodeInfo,
    Transaction,
    TransactionInfo,
    TxidPresence,
)
from tronpay.tron.node._stake import (
    AccountStake,
    Delegation,
    parse_account_stake,
    parse_delegation_index,
    parse_delegations,
)
from tronpay.tron.node._transport import Response, Transport, TransportFailure

log = structlog.get_logger(__name__)

API_KEY_HEADER = "TRON-PRO-API-KEY"

# Told about every request to a node: (node URL, endpoint path, outcome, seconds); the outcome
# is "ok", "rejected" (the node answered and refused) or "unavailable" (no useful answer).
RequestObserver = Callable[[str, str, str, float], None]


class _Presence(enum.Enum):
    """What one node says about a txid."""

    KNOWN = "known"  # in its pool, a block or its solidified receipts
    UNKNOWN = "unknown"  # it answered every lookup and has never seen it
    UNREACHABLE = "unreachable"  # it did not answer: proves nothing


class _Transient(Exception):
    """Internal: a node did not answer usefully; try another (never escapes the module)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _total_timeout(timeout: httpx.Timeout) -> float:
    """One bound for a whole request of the lean client: the largest phase timeout."""
    phases = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t]
    return max(phases) if phases else 30.0


def _retry_after(resp: Response) -> float | None:
    """``Retry-After`` in seconds, when the node sent a number."""
    header = resp.headers.get("retry-after")
    if header is not None:
        with contextlib.suppress(ValueError):
            return float(header)
    return None


class NodeClient:
    """Async TRON node client with failover. Use as ``async with NodeClient(...) as node``.

    Plain-HTTP direct connections (the operator's own full nodes, the devnet) take the lean
    keep-alive client; TLS endpoints (TronGrid), proxies (``proxy``, e.g. a SOCKS URL for Tor,
    or one set in the environment) and an injected ``transport`` take httpx, which verifies
    certificates and routes them.
    """

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
        observer: RequestObserver | None = None,
    ) -> None:
        if not urls:
            raise ValueError("at least one node URL is required")
        self._observer = observer
        self._pool = NodePool(urls, cooldown_s=cooldown_s)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            headers[API_KEY_HEADER] = api_key
        self._transport: Transport
        if transport is None and proxy is None and lean_eligible(urls):
            self._transport = LeanHttp(
                headers,
                timeout_s=_total_timeout(timeout),
                connect_timeout_s=timeout.connect if timeout.connect is not None else 10.0,
                max_connections=max_connections,
            )
        else:
            self._transport = HttpxTransport.create(
                headers,
                timeout=timeout,
                proxy=proxy,
                transport=transport,
                max_connections=max_connections,
            )
        self._read_rounds = max(1, read_rounds)
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s

    async def __aenter__(self) -> NodeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def __repr__(self) -> str:  # never shows the API key
        return f"NodeClient(urls={self.urls!r})"

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(n.url for n in self._pool.nodes)

    def health(self) -> tuple[NodeHealthView, ...]:
        return self._pool.views()

    # -- requests -------------------------------------------------------------------------------

    async def _post_once(
        self, node: NodeHealth, path: str, body: Mapping[str, Any], *, read: bool = True
    ) -> Any:
        """One POST to one node; returns parsed JSON or raises _Transient (or NodeRejected
        for a non-200 answer that is neither 429 nor 5xx)."""
        node.requests += 1
        if self._observer is None:
            return await self._exchange(node, path, body, read=read)
        started = time.perf_counter()
        outcome = "unavailable"
        try:
            data = await self._exchange(node, path, body, read=read)
            outcome = "rejected" if isinstance(data, dict) and "Error" in data else "ok"
            return data
        except NodeRejected:
            outcome = "rejected"
            raise
        finally:
            self._observer(node.url, path, outcome, time.perf_counter() - started)

    async def _exchange(
        self, node: NodeHealth, path: str, body: Mapping[str, Any], *, read: bool
    ) -> Any:
        try:
            resp = await self._transport.post_json(node.url + path, body, retry_stale=read)
        except TransportFailure as exc:
            raise _Transient(str(exc)) from exc
        status = resp.status_code
        if status == 429 or status >= 500:
            raise _Transient(f"http_{status}", _retry_after(resp))
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
            for node in self._pool.ordered():
                try:
                    data = await self._post_once(node, path, body)
                except _Transient as exc:
                    self._pool.mark_bad(node, exc.reason)
                    last_reason = exc.reason
                    if exc.retry_after is not None:
                        delay_hint = max(delay_hint or 0.0, exc.retry_after)
                    continue
                self._pool.mark_ok(node)
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

    async def _read_node(self, node: NodeHealth, path: str, body: Mapping[str, Any]) -> Any:
        """A read from one specific node, no failover; NodeUnavailable when it does not answer."""
        try:
            data = await self._post_once(node, path, body)
        except _Transient as exc:
            self._pool.mark_bad(node, exc.reason)
            raise NodeUnavailable(f"{node.url} did not answer {path}: {exc.reason}") from exc
        self._pool.mark_ok(node)
        if isinstance(data, dict) and "Error" in data:
            raise NodeRejected(str(data["Error"]), node=node.url, path=path)
        return data

    # -- blocks and node ------------------------------------------------------------------------

    async def now_block(self) -> BlockRef:
        return parse_block(await self._read("/wallet/getnowblock", {}), "getnowblock")

    async def block_by_number(self, number: int) -> BlockRef | None:
        data = await self._read("/wallet/getblockbynum", {"num": number})
        if not data:
            return None
        return parse_block(data, "getblockbynum")

    async def solid_block(self) -> BlockRef:
        return parse_block(await self._read("/walletsolidity/getnowblock", {}), "solid nowblock")

    async def heads(self) -> dict[str, int | None]:
        """Every configured node's head block number (``None`` for one that did not answer),
        asked of each node directly, in parallel: what a lag check compares."""

        async def one(node: NodeHealth) -> int | None:
            try:
                data = await self._read_node(node, "/wallet/getnowblock", {})
                return parse_block(data, "getnowblock").number
            except NodeError:
                return None

        numbers = await asyncio.gather(*(one(n) for n in self._pool.nodes))
        return {n.url: number for n, number in zip(self._pool.nodes, numbers, strict=True)}

    async def node_info(self) -> NodeInfo:
        return parse_node_info(await self._read("/wallet/getnodeinfo", {}))

    # -- accounts -------------------------------------------------------------------------------

    async def account(self, address: str, *, solid: bool = False) -> Account:
        prefix = "/walletsolidity" if solid else "/wallet"
        body = {"address": hex_address(address), "visible": False}
        return parse_account(address, await self._read(f"{prefix}/getaccount", body))

    async def account_resource(self, address: str) -> AccountResource:
        body = {"address": hex_address(address), "visible": False}
        return parse_account_resource(await self._read("/wallet/getaccountresource", body))

    # -- Stake 2.0 -------------------------------------------------------------------------------

    async def account_stake(self, address: str) -> AccountStake:
        """The account's Stake 2.0 position: stake per resource, delegated in and out, pending
        unstakes (``getaccount``)."""
        body = {"address": hex_address(address), "visible": False}
        return parse_account_stake(address, await self._read("/wallet/getaccount", body))

    async def delegations_from(self, owner: str, *, limit: int = 100) -> tuple[Delegation, ...]:
        """Every delegation record from ``owner`` (at most ``limit`` receivers are read)."""
        index = await self._read(
            "/wallet/getdelegatedresourceaccountindexv2",
            {"value": hex_address(owner), "visible": False},
        )
        receivers = parse_delegation_index(index)[:limit]

        async def one(receiver: str) -> tuple[Delegation, ...]:
            body = {"fromAddress": hex_address(owner), "toAddress": receiver, "visible": False}
            return parse_delegations(await self._read("/wallet/getdelegatedresourcev2", body))

        found = await asyncio.gather(*(one(r) for r in receivers))
        return tuple(d for records in found for d in records)

    async def can_withdraw_unfreeze_amount(self, owner: str, timestamp_ms: int) -> int:
        """Unstaked TRX (sun) whose wait is over at ``timestamp_ms``."""
        body = {"owner_address": hex_address(owner), "timestamp": timestamp_ms, "visible": False}
        data = as_dict(
            await self._read("/wallet/getcanwithdrawunfreezeamount", body),
            "getcanwithdrawunfreezeamount",
        )
        return parse_int(data.get("amount"))

    async def available_unfreeze_count(self, owner: str) -> int:
        """How many more unstakes the account may start (java-tron allows 32 pending)."""
        body = {"owner_address": hex_address(owner), "visible": False}
        data = as_dict(
            await self._read("/wallet/getavailableunfreezecount", body),
            "getavailableunfreezecount",
        )
        return parse_int(data.get("count"))

    async def chain_parameters(self) -> ChainParameters:
        return parse_chain_parameters(await self._read("/wallet/getchainparameters", {}))

    # -- contracts ------------------------------------------------------------------------------

    async def trigger_constant(
        self, owner: str | None, contract: str, data: bytes, *, solid: bool = False
    ) -> ConstantResult:
        """Run a view call with full calldata (selector + arguments)."""
        body: dict[str, Any] = {
            "contract_address": hex_address(contract),
            "data": data.hex(),
            "visible": False,
        }
        if owner is not None:
            body["owner_address"] = hex_address(owner)
        prefix = "/walletsolidity" if solid else "/wallet"
        return parse_constant_result(await self._read(f"{prefix}/triggerconstantcontract", body))

    async def call_view(self, owner: str | None, contract: str, data: bytes) -> bytes:
        """A view call that must succeed; returns its first 32-byte-word output."""
        res = await self.trigger_constant(owner, contract, data)
        if not res.ok or not res.first:
            raise NodeRejected(f"view call failed: {res.message}", contract=contract)
        return res.first

    async def estimate_energy(self, owner: str, contract: str, data: bytes) -> int:
        """Energy a contract call needs: ``estimateenergy``, else ``triggerconstantcontract``."""
        body = {
            "owner_address": hex_address(owner),
            "contract_address": hex_address(contract),
            "data": data.hex(),
            "visible": False,
        }
        try:
            resp = as_dict(await self._read("/wallet/estimateenergy", body), "estimateenergy")
        except NodeRejected:
            resp = {}
        result = resp.get("result") or {}
        if isinstance(result, dict) and result.get("result") and "energy_required" in resp:
            return parse_int(resp.get("energy_required"))
        fallback = await self.trigger_constant(owner, contract, data)
        if not fallback.ok:
            raise NodeRejected(f"energy estimate failed: {fallback.message}", contract=contract)
        return fallback.energy_used + fallback.energy_penalty

    async def token_balance(self, token: str, owner: str) -> int:
        """TRC20 ``balanceOf(owner)`` in base units."""
        out = await self.call_view(owner, token, abi.balance_of_call(owner))
        return decode_word(abi.decode_uint256, out[:32])

    async def token_decimals(self, token: str) -> int:
        out = await self.call_view(None, token, abi.decimals_call())
        return decode_word(abi.decode_uint256, out[:32])

    async def is_blacklisted(self, token: str, addr: str) -> bool:
        """Tether's ``isBlackListed(addr)``."""
        out = await self.call_view(None, token, abi.is_blacklisted_call(addr))
        return decode_word(abi.decode_bool, out[:32])

    # -- transactions ---------------------------------------------------------------------------

    async def broadcast_hex(self, tx_bytes: bytes, txid: str) -> BroadcastOutcome:
        """Offer a signed, serialized ``Transaction`` to the nodes (no delays, no exceptions).

        Nodes are tried in health order until one gives a definitive answer; if none does the
        outcome is UNKNOWN. A returned txid different from ours is a BUG.
        """
        body = {"transaction": tx_bytes.hex()}
        unknown: BroadcastOutcome | None = None
        for node in self._pool.ordered():
            outcome = await self._broadcast_one(node, body, txid)
            if outcome.kind is not BroadcastKind.UNKNOWN:
                return outcome
            unknown = unknown or outcome
        assert unknown is not None  # noqa: S101 - at least one node is configured
        return unknown

    async def _broadcast_one(
        self, node: NodeHealth, body: Mapping[str, Any], txid: str
    ) -> BroadcastOutcome:
        try:
            data = await self._post_once(node, "/wallet/broadcasthex", body, read=False)
        except _Transient as exc:
            self._pool.mark_bad(node, exc.reason)
            return BroadcastOutcome(BroadcastKind.UNKNOWN, txid, exc.reason, "", node.url)
        except NodeRejected as exc:
            return BroadcastOutcome(BroadcastKind.UNKNOWN, txid, "http_error", exc.detail, node.url)
        self._pool.mark_ok(node)
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
        return parse_transaction(data)

    async def transaction_info(self, txid: str, *, solid: bool = False) -> TransactionInfo | None:
        prefix = "/walletsolidity" if solid else "/wallet"
        data = await self._read(f"{prefix}/gettransactioninfobyid", {"value": txid})
        if not data:
            return None
        return parse_info(data, "gettransactioninfobyid")

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
        return tuple(parse_info(item) for item in data)

    async def txid_presence(self, txid: str) -> TxidPresence:
        """Ask EVERY configured node whether it knows ``txid`` (pool/block and solidified).

        A node that cannot be reached lands in ``unreachable``: it proves nothing.
        """
        nodes = self._pool.nodes
        states = await asyncio.gather(*(self._presence_on(n, txid) for n in nodes))

        def on(state: _Presence) -> tuple[str, ...]:
            return tuple(n.url for n, s in zip(nodes, states, strict=True) if s is state)

        return TxidPresence(
            txid, on(_Presence.KNOWN), on(_Presence.UNKNOWN), on(_Presence.UNREACHABLE)
        )

    async def _presence_on(self, node: NodeHealth, txid: str) -> _Presence:
        try:
            tx = await self._read_node(node, "/wallet/gettransactionbyid", {"value": txid})
            if tx:
                return _Presence.KNOWN
            info = await self._read_node(
                node, "/walletsolidity/gettransactioninfobyid", {"value": txid}
            )
            if info:
                return _Presence.KNOWN
            info = await self._read_node(node, "/wallet/gettransactioninfobyid", {"value": txid})
        except NodeError:
            return _Presence.UNREACHABLE
        return _Presence.KNOWN if info else _Presence.UNKNOWN
