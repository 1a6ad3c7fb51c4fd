"""The service CLI against a real `tronpay serve` process on SQLite (HTTP over localhost)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import ADDR_A

TRONPAY = [str(Path(sys.executable).parent / "tronpay")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRONPAY_", "LUCID_"))}
    env.pop("SERVICE_PORT", None)
    env.update({"TRONPAY_DATA_DIR": str(tmp_path / "data"), "TRONPAY_ENV": "development"})
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TRONPAY, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = _free_port()
    env = _env(tmp_path, TRONPAY_PORT=str(port))
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([*TRONPAY, "serve", "--no-engine"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "serve.log").read_text())
            time.sleep(0.1)
        yield url, {**env, "TRONPAY_API_URL": url}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_payouts_through_the_cli(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    _, env = server
    minted = run(["token", "--sub", "ops", "--scope", "payouts:read payouts:write"], env)
    assert minted.returncode == 0, minted.stderr
    env = {**env, "TRONPAY_TOKEN": minted.stdout.strip()}

    created = run(
        ["payouts", "create", "--to", ADDR_A, "--amount", "1.5", "--reference", "c1"], env
    )
    assert created.returncode == 0, created.stderr
    payout = json.loads(created.stdout)
    assert payout["amount"] == "1.5"

    shown = run(["payouts", "show", payout["id"]], env)
    assert json.loads(shown.stdout)["id"] == payout["id"]
    listed = json.loads(run(["payouts", "list", "--reference", "c1"], env).stdout)
    assert [p["id"] for p in listed["items"]] == [payout["id"]]
    cancelled = run(["payouts", "cancel", payout["id"]], env)
    assert json.loads(cancelled.stdout)["status"] == "cancelled"

    bad = run(["payouts", "create", "--to", "Tnope", "--amount", "1"], env)
    assert bad.returncode == 1
    assert "validation_error" in bad.stderr

    csv_file = tmp_path / "batch.csv"
    csv_file.write_text(f"to,amount,asset,reference,memo\n{ADDR_A},2,USDT,b1,\n{ADDR_A},3,TRX,,\n")
    imported = run(["batches", "import", str(csv_file)], env)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["item_count"] == 2


def test_production_refuses_to_start_without_auth(tmp_path: Path) -> None:
    env = _env(tmp_path, TRONPAY_ENV="production", TRONPAY_PORT=str(_free_port()))
    result = run(["serve", "--no-engine"], env)
    assert result.returncode == 2
    assert "TRONPAY_JWT_HS256_SECRET_FILE" in result.stderr


def test_db_upgrade(tmp_path: Path) -> None:
    result = run(["db", "upgrade"], _env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "tronpay.db").exists()
