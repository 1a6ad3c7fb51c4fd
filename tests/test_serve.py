"""The service as one process: API + payout engine (`create_app(..., with_engine=True)`)
against a real devnet over HTTP and a real database — readiness, quotes and a payout paid on
chain — and `tronpay serve --devnet`, the README's first command, as a real process."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from tests.api.servers import service_settings

from tron_devnet.genesis import demo_private_key
from tron_devnet.testing import DevnetHandle, mint, run_devnet
from tronpay.app import create_app
from tronpay.auth import mint_token
from tronpay.config import Settings
from tronpay.db.base import Base
from tronpay.kit.instance import lock_directory
from tronpay.tron.keys import PrivateKey

RECIPIENT_NEW = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"
RECIPIENT_HOLDER = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"
FRESH_ACCOUNT = PrivateKey((0x7A11).to_bytes(32, "big")).address
SCOPES = ["payouts:read", "payouts:write"]
TRONPAY = str(Path(sys.executable).parent / "tronpay")


@pytest.fixture
def devnet() -> Iterator[DevnetHandle]:
    with run_devnet(block_time_s=0.3, solidify_depth=2) as handle:
        yield handle


def _settings(tmp_path: Path, db_url: str, node_url: str, secret: bytes) -> Settings:
    return service_settings(
        tmp_path, database_url=db_url, node_url=node_url, secret=secret, data_dir=tmp_path / "data"
    )


@pytest.fixture
async def service(
    tmp_path: Path, db_url: str, devnet: DevnetHandle
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    secret = secrets.token_hex(32).encode()
    app = create_app(_settings(tmp_path, db_url, devnet.url, secret), with_engine=True)
    async with app.state.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    token = mint_token(secret, sub="ops", scopes=SCOPES, ttl_s=600)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://tronpay.test",
            headers={"Authorization": f"Bearer {token}"},
        ) as client,
    ):
        yield app, client


async def _wait_for(
    client: httpx.AsyncClient, path: str, predicate: object, timeout: float = 30
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(path)
        if callable(predicate) and predicate(response):
            return response
        if time.monotonic() > deadline:
            raise AssertionError(f"{path}: {response.status_code} {response.text}")
        await asyncio.sleep(0.1)


async def test_ready_checks_the_chain_when_the_engine_runs_here(
    service: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = service
    ready = await _wait_for(client, "/ready", lambda r: r.status_code == 200)
    checks = ready.json()["checks"]
    assert set(checks) == {"database", "node", "token", "signer", "engine", "webhooks"}
    assert all(check["state"] == "ok" for check in checks.values())
    assert checks["node"]["nodes"] == checks["node"]["nodes_answering"] == 1
    assert checks["node"]["max_lag_blocks"] == 0
    assert checks["token"]["decimals"] == 6
    assert checks["signer"] == {"ok": True, "state": "ok", "hot_wallet": "loaded"}


async def test_quotes_price_new_and_existing_holders_from_the_chain(
    service: tuple[FastAPI, httpx.AsyncClient], devnet: DevnetHandle
) -> None:
    _, client = service
    await mint(devnet.url, RECIPIENT_HOLDER, trx_sun=1_000_000, usdt_units=1)
    new = await client.post("/v1/payouts/quote", json={"to": RECIPIENT_NEW, "amount": "3"})
    holder = await client.post("/v1/payouts/quote", json={"to": RECIPIENT_HOLDER, "amount": "3"})
    assert new.status_code == holder.status_code == 200, new.text
    # Whether the recipient's account exists is the chain's answer, not a constant.
    assert new.json()["recipient_exists"] is False
    assert holder.json()["recipient_exists"] is True
    assert new.json()["energy_needed"] == 130_285
    assert new.json()["new_token_holder"] is True
    assert holder.json()["energy_needed"] == 64_285
    # fee_limit = energy x 100 sun x 120 % margin, in TRX as a decimal string
    assert holder.json()["fee_limit"] == "7.7142"
    assert holder.json()["expected_fee"] == "6.4285"
    assert holder.json()["amount"] == "3"
    trx = await client.post(
        "/v1/payouts/quote", json={"to": FRESH_ACCOUNT, "amount": "1", "asset": "TRX"}
    )
    assert trx.status_code == 200
    assert trx.json()["recipient_exists"] is False
    assert int(trx.json()["energy_needed"]) == 0


async def test_quote_refuses_bad_input_and_the_hot_wallet(
    service: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = service
    bad = await client.post("/v1/payouts/quote", json={"to": "Tnope", "amount": "1"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    self_pay = await client.post(
        "/v1/payouts/quote", json={"to": app.state.chain.hot_wallet, "amount": "1"}
    )
    assert self_pay.status_code == 422
    extra = await client.post(
        "/v1/payouts/quote", json={"to": RECIPIENT_NEW, "amount": "1", "fee": "0"}
    )
    assert extra.status_code == 422


async def test_a_payout_is_paid_by_the_engine_in_the_same_process(
    service: tuple[FastAPI, httpx.AsyncClient], devnet: DevnetHandle
) -> None:
    _, client = service
    created = await client.post(
        "/v1/payouts",
        json={"to": RECIPIENT_NEW, "amount": "2.5"},
        headers={"Idempotency-Key": "serve-1"},
    )
    assert created.status_code == 201, created.text
    payout_id = created.json()["id"]
    done = await _wait_for(
        client,
        f"/v1/payouts/{payout_id}",
        lambda r: r.json()["status"] == "finalized",
        timeout=60,
    )
    assert done.json()["energy_used"] == 130_285
    ledger = httpx.get(f"{devnet.url}/admin/ledger", timeout=5).json()
    paid = [
        t
        for t in ledger["transactions"]
        if t["txid"] == done.json()["txid"] and t["result"] == "SUCCESS"
    ]
    assert len(paid) == 1
    assert paid[0]["amount"] == 2_500_000


async def test_node_down_makes_the_engine_process_not_ready(tmp_path: Path, db_url: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    secret = secrets.token_hex(32).encode()
    engine_app = create_app(_settings(tmp_path, db_url, dead_url, secret), with_engine=True)
    api_only = create_app(_settings(tmp_path, db_url, dead_url, secret))
    for app in (engine_app, api_only):
        async with app.state.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
    transport = httpx.ASGITransport(app=engine_app)
    async with (
        engine_app.router.lifespan_context(engine_app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["node"]["ok"] is False
        assert ready.json()["checks"]["database"]["ok"] is True
        token = mint_token(secret, sub="ops", scopes=SCOPES, ttl_s=600)
        quote = await client.post(
            "/v1/payouts/quote",
            json={"to": RECIPIENT_NEW, "amount": "1"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert quote.status_code == 503
        assert quote.json()["code"] == "node_unavailable"
    async with (
        api_only.router.lifespan_context(api_only),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api_only), base_url="http://t"
        ) as client,
    ):
        # an API-only replica takes payouts without a node: it stays ready
        assert (await client.get("/ready")).status_code == 200


def _clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRONPAY_", "LUCID_"))}
    env.update({"TRONPAY_DATA_DIR": str(data_dir), **extra})
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_without_a_key_explains_what_to_set(tmp_path: Path) -> None:
    result = subprocess.run(
        [TRONPAY, "serve", "--port", str(_free_port())],
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "TRONPAY_HOT_WALLET_KEY_FILE" in result.stderr
    assert "--no-engine" in result.stderr


def test_serve_devnet_pays_out_with_zero_setup(tmp_path: Path) -> None:
    """The README's first command: one process starts the devnet child, the API and the
    engine with the funded demo wallet, and a payout made with the printed steps confirms."""
    port = _free_port()
    env = _clean_env(tmp_path / "data", TRONPAY_PORT=str(port))
    proc = subprocess.Popen(
        [TRONPAY, "serve", "--devnet"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    api = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{api}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "serve --devnet never became ready"
            time.sleep(0.2)
        token = subprocess.run(
            [TRONPAY, "token", "--sub", "demo", "--scope", "all"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "readme-demo"}
        created = httpx.post(
            f"{api}/v1/payouts",
            json={"to": RECIPIENT_NEW, "amount": "12.5"},
            headers=headers,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        payout_url = f"{api}/v1/payouts/{created.json()['id']}"
        deadline = time.monotonic() + 60
        while (
            status := httpx.get(payout_url, headers=headers, timeout=5).json()["status"]
        ) not in (
            "confirmed",
            "finalized",
        ):
            assert status in ("queued", "submitted"), status
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
    finally:
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0
    # The banner is on stdout, apart from the logs (stderr), after the server's start-up
    # lines, and no command in it is wrapped (stdout is not a terminal here).
    assert "next steps" in stdout
    assert "next steps" not in stderr
    [export] = [line for line in stdout.splitlines() if "export TRONPAY_TOKEN=" in line]
    assert export.strip().endswith("token --sub demo --scope all)")
    assert stdout.count("─" * 72) == 2
    assert "Application startup complete" in stderr
    assert demo_private_key().hex() not in stdout + stderr
    # Development logs are for humans even when piped: no JSON objects.
    assert not any(line.startswith("{") for line in stderr.splitlines())


def test_a_second_serve_on_the_same_data_directory_stops_before_starting_anything(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    lock = lock_directory(data)  # what a running `tronpay serve --devnet` holds
    try:
        result = subprocess.run(
            [TRONPAY, "serve", "--devnet", "--port", str(_free_port())],
            env=_clean_env(data),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        lock.release()
    assert result.returncode == 2
    assert f"already running on {data}" in result.stderr
    assert f"process {os.getpid()}" in result.stderr
    assert "next steps" not in result.stderr  # no banner, no devnet child
    assert not (data / "devnet").exists()


def test_serve_says_when_its_port_is_taken_before_starting_the_devnet(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [TRONPAY, "serve", "--devnet", "--port", str(port)],
            env=_clean_env(tmp_path / "data"),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "next steps" not in result.stderr
