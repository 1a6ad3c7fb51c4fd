"""SSRF safety: only https in production, no forbidden address unless allowed, the resolved
address pinned for the connection, no redirect followed, answers read up to a limit."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from standardwebhooks.webhooks import Webhook
from tests.webhooks.receiver import Answer, Receiver

from tronpay.app import create_app
from tronpay.config import Environment, Settings
from tronpay.webhooks.delivery import MAX_RESPONSE_BYTES, WebhookSender
from tronpay.webhooks.destinations import is_forbidden, parse_destination, resolve
from tronpay.webhooks.errors import WebhookUrlRefused
from tronpay.webhooks.service import WebhookContext, check_url
from tronpay.webhooks.signing import new_secret

FORBIDDEN = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",  # noqa: S104 - an address under test, not a bind
    "224.0.0.1",
    "::1",
    "fd00:ec2::254",  # the IPv6 metadata address
    "fe80::1",
    "::ffff:127.0.0.1",
]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert is_forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "allow_http", "reason"),
    [
        ("http://hooks.example.com/x", False, "scheme must be https"),
        ("ftp://hooks.example.com/x", True, "scheme must be"),
        ("https://user:pw@hooks.example.com/x", False, "credentials"),
        ("https:///nohost", False, "no host"),
        ("https://hooks.example.com/x#frag", False, "fragment"),
        ("https://hooks.example.com:99999/x", False, "cannot be parsed"),
    ],
)
def test_malformed_or_plain_http_urls_are_refused(url: str, allow_http: bool, reason: str) -> None:
    with pytest.raises(WebhookUrlRefused, match=reason):
        parse_destination(url, allow_http=allow_http)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]:8443/x",
        "https://10.0.0.7/x",
    ],
)
async def test_private_destinations_are_refused_unless_allowed(url: str) -> None:
    destination = parse_destination(url, allow_http=False)
    with pytest.raises(WebhookUrlRefused, match="non-public address"):
        await resolve(destination, allow_private=False)
    pinned = await resolve(destination, allow_private=True)
    assert not ipaddress.ip_address(pinned.address).is_global


async def test_the_connection_goes_to_the_pinned_address_with_the_original_host() -> None:
    destination = parse_destination("https://localhost:8443/in?x=1", allow_http=False)
    pinned = await resolve(destination, allow_private=True)
    assert pinned.address in {"127.0.0.1", "::1"}
    host = f"[{pinned.address}]" if ":" in pinned.address else pinned.address
    assert pinned.connect_url == f"https://{host}:8443/in?x=1"
    assert destination.host_header == "localhost:8443"


async def test_the_sender_refuses_a_private_destination_without_connecting(
    receiver: Receiver,
) -> None:
    sender = WebhookSender(timeout_s=2, allow_private=False, allow_http=True)
    try:
        result = await sender.send(
            url=receiver.url, message_id="ev_1", body=b"{}", secrets=[new_secret()]
        )
    finally:
        await sender.aclose()
    assert not result.ok
    assert result.error is not None
    assert result.error.startswith("refused:")
    assert receiver.snapshot() == []


async def test_redirects_are_not_followed_and_answers_are_read_up_to_a_limit(
    receiver: Receiver,
) -> None:
    receiver.plan(Answer(status=307, location="http://169.254.169.254/latest/meta-data"))
    sender = WebhookSender(timeout_s=2, allow_private=True, allow_http=True)
    secret = new_secret()
    try:
        redirected = await sender.send(
            url=receiver.url, message_id="ev_1", body=b'{"a":1}', secrets=[secret]
        )
        # the sent request is signed and names the original host
        sent = receiver.snapshot()[0]
        assert Webhook(secret).verify(sent.body, sent.headers) == {"a": 1}
        assert sent.headers["host"] == httpx.URL(receiver.url).netloc.decode()
        assert sent.path == "/hooks"
    finally:
        await sender.aclose()
    assert not redirected.ok
    assert redirected.status_code == 307
    assert redirected.error == "HTTP 307: redirects are not followed"
    assert len(receiver.snapshot()) == 1
    assert MAX_RESPONSE_BYTES <= 8192


async def test_registration_refuses_what_the_settings_forbid(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # The app of these tests allows private destinations and plain http (development).
    ok = await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"})
    assert ok.status_code == 201, ok.text
    bad = await client.post("/v1/webhooks", json={"url": "ftp://127.0.0.1/x"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "webhook_url_refused"

    strict = WebhookContext.from_settings(
        settings.model_copy(update={"webhook_allow_private": False})
    )
    with pytest.raises(WebhookUrlRefused, match="non-public"):
        await check_url(strict, "http://127.0.0.1:9/x")
    production = WebhookContext.from_settings(
        settings.model_copy(update={"env": Environment.PRODUCTION})
    )
    assert production.allow_http is False
    with pytest.raises(WebhookUrlRefused, match="scheme must be https"):
        await check_url(production, "http://127.0.0.1:9/x")
    # A strict app answers 422 with the stable code.
    app = create_app(settings.model_copy(update={"webhook_allow_private": False}))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tronpay.test",
        headers=dict(client.headers),
    ) as strict_client:
        refused = await strict_client.post(
            "/v1/webhooks", json={"url": "http://169.254.169.254/latest/meta-data"}
        )
    await app.state.engine.dispose()
    assert refused.status_code == 422
    assert refused.json()["code"] == "webhook_url_refused"
