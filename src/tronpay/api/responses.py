"""OpenAPI descriptions of the problem+json error responses."""

from __future__ import annotations

from typing import Any

from tronpay.api.problems import PROBLEM_JSON
from tronpay.errors import problem_body

EXAMPLE_REQUEST_ID = "req_01JDX4Z6W8Q1V9M2N3B4C5D6E7"


def problem(description: str, code: str, status: int) -> dict[str, Any]:
    """An OpenAPI response whose example is built like every problem body (``problem_body``)."""
    example = problem_body(
        code=code,
        title=description,
        status=status,
        detail=description,
        request_id=EXAMPLE_REQUEST_ID,
    )
    return {"description": description, "content": {PROBLEM_JSON: {"example": example}}}


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: problem("Missing or invalid bearer token", "unauthenticated", 401),
    403: problem("The token lacks a required scope", "insufficient_scope", 403),
}
VALIDATION_ERROR: dict[int | str, dict[str, Any]] = {
    422: problem("The request is not valid", "validation_error", 422),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem("Not found", "payout_not_found", 404)}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: problem("The payout cannot make this state change", "invalid_transition", 409),
}
