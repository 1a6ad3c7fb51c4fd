"""The one place that renders errors as ``application/problem+json`` (RFC 9457) responses.

Every body comes from ``tronpay.errors.problem_body`` (``type``, ``title``, ``status``,
``detail``, ``code``, ``request_id`` and any extra members) and every response from
``problem_response``. ``render_error`` turns a ``TronpayError`` into its response and keeps
the headers the error carries (a 401's ``WWW-Authenticate`` challenge, a 405's ``Allow``).
The exception handlers installed here, the create fast lane (``error_response``) and the
request middleware (request-id refusals, body limits, the last-resort 500) all use it, so an
error looks the same whichever layer refused the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tronpay.api.errors import (
    BadRequest,
    MethodNotAllowed,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from tronpay.errors import (
    AuthenticationRequired,
    Forbidden,
    NotFound,
    TronpayError,
    ValidationFailed,
    problem_body,
)

log = structlog.get_logger(__name__)

PROBLEM_JSON: Final = "application/problem+json"
INTERNAL_ERROR_DETAIL: Final = (
    "an unexpected error occurred; quote the request_id when reporting it"
)

# Starlette's HTTP exceptions, by status, as the errors they render as.
HTTP_ERRORS: Final[Mapping[int, type[TronpayError]]] = {
    error.status: error
    for error in (
        BadRequest,
        AuthenticationRequired,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        NotAcceptable,
        PayloadTooLarge,
        UnsupportedMediaType,
    )
}
SEND_JSON: Final = "send the body with Content-Type: application/json"
_HTTP_ERROR_CODE: Final = "http_error"
_HTTP_ERROR_TITLE: Final = "HTTP error"


def request_id_of(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def problem_response(
    body: dict[str, Any], status: int, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A problem+json response for a body built by ``problem_body``."""
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def render_error(
    exc: TronpayError, request_id: str | None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The response for ``exc``, with the headers it carries and then ``headers``.

    A 401 always challenges (RFC 6750 section 3): one that carries no ``WWW-Authenticate``
    of its own gets a bare ``Bearer``.
    """
    response_headers = dict(exc.headers)
    if exc.status == 401 and not any(k.lower() == "www-authenticate" for k in response_headers):
        response_headers["WWW-Authenticate"] = "Bearer"
    if headers:
        response_headers.update(headers)
    return problem_response(exc.problem(request_id), exc.status, response_headers or None)


def error_response(request: Request, exc: TronpayError) -> JSONResponse:
    """The response for a ``TronpayError`` raised while serving ``request`` (the exception
    handler's, for direct use by the fast lane). Server errors are logged, without detail."""
    if exc.status >= 500:
        log.error("api.error", code=exc.code, error_type=type(exc).__name__)
    return render_error(exc, request_id_of(request))


def internal_error() -> TronpayError:
    """The error behind every unexplained 500: it reveals nothing but its request id."""
    return TronpayError(INTERNAL_ERROR_DETAIL)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        entry: dict[str, Any] = {
            "field": ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc),
            "location": loc[0] if loc else None,
            "type": error.get("type"),
            "message": error.get("msg"),
        }
        ctx = error.get("ctx") or {}
        reason = ctx.get("reason")
        if isinstance(reason, str):
            entry["reason"] = reason
        errors.append(entry)
    return errors


async def _tronpay_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TronpayError)  # noqa: S101 - registered for this type only
    return error_response(request, exc)


def _json_content_type(request: Request) -> bool:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _body_not_json(request: Request, exc: RequestValidationError) -> bool:
    """The body as a whole was refused (not an object, or absent) and the request did not say
    it is JSON: FastAPI reads a body as JSON only when it is labelled so (``curl -d`` labels
    it a form), so the fix is the header, not the body."""
    if _json_content_type(request):
        return False
    return any(tuple(error.get("loc", ())) == ("body",) for error in exc.errors())


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    if _body_not_json(request, exc):
        return render_error(UnsupportedMediaType(SEND_JSON), request_id_of(request))
    errors = _field_errors(exc)
    detail = "; ".join(f"{e['field'] or e['location']}: {e['message']}" for e in errors[:5])
    failed = ValidationFailed(detail or "the request is not valid", errors=errors)
    return render_error(failed, request_id_of(request))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
    headers = dict(exc.headers or {})
    error = HTTP_ERRORS.get(exc.status_code)
    if error is None:
        body = problem_body(
            code=_HTTP_ERROR_CODE,
            title=_HTTP_ERROR_TITLE,
            status=exc.status_code,
            detail=exc.detail if isinstance(exc.detail, str) else _HTTP_ERROR_TITLE,
            request_id=request_id_of(request),
        )
        return problem_response(body, exc.status_code, headers)
    detail = exc.detail if isinstance(exc.detail, str) else error.title
    return render_error(error(detail, headers=headers), request_id_of(request))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TronpayError, _tronpay_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
