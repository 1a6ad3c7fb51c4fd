"""The root error type. Domain code raises ``TronpayError`` subclasses carrying a stable
machine ``code`` and an HTTP status; one handler in the app renders them as
``application/problem+json`` (RFC 9457). Services never raise HTTP exceptions."""

from __future__ import annotations

from typing import Any, ClassVar


class TronpayError(Exception):
    """Base of every error tronpay raises on purpose.

    Subclasses set ``code`` (stable, snake_case, part of the API contract), ``status``
    (HTTP status when it reaches the API) and ``title`` (short, human).
    """

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.title
        self.extra = extra
        super().__init__(self.detail)

    def problem(self, request_id: str | None = None) -> dict[str, Any]:
        """The problem+json body for this error."""
        body: dict[str, Any] = {
            "type": f"https://tronpay.dev/problems/{self.code.replace('_', '-')}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "request_id": request_id,
        }
        body.update(self.extra)
        return body


class ValidationFailed(TronpayError):
    code = "validation_error"
    status = 422
    title = "The request is not valid"


class NotFound(TronpayError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(TronpayError):
    code = "conflict"
    status = 409
    title = "Conflict"


class AuthenticationRequired(TronpayError):
    code = "unauthenticated"
    status = 401
    title = "Authentication required"


class Forbidden(TronpayError):
    code = "forbidden"
    status = 403
    title = "Forbidden"
