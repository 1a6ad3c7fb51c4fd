"""``GET /metrics`` on the API: access modes, route templates on both create paths, the
database gauges, request ids stored with payouts, ``/ready``'s detail and the metrics
listener of ``TRONPAY_METRICS_PORT``."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import select

from observability.conftest import RECIPIENT, started
from observability.support import Scrape, documented_metrics
from tronpay.config import MetricsAuth, Settings
from tronpay.db.session import read_transaction
from tronpay.observability.http import HttpMetrics
from tronpay.observability.metrics import BLOCK_REASONS, block_reason_label, node_request
from tronpay.observability.scrape import DatabaseGauges, MetricsListener
from tronpay.payouts.models import Payout


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _create(client: httpx.AsyncClient, key: str, **headers: str) -> httpx.Response:
    response = await client.post(
        "/v1/payouts",
        json={"to": RECIPIENT, "amount": "1.5"},
        headers={"Idempotency-Key": key, **headers},
    )
    assert response.status_code == 201, response.text
    return response


async def test_metrics_are_open_in_development_and_list_every_documented_family(
    app: FastAPI,
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as anon:
        response = await anon.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    scrape = Scrape.parse(response.text)
    assert [name for name in documented_metrics() if not scrape.exports(name)] == []


async def test_token_mode_needs_the_metrics_read_scope(
    make_settings: Callable[..., Settings], token: Callable[..., str]
) -> None:
    app = await started(make_settings(metrics_auth="token"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        assert (await http.get("/metrics")).status_code == 401
        wrong = await http.get(
            "/metrics", headers={"Authorization": f"Bearer {token('payouts:read')}"}
        )
        assert wrong.status_code == 403
        assert wrong.json()["code"] == "insufficient_scope"
        right = await http.get(
            "/metrics", headers={"Authorization": f"Bearer {token('metrics:read')}"}
        )
        assert right.status_code == 200
        assert "tronpay_http_requests_total" in right.text
    await app.state.engine.dispose()


def test_production_defaults_to_the_token_and_development_to_open() -> None:
    assert Settings(env="development").effective_metrics_auth is MetricsAuth.OPEN
    assert Settings(env="production").effective_metrics_auth is MetricsAuth.TOKEN
    assert (
        Settings(env="production", metrics_auth="open").effective_metrics_auth is MetricsAuth.OPEN
    )


async def test_both_create_paths_count_under_the_route_template(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    create = {"route": "/v1/payouts", "method": "POST", "status": "201"}
    show = {"route": "/v1/payouts/{payout_id}", "method": "GET", "status": "200"}
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    before = {
        "create": _sample("tronpay_http_requests_total", **create),
        "show": _sample("tronpay_http_requests_total", **show),
        "unmatched": _sample("tronpay_http_requests_total", **unmatched),
        "usdt": _sample("tronpay_payouts_created_total", asset="USDT"),
    }
    fast = await _create(client, "fast-1")  # the fast lane
    app.state.payout_fast_lane = False
    await _create(client, "routed-1")  # FastAPI's route
    assert (await client.get(f"/v1/payouts/{fast.json()['id']}")).status_code == 200
    assert (await client.get("/v1/nothing/here")).status_code == 404
    assert _sample("tronpay_http_requests_total", **create) == before["create"] + 2
    assert _sample("tronpay_http_requests_total", **show) == before["show"] + 1
    assert _sample("tronpay_http_requests_total", **unmatched) == before["unmatched"] + 1
    assert _sample("tronpay_payouts_created_total", asset="USDT") == before["usdt"] + 2
    scrape = Scrape.parse((await client.get("/metrics")).text)
    routes = scrape.label_values("tronpay_http_requests", "route")
    assert not any(fast.json()["id"] in route or "nothing" in route for route in routes)
    # the database gauges: two queued USDT payouts, nothing else
    assert scrape.value("tronpay_payouts", status="queued", asset="USDT") == 2
    assert scrape.value("tronpay_payouts", status="finalized", asset="USDT") == 0
    assert scrape.value("tronpay_payout_oldest_seconds", status="queued") >= 0
    assert scrape.value("tronpay_webhook_queue_depth") == 2


async def test_the_request_id_is_returned_and_stored_with_the_payout(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    kept = await _create(client, "rid-1", **{"X-Request-ID": "client-req.42"})
    assert kept.headers["x-request-id"] == "client-req.42"
    replaced = await _create(client, "rid-2", **{"X-Request-ID": "x" * 101})
    generated = replaced.headers["x-request-id"]
    assert generated.startswith("req_")
    bad_chars = await _create(client, "rid-3", **{"X-Request-ID": "a b<script>"})
    assert bad_chars.headers["x-request-id"].startswith("req_")
    async with read_transaction(app.state.sessionmaker) as session:
        rows = (await session.execute(select(Payout.id, Payout.request_id))).all()
    stored = {row.id: row.request_id for row in rows}
    assert stored[kept.json()["id"]] == "client-req.42"
    assert stored[replaced.json()["id"]] == generated


async def test_ready_reports_each_check_with_its_state(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _create(client, "ready-1")
    ready = await client.get("/ready")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert set(checks) == {"database", "webhooks"}
    assert checks["database"]["state"] == "ok"
    assert checks["database"]["latency_ms"] >= 0
    assert checks["webhooks"]["state"] == "ok"
    assert checks["webhooks"]["pending"] == 1
    assert 0 <= checks["webhooks"]["oldest_s"] < 60

    async def broken() -> None:
        raise RuntimeError("the node is gone")

    app.state.readiness.register("node", broken)
    failing = await client.get("/ready")
    assert failing.status_code == 503
    assert failing.json()["checks"]["node"] == {
        "ok": False,
        "state": "error",
        "error": "RuntimeError",
    }


async def test_the_metrics_port_listener(app: FastAPI) -> None:
    gauges = DatabaseGauges(app.state.sessionmaker, refresh_s=0)
    listener = MetricsListener(gauges, "127.0.0.1", 0)
    await listener.start()
    try:
        base = f"http://127.0.0.1:{listener.port}"
        async with httpx.AsyncClient(timeout=5) as http:
            metrics = await http.get(f"{base}/metrics")
            assert metrics.status_code == 200
            assert Scrape.parse(metrics.text).exports("tronpay_payouts")
            assert (await http.get(f"{base}/health")).json() == {"status": "ok"}
            assert (await http.get(f"{base}/v1/payouts")).status_code == 404
            assert (await http.post(f"{base}/metrics")).status_code == 405
    finally:
        await listener.stop()


@pytest.mark.parametrize("reason", ["insufficient_trx", "policy:policy_daily_total", "weird"])
def test_blocked_reasons_are_bounded(reason: str) -> None:
    assert block_reason_label(reason) in BLOCK_REASONS


def test_node_requests_count_per_host_endpoint_and_outcome() -> None:
    url = "http://user:pw@node-a.example:8090/some/path"
    labels = {"node": "node-a.example:8090", "endpoint": "/wallet/gettransactioninfobyid"}
    before_ok = _sample("tronpay_node_requests_total", outcome="ok", **labels)
    before_down = _sample("tronpay_node_requests_total", outcome="unavailable", **labels)
    before_count = _sample("tronpay_node_request_seconds_count", **labels)
    before_sum = _sample("tronpay_node_request_seconds_sum", **labels)
    for _ in range(3):
        node_request(url, labels["endpoint"], "ok", 0.25)
    node_request(url, labels["endpoint"], "unavailable", 0.5)
    assert _sample("tronpay_node_requests_total", outcome="ok", **labels) == before_ok + 3
    assert _sample("tronpay_node_requests_total", outcome="unavailable", **labels) == (
        before_down + 1
    )
    assert _sample("tronpay_node_request_seconds_count", **labels) == before_count + 4
    assert _sample("tronpay_node_request_seconds_sum", **labels) == before_sum + 1.25
    # host and port only: never the path or the credentials of the URL
    nodes = {
        sample.labels["node"]
        for metric in REGISTRY.collect()
        if metric.name == "tronpay_node_requests"
        for sample in metric.samples
    }
    assert not any("pw" in node or "/" in node for node in nodes)


def test_http_series_stay_bounded_whatever_the_client_sends() -> None:
    http = HttpMetrics()
    for n in range(30):
        http({"method": f"BREW{n}"}, 405, 0.002)  # invented methods, no route matched
    http({"method": "GET", "tronpay.route": "/v1/payouts"}, 200, 0.3)
    families = {family.name: family for family in http.collect()}
    counts = {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for s in families["tronpay_http_requests"].samples
    }
    assert counts == {("unmatched", "other", "405"): 30, ("/v1/payouts", "GET", "200"): 1}
    buckets = {
        s.labels["le"]: s.value
        for s in families["tronpay_http_request_seconds"].samples
        if s.name.endswith("_bucket") and s.labels["route"] == "/v1/payouts"
    }
    assert buckets["0.25"] == 0
    assert buckets["0.5"] == buckets["+Inf"] == 1
