"""A devnet payout flow through an API process and a real ``tronpay worker`` process, then
both scrapes, parsed with prometheus_client's parser: every documented family is there with
sensible values, labels are bounded, the request id reaches the worker's log lines, and no
key material is anywhere."""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.servers import TRONPAY, clean_env, free_port
from observability.support import Scrape, documented_metrics
from tron_devnet.genesis import demo_private_key
from tron_devnet.testing import DevnetHandle, run_devnet
from tronpay.app import create_app
from tronpay.auth import mint_token
from tronpay.config import Settings
from tronpay.db.base import Base

RECIPIENT = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"
REQUEST_ID = "req-observe-flow-1"
STAGES = ("queued_to_submitted", "submitted_to_confirmed", "confirmed_to_finalized")


@pytest.fixture
def devnet() -> Iterator[DevnetHandle]:
    with run_devnet(block_time_s=0.3, solidify_depth=2) as handle:
        yield handle


@dataclass(frozen=True)
class Deployment:
    app: FastAPI
    client: httpx.AsyncClient
    worker: subprocess.Popen[bytes]
    worker_metrics: str
    worker_log: Path
    key_hex: str


def _key_file(tmp_path: Path) -> Path:
    key_file = tmp_path / "hot.key"
    key_file.write_text(demo_private_key().hex())
    key_file.chmod(0o600)
    return key_file


@pytest.fixture
async def deployment(
    tmp_path: Path, db_url: str, devnet: DevnetHandle
) -> AsyncIterator[Deployment]:
    secret = secrets.token_hex(32).encode()
    secret_file = tmp_path / "jwt.secret"
    secret_file.write_bytes(secret)
    secret_file.chmod(0o600)
    key_file = _key_file(tmp_path)
    settings = Settings(
        env="development",
        data_dir=tmp_path / "data",
        database_url=db_url,
        node_urls=[devnet.url],
        hot_wallet_key_file=key_file,
        jwt_hs256_secret_file=secret_file,
        metrics_db_refresh_s=0,
        metrics_chain_refresh_s=0,
    )
    app = create_app(settings)  # an API replica: the engine runs in the worker process
    async with app.state.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    port = free_port()
    env = clean_env(
        tmp_path / "worker-data",
        TRONPAY_DATABASE_URL=db_url,
        TRONPAY_NETWORK="devnet",
        TRONPAY_NODE_URLS=devnet.url,
        TRONPAY_HOT_WALLET_KEY_FILE=str(key_file),
        TRONPAY_METRICS_HOST="127.0.0.1",
        TRONPAY_METRICS_PORT=str(port),
        TRONPAY_METRICS_DB_REFRESH_S="0",
        TRONPAY_METRICS_CHAIN_REFRESH_S="0",
        TRONPAY_LOG_FORMAT="json",
        TRONPAY_ENGINE_TICK_S="0.1",
        TRONPAY_ENGINE_REBROADCAST_INTERVAL_S="0.5",
    )
    worker_log = tmp_path / "worker.log"
    token = mint_token(secret, sub="ops", scopes=["payouts:read", "payouts:write"], ttl_s=600)
    with worker_log.open("wb") as log:
        worker = subprocess.Popen([TRONPAY, "worker"], env=env, stdout=log, stderr=log)
        try:
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="http://tronpay.test",
                    headers={"Authorization": f"Bearer {token}"},
                ) as client,
            ):
                yield Deployment(
                    app,
                    client,
                    worker,
                    f"http://127.0.0.1:{port}/metrics",
                    worker_log,
                    demo_private_key().hex(),
                )
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()


async def _scrape_worker(url: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            try:
                response = await http.get(url)
                if response.status_code == 200:
                    assert response.headers["content-type"].startswith("text/plain")
                    return response.text
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the worker's metrics listener did not answer at {url}")
            await asyncio.sleep(0.2)


async def _pay_one(client: httpx.AsyncClient) -> str:
    created = await client.post(
        "/v1/payouts",
        json={"to": RECIPIENT, "amount": "2.5"},
        headers={"Idempotency-Key": "observe-flow-1", "X-Request-ID": REQUEST_ID},
    )
    assert created.status_code == 201, created.text
    assert created.headers["x-request-id"] == REQUEST_ID
    payout_id: str = created.json()["id"]
    deadline = time.monotonic() + 90
    while True:
        status = (await client.get(f"/v1/payouts/{payout_id}")).json()["status"]
        if status == "finalized":
            return payout_id
        assert status not in ("failed", "cancelled"), status
        if time.monotonic() > deadline:
            raise AssertionError(f"payout {payout_id} still {status}")
        await asyncio.sleep(0.2)


async def test_api_and_worker_scrapes_after_a_devnet_payout(deployment: Deployment) -> None:
    await _scrape_worker(deployment.worker_metrics)  # the worker is up
    payout_id = await _pay_one(deployment.client)

    api_text = (await deployment.client.get("/metrics")).text
    worker_text = await _scrape_worker(deployment.worker_metrics)
    api = Scrape.parse(api_text)
    worker = Scrape.parse(worker_text)

    documented = documented_metrics()
    assert len(documented) >= 20
    for scrape in (api, worker):
        missing = [name for name in documented if not scrape.exports(name)]
        assert missing == []

    # the API replica: it created the payout, answered HTTP, and reads the shared database
    assert api.value("tronpay_payouts_created_total", asset="USDT") >= 1
    assert api.value("tronpay_payouts", status="finalized", asset="USDT") >= 1
    assert api.value("tronpay_payouts", status="queued", asset="USDT") == 0
    assert (
        api.value("tronpay_http_requests_total", route="/v1/payouts", method="POST", status="201")
        >= 1
    )
    assert (
        api.value("tronpay_http_requests_total", route="/v1/payouts/{payout_id}", method="GET") >= 1
    )
    routes = api.label_values("tronpay_http_requests", "route")
    assert not any(payout_id in route for route in routes)
    assert api.value("tronpay_http_request_seconds_count", route="/v1/payouts") >= 1
    assert 9_000_000 < api.value("tronpay_wallet_balance", asset="USDT") < 10_000_001

    # the worker: it paid the payout through every stage
    for stage in STAGES:
        assert worker.value("tronpay_payout_stage_seconds_count", stage=stage) >= 1
    assert worker.value("tronpay_payout_stage_seconds_sum", stage="queued_to_submitted") < 60
    assert worker.value("tronpay_attempts_total", outcome="signed") >= 1
    assert worker.value("tronpay_attempts_total", outcome="success") >= 1
    assert worker.value("tronpay_attempts_total", outcome="expired") == 0
    # a new USDT holder from a wallet without stake: 130,285 energy, all burned at 100 sun
    assert worker.value("tronpay_energy_used_total", source="burned") >= 130_285
    assert worker.value("tronpay_fees_burned_sun_total") >= 13_028_500
    assert worker.value("tronpay_payouts", status="finalized", asset="USDT") >= 1
    node_labels = worker.label_values("tronpay_node_requests", "node")
    assert node_labels
    assert all(label.startswith("127.0.0.1:") for label in node_labels)
    endpoints = worker.label_values("tronpay_node_requests", "endpoint")
    assert "/wallet/broadcasthex" in endpoints or "/wallet/broadcasttransaction" in endpoints
    assert worker.value("tronpay_node_requests_total", outcome="ok") > 0
    assert worker.value("tronpay_node_request_seconds_count") > 0
    assert worker.value("tronpay_node_head_lag_blocks") == 0
    assert worker.label_values("tronpay_node_head_lag_blocks", "node") == node_labels
    assert worker.value("tronpay_wallet_balance", asset="TRX") > 0
    assert worker.value("tronpay_wallet_bandwidth_available") >= 0

    # no key material in either scrape
    for text in (api_text, worker_text):
        assert deployment.key_hex not in text.lower()

    deployment.worker.send_signal(signal.SIGTERM)
    assert deployment.worker.wait(timeout=30) == 0
    lines = [json.loads(line) for line in deployment.worker_log.read_text().splitlines() if line]
    assert lines, "the worker logged nothing"
    for line in lines:
        assert "." in line["event"]
        assert line["timestamp"].endswith("Z")
    assert {"metrics.listening", "engine.start", "engine.stop"} <= {ln["event"] for ln in lines}
    traced = [
        ln
        for ln in lines
        if ln["event"] == "payout.transition" and ln.get("payout_id") == payout_id
    ]
    assert {ln["to_status"] for ln in traced} >= {"submitted", "confirmed", "finalized"}
    assert all(ln["request_id"] == REQUEST_ID for ln in traced)
    assert deployment.key_hex not in deployment.worker_log.read_text().lower()
