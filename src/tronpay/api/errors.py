"""Errors of the HTTP layer itself: the request could not be read as sent.

Starlette's own HTTP exceptions (a malformed request, an unknown path, a wrong method) are
turned into these, or into the root errors of the same status, so that they render like
every other error."""

from __future__ import annotations

from tronpay.errors import TronpayError


class BadRequest(TronpayError):
    code = "bad_request"
    status = 400
    title = "Bad request"


class MethodNotAllowed(TronpayError):
    code = "method_not_allowed"
    status = 405
    title = "Method not allowed"


class NotAcceptable(TronpayError):
    code = "not_acceptable"
    status = 406
    title = "Not acceptable"


class PayloadTooLarge(TronpayError):
    code = "payload_too_large"
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(TronpayError):
    code = "unsupported_media_type"
    status = 415
    title = "Unsupported media type"
