"""The hot path of ``POST /v1/payouts`` as plain ASGI, in front of FastAPI's router.

Creating payouts is the one request our users send by the thousand, and FastAPI's machinery
around it (exception and exit-stack middleware, route matching over every route, dependency
solving, body validation, response building) cost more CPU than the create itself. This
middleware answers an ordinary create without it, through the SAME code the endpoint uses:
the token verifier, ``idempotency.check_key``, the ``PayoutCreate`` model,
``service.create_payout`` (the group-commit writer) and the app's error rendering. It sits
inside the request-id and body-limit middleware, so those apply to it as to every route.

It only answers what it is sure of: a POST to exactly ``/v1/payouts`` with a JSON content
type, a bearer token that verifies and grants ``payouts:write``, a valid Idempotency-Key and
a body the model accepts, acting in the token's own tenant. Anything else (an ``X-Tenant``
header, no or bad token, missing scope, bad key, bad JSON, invalid fields, a body over the
limit) goes on to the FastAPI route unchanged (the body it read is handed on), so every error
response keeps coming from one place and the OpenAPI document still describes the route.
``AppState.payout_fast_lane = False`` turns it off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tronpay.api import idempotency
from tronpay.api.middleware import replay_receive
from tronpay.api.problems import error_response
from tronpay.auth import Principal
from tronpay.auth import Scope as AuthScope
from tronpay.errors import TronpayError
from tronpay.kit import jsontext
from tronpay.observability.http import ROUTE_KEY
from tronpay.payouts import service
from tronpay.payouts.schemas import PayoutCreate
from tronpay.payouts.states import Actor
from tronpay.payouts.writer import CreateOutcome, respond_headers
from tronpay.state import AppState

PATH: Final = "/v1/payouts"
_REQUIRED: Final = (AuthScope.PAYOUTS_WRITE,)
_JSON_TYPES: Final = (b"application/json",)
_JSON_MEDIA_TYPE: Final = b"application/json"


class PayoutCreateLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.answered = 0  # creates answered here (tests check the lane is really used)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != PATH
            or not isinstance(scope["app"].state, AppState)
            or not scope["app"].state.payout_fast_lane
        ):
            await self.app(scope, receive, send)
            return
        token, key, json_body = _headers(scope)
        if token is None or key is None or not json_body:
            await self.app(scope, receive, send)
            return
        try:
            body, tail = await _read_body(receive)
        except TronpayError as exc:  # over the body limit: the route reports it
            await self.app(scope, _failing(exc), send)
            return
        handed_on = replay_receive(body, tail, receive)
        state: AppState = scope["app"].state
        accepted = _accepted(state, token, key, body)
        if accepted is None:
            await self.app(scope, handed_on, send)
            return
        actor = Actor(
            principal=accepted.principal.subject,
            request_id=scope.get("state", {}).get("request_id"),
            tenant=accepted.principal.tenant,
        )
        self.answered += 1
        scope[ROUTE_KEY] = PATH  # the request metrics' route label, as the router would give
        try:
            outcome = await service.create_payout(
                state.payout_context, state.payout_writer, accepted.create, actor=actor, key=key
            )
        except TronpayError as exc:  # refused before the writer (e.g. the hot wallet)
            await error_response(Request(scope), exc)(scope, handed_on, send)
            return
        if outcome.failure is not None:
            raise RuntimeError("the payout could not be written") from outcome.failure
        if outcome.error is not None:
            await error_response(Request(scope), outcome.error)(scope, handed_on, send)
            return
        await _send_json(send, outcome.status, jsontext.dumps_bytes(outcome.body), outcome)


async def _send_json(send: Send, status: int, payload: bytes, outcome: CreateOutcome) -> None:
    """The answer as JSONResponse sends it (the same headers, in the same order), without
    building one: the bytes are orjson's (``kit/jsontext``), the headers ``respond_headers``."""
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in respond_headers(outcome).items()
    ]
    headers.append((b"content-length", str(len(payload)).encode("latin-1")))
    headers.append((b"content-type", _JSON_MEDIA_TYPE))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _headers(scope: Scope) -> tuple[str | None, str | None, bool]:
    """The bearer token, the Idempotency-Key and whether the body is JSON; ``None`` for a
    header that is missing, repeated or not in its plain form. A request naming a tenant
    (``X-Tenant``) is the route's: crossing tenants is checked and audited there."""
    token: str | None = None
    key: str | None = None
    content_type: bytes | None = None
    seen: set[bytes] = set()
    for name, value in scope["headers"]:
        if name == b"x-tenant":
            return None, None, False
        if name in (b"authorization", b"idempotency-key", b"content-type"):
            if name in seen:
                return None, None, False
            seen.add(name)
            if name == b"authorization":
                scheme, _, credentials = bytes(value).decode("latin-1").partition(" ")
                token = credentials if scheme.lower() == "bearer" and credentials else None
            elif name == b"idempotency-key":
                key = bytes(value).decode("latin-1")
            else:
                content_type = bytes(value).split(b";", 1)[0].strip().lower()
    return token, key, content_type in _JSON_TYPES


@dataclass(frozen=True, slots=True)
class _Accepted:
    principal: Principal
    create: PayoutCreate


def _accepted(state: AppState, token: str, key: str, body: bytes) -> _Accepted | None:
    """The principal and the parsed body when the request is one the lane answers."""
    try:
        principal = state.jwt_verifier.verify(token)
        if principal.missing(_REQUIRED):
            return None
        if idempotency.check_key(key, required=True) != key:
            return None
        # As FastAPI reads a JSON body: json.loads, then the model in Python mode.
        create = PayoutCreate.model_validate(json.loads(body))
    except Exception:  # anything unusual is the route's to answer
        return None
    return _Accepted(principal, create)


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body; and a disconnect met while reading it (handed on after the body)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _failing(error: TronpayError) -> Receive:
    async def receive() -> Message:
        raise error

    return receive


__all__ = ["PATH", "PayoutCreateLane"]
