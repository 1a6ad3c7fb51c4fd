"""The errors of batch intake."""

from __future__ import annotations

from tronpay.errors import NotFound, ValidationFailed


class BatchInvalid(ValidationFailed):
    code = "batch_invalid"
    title = "The batch has invalid rows; nothing was created"


class BatchNotFound(NotFound):
    code = "batch_not_found"
    title = "No such batch"
