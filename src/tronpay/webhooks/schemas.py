"""Request and response bodies of the webhooks API. Unknown fields are rejected."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from tronpay.webhooks.events import EventType
from tronpay.webhooks.models import WebhookDelivery, WebhookEndpoint

MAX_OVERLAP_S: Final = 7 * 86_400
DEFAULT_OVERLAP_S: Final = 86_400

Url = Annotated[
    str,
    Field(min_length=1, max_length=2048, examples=["https://billing.example.com/hooks/tronpay"]),
]
Description = Annotated[str, Field(max_length=500, examples=["billing service"])]
Events = Annotated[
    list[EventType] | None,
    Field(
        min_length=1,
        max_length=len(EventType),
        description="event types to receive; omitted or null: every type",
    ),
]


class WebhookCreate(BaseModel):
    """Body of ``POST /v1/webhooks``."""

    model_config = ConfigDict(extra="forbid")

    url: Url
    events: Events = None
    description: Description | None = None


class WebhookUpdate(BaseModel):
    """Body of ``PATCH /v1/webhooks/{id}``: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    events: Events = None
    description: Description | None = None
    enabled: bool | None = None


class WebhookOut(BaseModel):
    """A webhook endpoint as the API shows it (never its secret)."""

    id: str
    url: str
    events: list[str] | None
    description: str | None
    enabled: bool
    previous_secret_expires_at: datetime | None = Field(
        description="while set and in the future, the previous secret signs too"
    )
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, endpoint: WebhookEndpoint) -> WebhookOut:
        return cls(**_endpoint_fields(endpoint))


class WebhookCreated(WebhookOut):
    """The answer to a registration: the endpoint and its signing secret, shown this once."""

    secret: str = Field(description="whsec_ + base64 of 32 bytes; shown only now")

    @classmethod
    def with_secret(cls, endpoint: WebhookEndpoint) -> WebhookCreated:
        return cls(**_endpoint_fields(endpoint), secret=endpoint.secret)


def _endpoint_fields(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events,
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "previous_secret_expires_at": endpoint.previous_secret_expires_at,
        "created_by": endpoint.created_by,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


class WebhookList(BaseModel):
    items: list[WebhookOut]


class SecretRotate(BaseModel):
    """Body of ``POST /v1/webhooks/{id}/rotate-secret``."""

    model_config = ConfigDict(extra="forbid")

    overlap_seconds: int = Field(
        default=DEFAULT_OVERLAP_S,
        ge=0,
        le=MAX_OVERLAP_S,
        description="how long the previous secret keeps signing beside the new one",
    )


class SecretRotated(BaseModel):
    secret: str = Field(description="the new whsec_ secret; shown only now")
    previous_secret_expires_at: datetime | None


class DeliveryOut(BaseModel):
    """One entry of the delivery log."""

    id: str
    webhook_id: str
    message_id: str = Field(description="the webhook-id header: the same on every retry")
    event_type: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None = Field(description="when the next retry is due")
    delivered_at: datetime | None
    created_at: datetime
    body: dict[str, Any]

    @classmethod
    def from_model(cls, delivery: WebhookDelivery) -> DeliveryOut:
        return cls(
            id=delivery.id,
            webhook_id=delivery.endpoint_id,
            message_id=delivery.message_id,
            event_type=delivery.event_type,
            status=delivery.status,
            attempts=delivery.attempts,
            last_attempt_at=delivery.last_attempt_at,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            next_attempt_at=delivery.next_attempt_at,
            delivered_at=delivery.delivered_at,
            created_at=delivery.created_at,
            body=delivery.body,
        )


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(description="pass as ?cursor= to get the next page")
