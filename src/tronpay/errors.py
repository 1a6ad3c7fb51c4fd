"""The root error type and the one problem body.

Domain code raises ``TronpayError`` subclasses carrying a stable machine ``code``, an HTTP
status and a short ``title``; each domain keeps its own in its ``errors.py`` (``auth/errors.py``,
``api/errors.py``, ``policy/errors.py``, ...). ``problem_body`` builds every
``application/problem+json`` (RFC 9457) body the service sends, and ``tronpay.api.problems``
turns an error into the response. Services never raise HTTP exceptions.

This module also holds the errors of the service process as a whole: a configuration it
refuses to start with, and the ``serve --devnet`` launcher failing to start the devnet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

PROBLEM_TYPE_BASE = "https://tronpay.dev/problems/"


def problem_body(
    *, code: str, title: str, status: int, detail: str, request_id: str | None, **extra: Any
) -> dict[str, Any]:
    """The problem+json body: ``type``, ``title``, ``status``, ``detail``, ``code`` and
    ``request_id``, then any ``extra`` members (``errors``, ``current_status``, ...)."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id,
    }
    body.update(extra)
    return body


class TronpayError(Exception):
    """Base of every error tronpay raises on purpose.

    Subclasses set ``code`` (stable, snake_case, part of the API contract), ``status``
    (HTTP status when it reaches the API) and ``title`` (short, human). ``headers`` are HTTP
    headers the response must carry, such as a 401's ``WWW-Authenticate`` challenge; the
    renderer copies them onto the response as they are.
    """

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(
        self, detail: str | None = None, *, headers: Mapping[str, str] | None = None, **extra: Any
    ) -> None:
        self.detail = detail or self.title
        self.headers: dict[str, str] = dict(headers or {})
        self.extra = extra
        super().__init__(self.detail)

    def problem(self, request_id: str | None = None) -> dict[str, Any]:
        """The problem+json body for this error."""
        return problem_body(
            code=self.code,
            title=self.title,
            status=self.status,
            detail=self.detail,
            request_id=request_id,
            **self.extra,
        )


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


class ConfigError(TronpayError):
    """The settings are unsafe or incomplete: the service refuses to start."""

    code = "config_error"
    status = 500
    title = "The service is not configured correctly"


class DevnetStartError(TronpayError):
    """``tronpay serve --devnet`` could not start its local ``tron-devnet`` child."""

    code = "devnet_start_error"
    status = 500
    title = "The local devnet could not be started"
