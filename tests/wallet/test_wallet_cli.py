"""``tronpay wallet`` against a real ``tronpay serve`` process and a devnet over HTTP."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.api.servers import TRONPAY, running_server

from node.support import DEMO_KEY
from tron_devnet.testing import run_devnet


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRONPAY, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_wallet_for_humans_and_as_json(tmp_path: Path) -> None:
    with (
        run_devnet(block_time_s=0) as devnet,
        running_server(
            tmp_path, TRONPAY_NODE_URLS=devnet.url, TRONPAY_HOT_WALLET_ADDRESS=DEMO_KEY.address
        ) as server,
    ):
        env = {**server.env, "COLUMNS": "250"}
        minted = run(["token", "--sub", "ops", "--scope", "wallet:read"], env)
        assert minted.returncode == 0, minted.stderr
        env["TRONPAY_TOKEN"] = minted.stdout.strip()

        as_json = run(["wallet", "--json"], env)
        assert as_json.returncode == 0, as_json.stderr
        body = json.loads(as_json.stdout)
        assert body["address"] == DEMO_KEY.address
        assert body["usdt"] == "10000000"

        human = run(["wallet"], env)
        assert human.returncode == 0, human.stderr
        assert f"Hot wallet {DEMO_KEY.address}" in human.stdout
        assert "USDT" in human.stdout
        assert "10000000 (0 held by in-flight payouts)" in human.stdout
        assert "runway, new holder" in human.stdout
        assert "130,285 energy, estimate" in human.stdout

        env["TRONPAY_TOKEN"] = run(["token", "--sub", "ops", "--scope", "payouts:read"], env).stdout
        refused = run(["wallet"], {**env, "TRONPAY_TOKEN": env["TRONPAY_TOKEN"].strip()})
        assert refused.returncode == 2  # the token lacks the scope: configuration
        assert "insufficient_scope" in refused.stderr
