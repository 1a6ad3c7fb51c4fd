"""The one place that renders errors: ``application/problem+json`` (RFC 9457) bodies with
``type``, ``title``, ``status``, ``detail``, ``code`` and ``request_id``."""

from __future__ import annotations

from typing import Any, Final

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tronpay.errors import TronpayError

log = structlog.get_logger(__name__)

PROBLEM_JSON: Final = "application/problem+json"

_HTTP_CODES: Final[dict[int, tuple[str, str]]] = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
}


class PayloadTooLarge(TronpayError):
    code = "payload_too_large"
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(TronpayError):
    code = "unsupported_media_type"
    status = 415
    title = "Unsupported media type"


def request_id_of(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def problem_response(
    body: dict[str, Any], status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_body(
    *, code: str, title: str, status: int, detail: str, request_id: str | None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://tronpay.dev/problems/{code.replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id,
    }
    body.update(extra)
    return body


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


def error_response(request: Request, exc: TronpayError) -> JSONResponse:
    """The response for a ``TronpayError`` (the exception handler's, for direct use)."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if exc.status >= 500:
        log.error("api.error", code=exc.code, error_type=type(exc).__name__)
    return problem_response(exc.problem(request_id_of(request)), exc.status, headers)


async def _tronpay_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TronpayError)  # noqa: S101 - registered for this type only
    return error_response(request, exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    errors = _field_errors(exc)
    detail = "; ".join(f"{e['field'] or e['location']}: {e['message']}" for e in errors[:5])
    body = problem_body(
        code="validation_error",
        title="The request is not valid",
        status=422,
        detail=detail or "the request is not valid",
        request_id=request_id_of(request),
        errors=errors,
    )
    return problem_response(body, 422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
    code, title = _HTTP_CODES.get(exc.status_code, ("http_error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    body = problem_body(
        code=code,
        title=title,
        status=exc.status_code,
        detail=detail,
        request_id=request_id_of(request),
    )
    return problem_response(body, exc.status_code, dict(exc.headers or {}))


def internal_error_body(request_id: str | None) -> dict[str, Any]:
    return problem_body(
        code="internal_error",
        title="Internal error",
        status=500,
        detail="an unexpected error occurred; quote the request_id when reporting it",
        request_id=request_id,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TronpayError, _tronpay_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
