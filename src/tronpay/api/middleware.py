"""Pure ASGI middleware: request ids, body-size limits and the last-resort 500.

``RequestContextMiddleware`` reads ``X-Request-ID`` (or makes one), stores it on
``request.state.request_id``, binds it to structlog's context, echoes it on the response and
turns any exception that escaped every handler into a problem+json 500 that reveals nothing.

``BodyLimitMiddleware`` refuses bodies over the limit for their media type (413,
``payload_too_large``): early from ``Content-Length``; a body sent without one (chunked) is
read here first, up to the limit, and handed on whole.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable
from typing import Final

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tronpay.api.errors import PayloadTooLarge
from tronpay.api.problems import internal_error, render_error
from tronpay.errors import ValidationFailed
from tronpay.kit.ids import new_ulid

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER: Final = "x-request-id"
_REQUEST_ID_NAME: Final = REQUEST_ID_HEADER.encode()
_SAFE_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9._:\-]{1,100}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _has_nul(scope: Scope) -> bool:
    """NUL can never be stored (PostgreSQL text refuses it): refuse it at the door, raw or
    percent-encoded (``%00`` has no letters, so no case to fold)."""
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    query = scope.get("query_string", b"")
    return (
        b"\x00" in raw_path
        or b"%00" in raw_path
        or b"\x00" in query
        or b"%00" in query
        or "\x00" in scope.get("path", "")
    )


# Called once per answered request with the scope (after the app ran, so the matched route
# is in it), the response status and the seconds it took (the request metrics).
RequestObserver = Callable[[Scope, int, float], None]


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, observe: RequestObserver | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, _REQUEST_ID_NAME)
        request_id = (
            incoming if incoming and _SAFE_REQUEST_ID.fullmatch(incoming) else f"req_{new_ulid()}"
        )
        scope.setdefault("state", {})["request_id"] = request_id
        # Sent from here, outside ``send_with_id``: the request id header goes on by hand.
        id_header = {"X-Request-ID": request_id}
        if _has_nul(scope):
            refusal = ValidationFailed(
                "NUL characters are not allowed in the path or query string", errors=[]
            )
            await render_error(refusal, request_id, id_header)(scope, receive, send)
            return
        started = False
        status = 500
        began = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                # A new list on a new message: the response's own header list stays as it is.
                headers = [*message.get("headers", ()), (_REQUEST_ID_NAME, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        # bind + reset by token: cheaper than ``bound_contextvars`` (which copies the whole
        # context to save and restore keys) on every request.
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # the last resort: log, never leak
            # Frames only (file, line, function): no exception message and no locals,
            # which could carry a token or a key.
            frames = [
                f"{frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(exc.__traceback__)[-8:]
            ]
            log.error(
                "api.unhandled_exception",
                error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
                path=scope.get("path"),
                frames=frames,
            )
            if not started:
                await render_error(internal_error(), request_id, id_header)(scope, receive, send)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
            if self.observe is not None:
                self.observe(scope, status, time.perf_counter() - began)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_json_bytes: int, max_csv_bytes: int) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_csv_bytes = max_csv_bytes

    def _limit_and_length(self, scope: Scope) -> tuple[int, str | None]:
        """The body limit for the content type, and the declared length (one header pass)."""
        content_type = b""
        declared: str | None = None
        for key, value in scope.get("headers", ()):
            if key == b"content-type":
                content_type = bytes(value).lower()
            elif key == b"content-length":
                declared = bytes(value).decode("latin-1")
        limit = self.max_csv_bytes if content_type.startswith(b"text/csv") else self.max_json_bytes
        return limit, declared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, declared = self._limit_and_length(scope)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_too_large(scope, receive, send, limit)
            return
        if declared is None:
            # A streamed (chunked) body: read it here, so that one over the limit is a 413
            # too (raised inside a route's body parsing it would become FastAPI's 400).
            body, tail, too_large = await _read_up_to(receive, limit)
            if too_large:
                await _send_too_large(scope, receive, send, limit)
                return
            await self.app(scope, replay_receive(body, tail, receive), send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
            return message

        await self.app(scope, limited_receive, send)


async def _send_too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    """The 413, sent through the request-id middleware's ``send`` (which adds the header)."""
    request_id = scope.get("state", {}).get("request_id")
    refusal = PayloadTooLarge(f"the request body is larger than {limit} bytes")
    response = render_error(refusal, request_id if isinstance(request_id, str) else None)
    await response(scope, receive, send)


async def _read_up_to(receive: Receive, limit: int) -> tuple[bytes, Message | None, bool]:
    """The whole body (or ``too_large`` as soon as it passes ``limit``), and a disconnect
    met while reading it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message, False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", None, True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None, False


def replay_receive(body: bytes, tail: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` (read already) in one message, then ``tail`` (a
    disconnect met while reading), then whatever ``receive`` gives."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if tail is not None:
        pending.append(tail)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
