"""Signing against an independent implementation of Standard Webhooks (the
``standardwebhooks`` package): every signature we make verifies there, and theirs equals
ours."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tronpay.webhooks.signing import (
    SECRET_BYTES,
    InvalidSecret,
    new_secret,
    secret_key,
    sign,
    signature_header,
)


def test_new_secret_is_whsec_and_32_random_bytes() -> None:
    one, two = new_secret(), new_secret()
    assert one.startswith("whsec_")
    assert len(base64.b64decode(one.removeprefix("whsec_"), validate=True)) == SECRET_BYTES
    assert one != two


@given(
    message_id=st.from_regex(r"ev_[0-9A-Z]{26}", fullmatch=True),
    body=st.text(max_size=300),
    key=st.binary(min_size=SECRET_BYTES, max_size=SECRET_BYTES),
)
def test_signature_equals_the_reference_implementation(
    message_id: str, body: str, key: bytes
) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    stamp = 1_700_000_000
    ours = sign(secret, message_id, stamp, body.encode())
    theirs = Webhook(secret).sign(message_id, datetime.fromtimestamp(stamp, UTC), body)
    assert ours == theirs


def test_both_rotation_secrets_verify_and_a_stranger_does_not() -> None:
    old, new = new_secret(), new_secret()
    body = b'{"type":"payout.created","timestamp":"2026-12-03T10:00:00Z","data":{}}'
    stamp = int(time.time())
    headers = {
        "webhook-id": "ev_01JDX4Z6W8Q1V9M2N3B4C5D6E7",
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature_header(
            [new, old], "ev_01JDX4Z6W8Q1V9M2N3B4C5D6E7", stamp, body
        ),
    }
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers)["type"] == "payout.created"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace(b"created", b"finalized"), headers)


@pytest.mark.parametrize("bad", ["abc", "whsec_", "whsec_not*base64", "sk_" + "A" * 44])
def test_malformed_secrets_are_refused(bad: str) -> None:
    with pytest.raises(InvalidSecret):
        secret_key(bad)
