"""devnet_runner starts tron-devnet as a real child process; `tronpay worker` refuses to start
without a hot wallet key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tron_devnet.genesis import demo_private_key
from tronpay.devnet_runner import devnet_process


def test_devnet_child_process_starts_answers_and_stops(tmp_path: Path) -> None:
    with devnet_process(tmp_path, block_time_s=0.5, solidify_depth=1) as devnet:
        assert devnet.url.startswith("http://127.0.0.1:")
        resp = httpx.post(f"{devnet.url}/wallet/getnowblock", json={}, timeout=5)
        assert resp.status_code == 200
        assert "blockID" in resp.json()
        assert devnet.demo_key_file.read_text().strip() == demo_private_key().hex()
        assert oct(devnet.demo_key_file.stat().st_mode & 0o777) == "0o600"
        proc = devnet.process
    assert proc.returncode == 0  # SIGTERM -> clean exit, state saved
    assert (tmp_path / "devnet" / "state.json").is_file()


def test_worker_refuses_to_start_without_key(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("TRONPAY_HOT_WALLET_KEY_FILE", None)
    env["TRONPAY_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", "from tronpay.cli.engine import worker; worker()"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert b"TRONPAY_HOT_WALLET_KEY_FILE" in result.stderr
