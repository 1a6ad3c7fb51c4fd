"""The devnet HTTP server: java-tron's ``/wallet/*`` and ``/walletsolidity/*`` plus ``/admin/*``.

``create_app(chain, block_time_s=..., faults=...)`` returns a Starlette app. Every java-tron
endpoint answers POST with a JSON body and GET with query parameters (the broadcast endpoints are
POST-only, as on java-tron); ``visible`` selects base58 (true) or hex (false, the default)
addresses both ways. Malformed requests get java-tron's ``{"Error": "..."}`` with HTTP 200;
unknown paths get 404. The endpoints themselves are in ``wallet_api``; this module is the ASGI
front: routing, body limits, error mapping, the transport faults and the block timer.

A background task produces a block every ``block_time_s`` seconds (0 = only on demand through
``POST /admin/blocks``). Fault injection (see ``faults.py``) wraps every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl

import structlog
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from tron_devnet.admin import DevnetRuntime, admin_routes
from tron_devnet.core.chain import Chain, ChainError
from tron_devnet.core.crypto import AddressError
from tron_devnet.faults import TRANSPORT_MODES, FaultPlan
from tron_devnet.views import BadRequest, RequestArgs, error_view
from tron_devnet.wallet_api import FULL_NODE, POST_ONLY, SOLIDITY_NODE, Call

log = structlog.get_logger("tron_devnet.server")

MAX_BODY_BYTES = 4 * 1024 * 1024


class ResponseLost(ConnectionError):
    """Raised (in-process transports only) when a lose_response fault drops the answer."""


def _parse_params(method: str, query_string: bytes, body: bytes) -> dict[str, Any]:
    """java-tron reads GET parameters from the query string and POST ones from a JSON body
    (an empty POST body falls back to the query string)."""
    if method == "GET" or not body.strip():
        return dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


_JSON_HEADERS = [(b"content-type", b"application/json")]
_TEXT_HEADERS = [(b"content-type", b"text/plain")]


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def serve_wallet(
    rt: DevnetRuntime, scope: Scope, receive: Receive, send: Send, *, solid: bool
) -> None:
    """The java-tron API as a bare ASGI handler: no routing table, no Request object."""
    path: str = scope["path"]
    table = SOLIDITY_NODE if solid else FULL_NODE
    handler = table.get(path.rstrip("/").rsplit("/", 1)[-1].lower())
    if handler is None or path.count("/") > 2 + path.endswith("/"):
        await _send(send, 404, b"Not Found", _TEXT_HEADERS)
        return
    method: str = scope["method"]
    if method not in {"GET", "POST"} or (method == "GET" and handler in POST_ONLY):
        await _send(send, 405, b"Method Not Allowed", _TEXT_HEADERS)
        return
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            await _send(send, 413, b"Payload Too Large", _TEXT_HEADERS)
            return
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    try:
        params = _parse_params(method, scope.get("query_string", b""), b"".join(chunks))
        result = await handler(Call(rt, RequestArgs(params), solid, path))
    except (BadRequest, AddressError) as exc:
        result = error_view(str(exc))
    except ChainError as exc:
        result = error_view(f"{exc.code} : {exc.message}")
    except Exception as exc:  # java-tron's servlets turn every exception into {"Error"}
        log.exception("devnet.request.failed", path=path)
        result = error_view(f"class {type(exc).__name__} : {exc}")
    await _send(send, 200, json.dumps(result, separators=(",", ":")).encode(), _JSON_HEADERS)


class DevnetApp(Starlette):
    """Starlette for /admin; the java-tron API and the fault wrapper run as bare ASGI in front
    (the wrapper needs the server's raw ``send`` to drop a connection)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            rt: DevnetRuntime = self.state.runtime
            # the control plane (/admin) never misbehaves: a fault must always be clearable
            if rt.faults.active and not scope["path"].startswith("/admin/"):
                rule = rt.faults.pick(scope["path"], TRANSPORT_MODES)
                if rule is not None:
                    log.info("devnet.fault.fired", mode=rule.mode, path=scope["path"])
                    await self._fault(rule.mode, rule.seconds, scope, receive, send)
                    return
            await self._dispatch(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path.startswith("/wallet/"):
            await serve_wallet(self.state.runtime, scope, receive, send, solid=False)
        elif path.startswith("/walletsolidity/"):
            await serve_wallet(self.state.runtime, scope, receive, send, solid=True)
        else:
            await super().__call__(scope, receive, send)

    async def _fault(
        self, mode: str, seconds: float, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if mode in {"http_500", "http_502"}:
            status = 500 if mode == "http_500" else 502
            text = b"Internal Server Error" if status == 500 else b"Bad Gateway"
            await _send(send, status, text, _TEXT_HEADERS)
            return
        if mode == "hang":
            await asyncio.sleep(seconds)
            await self._dispatch(scope, receive, send)
            return
        # lose_response: serve the request for real, then drop the connection unanswered.

        async def swallow(message: Message) -> None:
            return None

        await self._dispatch(scope, receive, swallow)
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is None:
            raise ResponseLost("devnet fault lose_response: connection dropped")
        transport.close()
        # let connection_lost run so the server knows no response is owed
        for _ in range(3):
            await asyncio.sleep(0)


async def _block_producer(rt: DevnetRuntime) -> None:
    while True:
        await asyncio.sleep(rt.block_time_s)
        try:
            async with rt.lock:
                block = rt.chain.produce_block(detail=False)
        except Exception:  # the producer must survive a bad block; the error is logged
            log.exception("devnet.block.failed")
            continue
        header = block.get("block_header", {}).get("raw_data", {})
        log.debug(
            "devnet.block.produced", number=header.get("number"), block_id=block.get("blockID")
        )


def create_app(
    chain: Chain,
    *,
    block_time_s: float,
    faults: FaultPlan | None = None,
    reset_factory: Callable[[], Chain] | None = None,
) -> Starlette:
    """The devnet ASGI app. ``reset_factory`` rebuilds the chain for ``POST /admin/reset``
    (default: replay the state ``chain`` has now)."""
    if reset_factory is None:
        snapshot = chain.export_state()

        def reset_factory() -> Chain:
            return Chain.from_state(snapshot)

    runtime = DevnetRuntime(
        chain=chain,
        reset_factory=reset_factory,
        block_time_s=block_time_s,
        faults=faults or FaultPlan(),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = None
        if block_time_s > 0:
            task = asyncio.create_task(_block_producer(runtime), name="devnet-block-producer")
        log.info("devnet.started", head=runtime.chain.head_number, block_time_s=block_time_s)
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            log.info("devnet.stopped", head=runtime.chain.head_number)

    app = DevnetApp(routes=admin_routes(), lifespan=lifespan)
    app.state.runtime = runtime
    return app


def runtime_of(app: Starlette) -> DevnetRuntime:
    runtime: DevnetRuntime = app.state.runtime
    return runtime
