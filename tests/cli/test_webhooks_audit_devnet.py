"""``tronpay webhooks ...``, ``tronpay audit tail`` and ``tronpay devnet reset``."""

from __future__ import annotations

import json
import re

import httpx
from tests.cli.conftest import RECIPIENT, Service, run

from tron_devnet.testing import run_devnet


def test_webhooks_lifecycle(service: Service) -> None:
    receiver = "http://127.0.0.1:9/hooks"  # nothing listens: deliveries stay pending
    created = run(
        ["webhooks", "create", receiver, "--event", "payout.finalized", "--description", "cli"],
        service.env,
    )
    assert created.returncode == 0, created.stderr
    assert "Webhook endpoint created" in created.stdout
    assert re.search(r"secret: whsec_\S+", created.stdout)
    assert "shown only this once" in created.stdout
    webhook_id = re.search(r"wh_[0-9A-Z]+", created.stdout)
    assert webhook_id
    wid = webhook_id.group(0)

    listed = json.loads(run(["webhooks", "list", "--json"], service.env).stdout)
    assert wid in [w["id"] for w in listed["items"]]
    assert "payout.finalized" in run(["webhooks", "list"], service.env).stdout
    shown = run(["webhooks", "show", wid, "--json"], service.env)
    assert "secret" not in json.loads(shown.stdout)

    pinged = run(["webhooks", "ping", wid, "--json"], service.env)
    assert pinged.returncode == 0, pinged.stderr
    delivery = json.loads(pinged.stdout)
    deliveries = json.loads(run(["webhooks", "deliveries", wid, "--json"], service.env).stdout)
    assert delivery["id"] in [d["id"] for d in deliveries["items"]]
    assert "webhook.test" in run(["webhooks", "deliveries", wid], service.env).stdout
    resent = run(["webhooks", "resend", wid, delivery["id"]], service.env)
    assert resent.returncode == 0, resent.stderr
    assert f"delivery {delivery['id']} is pending again" in resent.stdout

    rotated = run(["webhooks", "rotate", wid, "--overlap-seconds", "0"], service.env)
    assert rotated.returncode == 0, rotated.stderr
    assert re.search(r"secret: whsec_\S+", rotated.stdout)

    deleted = run(["webhooks", "delete", wid], service.env)
    assert deleted.returncode == 0
    assert f"deleted {wid}" in deleted.stdout
    gone = run(["webhooks", "show", wid], service.env)
    assert gone.returncode == 3


def test_webhook_refused_url_exits_1(service: Service) -> None:
    refused = run(["webhooks", "create", "ftp://example.invalid/x"], service.env)
    assert refused.returncode == 1
    assert "HTTP 422" in refused.stderr


def test_audit_tail_lines_and_json(service: Service) -> None:
    created = run(
        ["payouts", "create", "--to", RECIPIENT, "--amount", "0.1", "--reference", "tail-1",
         "--json"],
        service.env,
    )  # fmt: skip
    payout_id = json.loads(created.stdout)["id"]
    tail = run(["audit", "tail", "-n", "5"], service.env)
    assert tail.returncode == 0, tail.stderr
    lines = tail.stdout.splitlines()
    assert 1 <= len(lines) <= 5
    seqs = [int(line.split()[0]) for line in lines]
    assert seqs == sorted(seqs)  # oldest first
    mine = run(["audit", "tail", "--entity-id", payout_id, "--json"], service.env)
    entries = [json.loads(line) for line in mine.stdout.splitlines()]
    assert entries[0]["action"] == "payout.create"
    assert {e["entity_id"] for e in entries} == {payout_id}


def test_devnet_reset_only_resets_a_devnet(service: Service) -> None:
    # The tronpay API is not a devnet: refused, nothing sent.
    refused = run(["devnet", "reset", "--node-url", service.url, "--yes"], service.env)
    assert refused.returncode == 4
    assert "is not a tron_devnet" in refused.stderr
    mainnet = run(["devnet", "reset", "--yes"], {**service.env, "TRONPAY_NETWORK": "mainnet"})
    assert mainnet.returncode == 2
    with run_devnet(block_time_s=0) as devnet:
        httpx.post(f"{devnet.url}/admin/blocks", json={"count": 5}, timeout=10)
        reset = run(["devnet", "reset", "--node-url", devnet.url, "--yes"], service.env)
        assert reset.returncode == 0, reset.stderr
        assert f"devnet at {devnet.url} reset: head block 0" in reset.stdout
        state = httpx.get(f"{devnet.url}/admin/state", timeout=10).json()
        assert state["head"] == 0
