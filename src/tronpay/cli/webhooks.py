"""``tronpay webhooks list|create|show|delete|rotate|deliveries|resend|ping`` over the HTTP
API (the token needs ``webhooks:admin``). A secret is printed once, when the API returns it
(create, rotate); it is never shown again."""

from __future__ import annotations

from typing import Annotated, Any, Final

import typer
from rich.table import Table

from tronpay.cli.client import (
    DEFAULT_API_URL,
    EXIT_CODES_HELP,
    Api,
    ApiUrl,
    AsJson,
    Token,
    dash,
    field_table,
    out,
    page_params,
    print_json,
    print_page,
)

webhooks_app = typer.Typer(
    no_args_is_help=True,
    help="Webhook endpoints and their deliveries (needs webhooks:admin).",
    epilog=EXIT_CODES_HELP,
)


WebhookId = Annotated[str, typer.Argument(help="The endpoint's id (wh_...).")]

_FIELDS: Final = (
    "id",
    "url",
    "events",
    "description",
    "enabled",
    "previous_secret_expires_at",
    "created_by",
    "created_at",
    "updated_at",
)


def _endpoint_table(endpoint: dict[str, Any], title: str | None = None) -> Table:
    events = endpoint.get("events")
    shown = {**endpoint, "events": "every type" if events is None else ", ".join(events)}
    return field_table(((name, shown.get(name)) for name in _FIELDS), title)


def _secret_note(secret: str) -> None:
    out.print(f"secret: {secret}", highlight=False, markup=False)
    out.print("(shown only this once: store it where your receiver reads it)", highlight=False)


@webhooks_app.command("list")
def webhooks_list(
    api_url: ApiUrl = DEFAULT_API_URL, token: Token = "", as_json: AsJson = False
) -> None:
    """List webhook endpoints, oldest first."""
    body = Api.of(api_url, token).call("GET", "/v1/webhooks")
    if as_json:
        print_json(body)
        return
    table = Table("id", "url", "events", "enabled", "description")
    for w in body["items"]:
        events = "every type" if w["events"] is None else ", ".join(w["events"])
        table.add_row(w["id"], w["url"], events, str(w["enabled"]), dash(w["description"]))
    out.print(table)


@webhooks_app.command("create")
def webhooks_create(  # noqa: PLR0917 - typer options
    url: Annotated[str, typer.Argument(help="https:// URL of your receiver.")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="An event type to send (repeat it); default: every type."),
    ] = None,
    description: Annotated[str | None, typer.Option(help="A note for people.")] = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Register a webhook endpoint; prints its signing secret once."""
    body: dict[str, Any] = {"url": url}
    if event:
        body["events"] = event
    if description is not None:
        body["description"] = description
    created = Api.of(api_url, token).call("POST", "/v1/webhooks", json_body=body)
    if as_json:
        print_json(created)
        return
    out.print(_endpoint_table(created, "Webhook endpoint created"))
    _secret_note(created["secret"])


@webhooks_app.command("show")
def webhooks_show(
    webhook_id: WebhookId,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Show one webhook endpoint (never its secret)."""
    endpoint = Api.of(api_url, token).call("GET", f"/v1/webhooks/{webhook_id}")
    if as_json:
        print_json(endpoint)
    else:
        out.print(_endpoint_table(endpoint))


@webhooks_app.command("delete")
def webhooks_delete(
    webhook_id: WebhookId,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Delete a webhook endpoint and its delivery log."""
    Api.of(api_url, token).call("DELETE", f"/v1/webhooks/{webhook_id}")
    if as_json:
        print_json({"id": webhook_id, "deleted": True})
    else:
        out.print(f"deleted {webhook_id}", highlight=False)


@webhooks_app.command("rotate")
def webhooks_rotate(
    webhook_id: WebhookId,
    overlap_seconds: Annotated[
        int | None,
        typer.Option(
            min=0, max=7 * 86400, help="How long the old secret still signs (default 1 day)."
        ),
    ] = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Give an endpoint a new signing secret (printed once); the old one signs beside it for
    the overlap."""
    body = {} if overlap_seconds is None else {"overlap_seconds": overlap_seconds}
    rotated = Api.of(api_url, token).call(
        "POST", f"/v1/webhooks/{webhook_id}/rotate-secret", json_body=body
    )
    if as_json:
        print_json(rotated)
        return
    _secret_note(rotated["secret"])
    out.print(
        f"the previous secret signs until {dash(rotated['previous_secret_expires_at'])}",
        highlight=False,
    )


@webhooks_app.command("ping")
def webhooks_ping(
    webhook_id: WebhookId,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Queue a webhook.test delivery to the endpoint."""
    delivery = Api.of(api_url, token).call("POST", f"/v1/webhooks/{webhook_id}/test")
    if as_json:
        print_json(delivery)
    else:
        out.print(f"queued test delivery {delivery['id']} ({delivery['status']})", highlight=False)


@webhooks_app.command("deliveries")
def webhooks_deliveries(  # noqa: PLR0917 - typer options
    webhook_id: WebhookId,
    status: Annotated[str | None, typer.Option(help="pending, delivered or failed.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Page size.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="The next page's cursor.")] = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """The endpoint's delivery log, newest first."""
    page = Api.of(api_url, token).call(
        "GET",
        f"/v1/webhooks/{webhook_id}/deliveries",
        params=page_params(limit, cursor, status=status),
    )
    if as_json:
        print_json(page)
        return
    table = Table("id", "event", "status", "attempts", "last", "next attempt", "created_at")
    for d in page["items"]:
        last = d["last_status_code"] or d["last_error"]
        table.add_row(
            d["id"], d["event_type"], d["status"], str(d["attempts"]), dash(last),
            dash(d["next_attempt_at"]), d["created_at"],
        )  # fmt: skip
    print_page(table, page.get("next_cursor"))


@webhooks_app.command("resend")
def webhooks_resend(
    webhook_id: WebhookId,
    delivery_id: Annotated[str, typer.Argument(help="The delivery's id (dlv_...).")],
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Send a delivery again, now (same webhook-id and body)."""
    delivery = Api.of(api_url, token).call(
        "POST", f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"
    )
    if as_json:
        print_json(delivery)
    else:
        out.print(
            f"delivery {delivery['id']} is {delivery['status']} again, due now", highlight=False
        )


def register(app: typer.Typer) -> None:
    """Add ``tronpay webhooks`` to the root app."""
    app.add_typer(webhooks_app, name="webhooks")
