"""compose.yaml and deploy/k8s/, parsed (no Docker or cluster needed): every document loads
and every tronpay process runs hardened — non-root 65532, read-only root, no privilege
escalation, no capability, secrets as mounted files — with the probes and policies the
platform relies on. `docker compose config` runs too where a Compose tool is installed
(scripts/verify-image installs one)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
IMAGE = "pickme/lucid-tron-payment-service:1.0.0"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def _k8s() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def _kinds(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in _k8s() if doc["kind"] == kind]


@pytest.mark.parametrize("service", ["api", "worker", "migrate"])
def test_compose_tronpay_services_are_hardened(service: str) -> None:
    spec = _compose()["services"][service]
    assert spec["image"].endswith(IMAGE + "}")
    assert spec["read_only"] is True
    assert spec["user"] == "65532:65532"
    assert spec["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in spec["security_opt"]
    assert any(t.startswith("/app/tmp:") and "noexec" in t for t in spec["tmpfs"])
    targets = {s["target"] for s in spec["secrets"]}
    assert targets == {"/app/secrets/hot-wallet.key", "/app/secrets/jwt-public.pem"}
    env = spec["environment"]
    assert env["LUCID_ENV"] == "production"
    assert env["TRONPAY_NETWORK"].startswith("${TRONPAY_NETWORK:?")  # explicit, or no start
    assert env["TRONPAY_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert spec["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_commands_health_checks_and_restart() -> None:
    services = _compose()["services"]
    assert services["api"]["command"] == ["serve", "--no-engine"]
    assert services["worker"]["command"] == ["worker"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "worker", "postgres", "devnet"):
        assert services[name]["restart"] == "unless-stopped"
    api_check = services["api"]["healthcheck"]
    assert api_check["test"][:2] == ["CMD", "/opt/venv/bin/python"]  # exec form, no shell
    assert "/health" in api_check["test"][-1]
    assert services["worker"]["healthcheck"] == {"disable": True}  # no HTTP in the worker
    assert services["worker"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert services["devnet"]["profiles"] == ["devnet"]  # optional
    assert services["devnet"]["read_only"] is True
    secrets = _compose()["secrets"]
    assert {s["file"] for s in secrets.values()} == {
        "./secrets/hot-wallet.key",
        "./secrets/jwt-public.pem",
    }


def test_compose_config_when_a_compose_tool_is_installed(tmp_path: Path) -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("no docker-compose here (scripts/verify-image installs and runs it)")
    env = {
        **os.environ,
        "TRONPAY_NETWORK": "nile",
        "TRONPAY_JWT_AUDIENCE": "tronpay",
        "TRONPAY_JWT_ISSUER": "https://auth.example.com/",
    }
    done = subprocess.run(
        [tool, "-f", str(ROOT / "compose.yaml"), "--profile", "devnet", "config"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    rendered = yaml.safe_load(done.stdout)
    assert set(rendered["services"]) == {"migrate", "api", "worker", "postgres", "devnet"}
    assert rendered["services"]["api"]["environment"]["TRONPAY_NETWORK"] == "nile"
    missing = {k: v for k, v in env.items() if k != "TRONPAY_NETWORK"}
    refused = subprocess.run(
        [tool, "-f", str(ROOT / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        env=missing,
        check=False,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "TRONPAY_NETWORK" in refused.stderr


def test_every_k8s_document_parses_and_kustomize_lists_them() -> None:
    documents = _k8s()
    kinds = sorted(doc["kind"] for doc in documents)
    assert kinds == [
        "Deployment",
        "Deployment",
        "Kustomization",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
    ]
    kustomization = next(d for d in documents if d["kind"] == "Kustomization")
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


@pytest.mark.parametrize("name", ["tronpay-api", "tronpay-worker"])
def test_k8s_deployments_are_hardened(name: str) -> None:
    deployment = next(d for d in _kinds("Deployment") if d["metadata"]["name"] == name)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == 65532
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "add" not in security["capabilities"]
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    env = {e["name"]: e for e in container["env"]}
    assert env["LUCID_ENV"]["value"] == "production"
    assert env["TRONPAY_NETWORK"]["value"] in {"mainnet", "nile", "shasta", "devnet"}
    assert "secretKeyRef" in env["TRONPAY_DATABASE_URL"]["valueFrom"]
    # secrets as files on read-only secret volumes, owner-only
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    secret_volumes = [n for n, v in volumes.items() if "secret" in v]
    assert secret_volumes
    for volume in secret_volumes:
        assert volumes[volume]["secret"]["defaultMode"] == 0o400
        assert mounts[volume]["readOnly"] is True
        assert mounts[volume]["mountPath"].startswith("/app/secrets/")
    assert {mounts["logs"]["mountPath"], mounts["tmp"]["mountPath"]} == {"/app/logs", "/app/tmp"}
    file_settings = [k for k in env if k.endswith("_FILE") and k != "TRONPAY_POLICY_FILE"]
    assert file_settings
    for key in file_settings:
        assert env[key]["value"].startswith("/app/secrets/")


def test_k8s_api_probes_and_worker_key() -> None:
    api = next(d for d in _kinds("Deployment") if d["metadata"]["name"] == "tronpay-api")
    worker = next(d for d in _kinds("Deployment") if d["metadata"]["name"] == "tronpay-worker")
    (api_container,) = api["spec"]["template"]["spec"]["containers"]
    assert api_container["args"] == ["serve", "--no-engine"]
    assert api_container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert api_container["readinessProbe"]["httpGet"]["path"] == "/ready"
    api_env = {e["name"] for e in api_container["env"]}
    assert "TRONPAY_HOT_WALLET_KEY_FILE" not in api_env  # only the worker holds the key
    (worker_container,) = worker["spec"]["template"]["spec"]["containers"]
    assert worker_container["args"] == ["worker"]
    assert "TRONPAY_HOT_WALLET_KEY_FILE" in {e["name"] for e in worker_container["env"]}


def test_k8s_service_pdb_and_network_policy() -> None:
    (service,) = _kinds("Service")
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "api"
    assert service["spec"]["ports"][0]["port"] == 8090
    (pdb,) = _kinds("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "api"
    (policy,) = _kinds("NetworkPolicy")
    spec = policy["spec"]
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
    assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "tronpay"}
    egress_ports = sorted(
        {port["port"] for rule in spec["egress"] for port in rule.get("ports", [])}
    )
    assert egress_ports == [53, 443, 5432, 8090]  # DNS, the database and the TRON nodes only
    for rule in spec["egress"]:
        assert rule.get("to"), "an egress rule without 'to' would allow every destination"
