"""deploy/prometheus/alerts.yml and deploy/grafana/tronpay.json use only metrics the service
exports (checked against a real scrape), the documented table matches the registry, and
``promtool check rules`` accepts the rules (Debian's ``prometheus`` package provides it;
``TRONPAY_REQUIRE_PROMTOOL=1`` makes its absence a failure, as CI sets)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI

from observability.support import ROOT, Scrape, documented_metrics, metric_names_in

ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "tronpay.json"


async def _scrape(app: FastAPI) -> Scrape:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    return Scrape.parse(response.text)


def _alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


async def test_every_metric_in_the_alerts_and_the_dashboard_is_exported(app: FastAPI) -> None:
    scrape = await _scrape(app)
    rules = _alert_rules()
    exprs = _dashboard_exprs()
    assert len(rules) >= 9
    assert len(exprs) >= 15
    used = set()
    for text in [rule["expr"] for rule in rules] + exprs:
        names = metric_names_in(text)
        assert names, text
        used |= names
    assert sorted(name for name in used if not scrape.exports(name)) == []


def test_the_alerts_cover_what_an_operator_must_hear_about() -> None:
    names = {rule["alert"] for rule in _alert_rules()}
    assert {
        "TronpayWalletTrxLow",
        "TronpayWalletUsdtLow",
        "TronpayPayoutsBlocked",
        "TronpayPayoutsStuck",
        "TronpayNoFinalizedPayouts",
        "TronpayNodeUnreachable",
        "TronpayNodeLagging",
        "TronpayWebhookFailuresPilingUp",
        "TronpayReconciliationMismatch",
        "TronpayExpiredAttemptIncluded",
    } <= names
    for rule in _alert_rules():
        assert rule["annotations"]["summary"]
        assert rule["labels"]["severity"] in {"warning", "critical"}


async def test_the_documented_table_is_exactly_what_the_service_exports(app: FastAPI) -> None:
    scrape = await _scrape(app)
    documented = documented_metrics()
    assert len(documented) == len(set(documented))
    exported = {name for name in scrape.families if name.startswith("tronpay_")}
    documented_families = {
        name.removesuffix("_total") if name.endswith("_total") else name for name in documented
    }
    # every family the service exports is documented (an undocumented one would be a
    # name no operator can rely on), and every documented one is exported
    assert exported - documented_families == set()
    assert documented_families - exported == set()


def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("TRONPAY_REQUIRE_PROMTOOL") == "1":
            pytest.fail("promtool is required (apt-get install prometheus)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    result = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 11 rules found" in result.stdout
