"""A real ``tronpay serve`` process (API and payout engine) on SQLite, paying on a fast
tron_devnet, for the CLI tests; the CLI runs as a subprocess against it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.api.servers import TRONPAY, running_server

from tron_devnet.genesis import demo_private_key
from tron_devnet.testing import DevnetHandle, produce_blocks_sync, run_devnet

RECIPIENT = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"
SOLIDIFY_DEPTH = 10  # 3 s confirmed at 0.3 s a block: watch polls it many times
POLICY = Path(__file__).resolve().parents[2] / "configs" / "policy.devnet.toml"


def run(
    args: list[str], env: dict[str, str], *, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``tronpay ARGS`` as a subprocess; its stdout and stderr are pipes (not a terminal)."""
    return subprocess.run(
        [TRONPAY, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass(frozen=True)
class Service:
    url: str
    devnet: DevnetHandle
    env: dict[str, str]  # TRONPAY_API_URL and a TRONPAY_TOKEN with every scope
    data_dir: Path


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    work = tmp_path_factory.mktemp("cli")
    key_file = work / "hot.key"
    key_file.write_text(demo_private_key().hex())
    key_file.chmod(0o600)
    with run_devnet(block_time_s=0.3, solidify_depth=SOLIDIFY_DEPTH) as devnet:
        # Older than its solidification lag from the start: confirmations can be counted.
        produce_blocks_sync(devnet.url, SOLIDIFY_DEPTH + 2)
        with running_server(
            work,
            args=("serve",),
            TRONPAY_NETWORK="devnet",
            TRONPAY_NODE_URLS=devnet.url,
            TRONPAY_HOT_WALLET_KEY_FILE=str(key_file),
            TRONPAY_POLICY_FILE=str(POLICY),
            TRONPAY_WEBHOOK_ALLOW_PRIVATE="true",
            TRONPAY_ENGINE_TICK_S="0.2",
        ) as server:
            env = {**server.env, "COLUMNS": "200"}
            minted = run(["token", "--sub", "ops", "--scope", "all"], env)
            assert minted.returncode == 0, minted.stderr
            env["TRONPAY_TOKEN"] = minted.stdout.strip()
            yield Service(url=server.url, devnet=devnet, env=env, data_dir=work / "data")
