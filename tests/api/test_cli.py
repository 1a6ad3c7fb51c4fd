"""`tronpay serve` and `tronpay worker` refuse a production start without what they need
(the API client commands are tested in tests/cli)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.api.servers import TRONPAY, clean_env, free_port, running_server


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRONPAY, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    with running_server(tmp_path) as srv:
        yield srv.url, srv.env


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
