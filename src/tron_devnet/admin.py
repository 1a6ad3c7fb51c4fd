"""Devnet runtime state and the ``/admin/*`` control endpoints.

``DevnetRuntime`` is what one running devnet holds: the chain (replaced on reset), the fault
plan, the asyncio lock serializing chain mutations and the factory that rebuilds genesis.

Admin calls speak plain JSON (not java-tron's shapes). Addresses are accepted as base58 or hex;
amounts must be JSON integers >= 0 (floats, strings, booleans and negatives are a 400).
Errors are ``{"error": "<code>", "message": "..."}`` with HTTP 400 (404 for an unknown path).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tron_devnet.core.chain import Chain, ChainError
from tron_devnet.core.crypto import AddressError
from tron_devnet.faults import FaultPlan, FaultSpecError
from tron_devnet.views import parse_any_address

log = structlog.get_logger("tron_devnet.admin")

MAX_BLOCKS_PER_CALL = 10_000


@dataclass
class DevnetRuntime:
    chain: Chain
    reset_factory: Callable[[], Chain]
    block_time_s: float = 3.0
    faults: FaultPlan = field(default_factory=FaultPlan)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def produce_blocks(self, count: int) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        async with self.lock:
            for _ in range(count):
                blocks.append(self.chain.produce_block(detail=False))
        return blocks

    async def reset(self) -> None:
        async with self.lock:
            self.chain = self.reset_factory()
            self.faults = FaultPlan(seed=self.faults.seed)
        log.info("devnet.reset", head=self.chain.head_number)


class AdminRequestError(Exception):
    def __init__(self, message: str, code: str = "bad_request", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def json_response(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=status,
        media_type="application/json",
    )


def _runtime(request: Request) -> DevnetRuntime:
    runtime: DevnetRuntime = request.app.state.runtime
    return runtime


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AdminRequestError("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise AdminRequestError("request body must be a JSON object")
    return data


def _amount(body: dict[str, Any], name: str) -> int:
    value = body.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise AdminRequestError(f"{name} must be an integer (base units)")
    if value < 0:
        raise AdminRequestError(f"{name} must not be negative")
    return value


def _address(body: dict[str, Any]) -> str:
    if "address" not in body:
        raise AdminRequestError("address is required")
    try:
        return parse_any_address(body["address"])
    except AddressError:
        raise AdminRequestError(f"invalid address {body['address']!r}") from None


async def mint(request: Request) -> Response:
    body = await _body(request)
    rt = _runtime(request)
    address = _address(body)
    trx_sun = _amount(body, "trx_sun")
    usdt_units = _amount(body, "usdt_units")
    async with rt.lock:
        rt.chain.mint(address, trx_sun=trx_sun, usdt_units=usdt_units)
        account = rt.chain.account_json(address)
    log.info("devnet.admin.mint", address=address, trx_sun=trx_sun, usdt_units=usdt_units)
    return json_response(
        {"address": address, "trx_sun": trx_sun, "usdt_units": usdt_units, "account": account}
    )


async def blocks(request: Request) -> Response:
    body = await _body(request)
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise AdminRequestError("count must be an integer >= 1")
    if count > MAX_BLOCKS_PER_CALL:
        raise AdminRequestError(f"count must be <= {MAX_BLOCKS_PER_CALL}")
    rt = _runtime(request)
    produced = await rt.produce_blocks(count)
    return json_response(
        {
            "head": rt.chain.head_number,
            "solidified": rt.chain.solid_number,
            "blocks": [b.get("blockID") for b in produced],
        }
    )


MAX_ADVANCE_MS = 366 * 86_400_000


async def advance_time(request: Request) -> Response:
    """Move chain time forward by ``advance_s`` seconds (or ``advance_ms``): one block is sealed
    that much after the head, and later blocks continue from there."""
    body = await _body(request)
    if ("advance_s" in body) == ("advance_ms" in body):
        raise AdminRequestError("give exactly one of advance_s or advance_ms")
    key = "advance_s" if "advance_s" in body else "advance_ms"
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AdminRequestError(f"{key} must be an integer >= 1")
    ms = value * 1000 if key == "advance_s" else value
    if ms > MAX_ADVANCE_MS:
        raise AdminRequestError("at most 366 days at a time")
    rt = _runtime(request)
    async with rt.lock:
        block = rt.chain.advance_time(ms)
        head_ts = rt.chain.head_timestamp
    log.info("devnet.admin.time_advanced", advance_ms=ms, head_timestamp=head_ts)
    return json_response(
        {
            "head": rt.chain.head_number,
            "head_timestamp": head_ts,
            "solidified": rt.chain.solid_number,
            "block": block.get("blockID"),
        }
    )


async def ledger(request: Request) -> Response:
    return json_response(_runtime(request).chain.ledger())


async def faults_get(request: Request) -> Response:
    return json_response(_runtime(request).faults.to_json())


async def faults_set(request: Request) -> Response:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AdminRequestError("request body is not valid JSON") from None
    rt = _runtime(request)
    try:
        plan = FaultPlan.from_json(data, default_seed=rt.faults.seed)
    except FaultSpecError as exc:
        raise AdminRequestError(str(exc), code="invalid_faults") from None
    rt.faults = plan
    log.info("devnet.admin.faults_set", rules=len(plan.rules), seed=plan.seed)
    return json_response(plan.to_json())


async def faults_clear(request: Request) -> Response:
    rt = _runtime(request)
    rt.faults = FaultPlan(seed=rt.faults.seed)
    log.info("devnet.admin.faults_cleared")
    return json_response(rt.faults.to_json())


async def blacklist(request: Request) -> Response:
    body = await _body(request)
    address = _address(body)
    listed = body.get("listed", True)
    if not isinstance(listed, bool):
        raise AdminRequestError("listed must be a boolean")
    rt = _runtime(request)
    async with rt.lock:
        rt.chain.blacklist(address, listed)
    log.info("devnet.admin.blacklist", address=address, listed=listed)
    return json_response({"address": address, "listed": listed})


async def reset(request: Request) -> Response:
    rt = _runtime(request)
    await rt.reset()
    return json_response({"head": rt.chain.head_number, "solidified": rt.chain.solid_number})


async def state(request: Request) -> Response:
    rt = _runtime(request)
    body = dict(rt.chain.state_json())
    body["block_time_s"] = rt.block_time_s
    body["faults"] = rt.faults.to_json()
    return json_response(body)


def _guarded(
    handler: Callable[[Request], Any],
) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        try:
            response: Response = await handler(request)
        except AdminRequestError as exc:
            return json_response({"error": exc.code, "message": exc.message}, exc.status)
        except ChainError as exc:
            return json_response({"error": exc.code, "message": exc.message}, 400)
        return response

    endpoint.__name__ = getattr(handler, "__name__", "endpoint")
    return endpoint


def admin_routes() -> list[Route]:
    return [
        Route("/admin/mint", _guarded(mint), methods=["POST"]),
        Route("/admin/blocks", _guarded(blocks), methods=["POST"]),
        Route("/admin/time", _guarded(advance_time), methods=["POST"]),
        Route("/admin/ledger", _guarded(ledger), methods=["GET"]),
        Route("/admin/faults", _guarded(faults_get), methods=["GET"]),
        Route("/admin/faults", _guarded(faults_set), methods=["POST", "PUT"]),
        Route("/admin/faults", _guarded(faults_clear), methods=["DELETE"]),
        Route("/admin/blacklist", _guarded(blacklist), methods=["POST"]),
        Route("/admin/reset", _guarded(reset), methods=["POST"]),
        Route("/admin/state", _guarded(state), methods=["GET"]),
    ]
