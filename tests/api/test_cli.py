"""The service CLI against a real `tronpay serve` process on SQLite (HTTP over localhost)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.api.conftest import ADDR_A
from tests.api.servers import TRONPAY, clean_env, free_port, running_server


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRONPAY, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    with running_server(tmp_path) as srv:
        yield srv.url, srv.env


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
    env = clean_env(tmp_path / "data", TRONPAY_ENV="production", TRONPAY_PORT=str(free_port()))
    result = run(["serve", "--no-engine"], env)
    assert result.returncode == 2
    assert "TRONPAY_JWT_HS256_SECRET_FILE" in result.stderr


@pytest.mark.parametrize("command", [["serve", "--no-engine"], ["worker"]])
def test_production_refuses_to_start_without_a_network(tmp_path: Path, command: list[str]) -> None:
    secret = tmp_path / "jwt.secret"
    secret.write_text("s" * 64)
    env = clean_env(
        tmp_path / "data",
        TRONPAY_ENV="production",
        TRONPAY_PORT=str(free_port()),
        TRONPAY_JWT_HS256_SECRET_FILE=str(secret),
        TRONPAY_JWT_AUDIENCE="tronpay",
        TRONPAY_JWT_ISSUER="issuer",
    )
    result = run(command, env)
    assert result.returncode != 0
    assert "TRONPAY_NETWORK is not set" in result.stderr


def test_db_upgrade(tmp_path: Path) -> None:
    result = run(["db", "upgrade"], clean_env(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "tronpay.db").exists()
