"""The errors of the webhooks domain (each with its stable ``code``, HTTP status and title)."""

from __future__ import annotations

from tronpay.errors import NotFound, ValidationFailed


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    title = "No such webhook endpoint"


class DeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    title = "No such webhook delivery"


class WebhookUrlRefused(ValidationFailed):
    code = "webhook_url_refused"
    title = "The webhook URL is not an allowed destination"
