"""The production-like run: a tron_devnet and a PostgreSQL database on the host, secrets in a
private directory mounted read-only, then from the one image a schema migration, an API
container (``serve --no-engine``) and a ``worker`` container, all ``--read-only``, as 65532,
with every capability dropped and no new privileges. A payout created through the API is
paid by the worker and followed to ``finalized``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from checks import (
    Result,
    check_identity,
    check_no_shell,
    check_ready,
    check_secrets_absent,
    check_size,
    check_stop,
    check_time_to_healthy,
    check_writes,
    filesystem_sizes,
    timed,
    wait_healthy,
)
from host import Docker

from tron_devnet.testing import run_devnet
from tronpay.auth import mint_token
from tronpay.tron.keys import PrivateKey

IMAGE = "pickme/lucid-tron-payment-service:verify"
DEV_IMAGE = "pickme/lucid-tron-payment-service:verify-dev"
RECIPIENT = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"
AUDIENCE = "tronpay-verify"
ISSUER = "verify-image"
POSTGRES_ADMIN_URL = os.environ.get(
    "TRONPAY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
PAYOUT_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Secrets:
    directory: Path
    jwt_secret: bytes
    hot_wallet_key: bytes

    @property
    def values(self) -> tuple[bytes, ...]:
        return (self.jwt_secret, self.hot_wallet_key)


@contextlib.contextmanager
def secret_files() -> Iterator[Secrets]:
    """A private directory owned by 65532 (0700) with 0400 key files, as production mounts."""
    directory = Path(tempfile.mkdtemp(prefix="tronpay-verify-secrets-"))
    jwt_secret = secrets.token_hex(32).encode()
    hot_wallet_key = secrets.token_hex(32).encode()
    try:
        for name, value in (("jwt.secret", jwt_secret), ("hot-wallet.key", hot_wallet_key)):
            path = directory / name
            path.write_bytes(value)
            path.chmod(0o400)
            shutil.chown(path, 65532, 65532)
        directory.chmod(0o700)
        shutil.chown(directory, 65532, 65532)
        yield Secrets(directory, jwt_secret, hot_wallet_key)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A throw-away database on the host's PostgreSQL; its asyncpg URL."""
    admin = POSTGRES_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    name = f"tronpay_verify_{os.getpid()}"

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def production_args(secrets_dir: Path, logs_dir: Path, env: dict[str, str]) -> list[str]:
    """``docker run`` options as production runs the image."""
    args = [
        "--read-only",
        "--user=65532:65532",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        "--network=host",
        f"--volume={secrets_dir}:/app/secrets:ro",
        f"--volume={logs_dir}:/app/logs",
        "--tmpfs=/app/tmp:rw,noexec,nosuid,size=16m,uid=65532,gid=65532",
    ]
    for key, value in env.items():
        args.append(f"--env={key}={value}")
    return args


def run_scenario(docker: Docker) -> list[Result]:
    with (
        run_devnet(block_time_s=0.3, solidify_depth=2) as devnet,
        postgres_database() as database_url,
        secret_files() as keys,
        tempfile.TemporaryDirectory(prefix="tronpay-verify-logs-") as logs,
    ):
        os.chmod(logs, 0o700)
        shutil.chown(logs, 65532, 65532)
        wallet = PrivateKey(bytes.fromhex(keys.hot_wallet_key.decode())).address
        httpx.post(
            f"{devnet.url}/admin/mint",
            json={"address": wallet, "trx_sun": 10_000 * 10**6, "usdt_units": 10_000 * 10**6},
            timeout=30,
        ).raise_for_status()
        port = free_port()
        env = {
            "TRONPAY_NETWORK": "devnet",
            "TRONPAY_NODE_URLS": devnet.url,
            "TRONPAY_DATABASE_URL": database_url,
            "TRONPAY_PORT": str(port),
            "TRONPAY_JWT_HS256_SECRET_FILE": "/app/secrets/jwt.secret",
            "TRONPAY_JWT_AUDIENCE": AUDIENCE,
            "TRONPAY_JWT_ISSUER": ISSUER,
            "TRONPAY_HOT_WALLET_KEY_FILE": "/app/secrets/hot-wallet.key",
            "TRONPAY_POLICY_FILE": "/app/configs/policy.devnet.toml",
        }
        run_args = production_args(keys.directory, Path(logs), env)
        return _prove(docker, run_args, keys, f"http://127.0.0.1:{port}")


def _prove(docker: Docker, run_args: list[str], keys: Secrets, base_url: str) -> list[Result]:
    results: list[Result] = []
    migrated = docker("run", "--rm", *run_args, IMAGE, "db", "upgrade", check=False, timeout=300)
    results.append(
        Result(
            "tronpay db upgrade (one-shot container)",
            migrated.code == 0,
            migrated.out.strip() or migrated.err.strip()[-1500:],
        )
    )
    if migrated.code != 0:
        return results
    started = time.monotonic()
    api = docker.run_detached(
        "--name=tronpay-verify-api",
        "--health-interval=1s",
        *run_args,
        IMAGE,
        "serve",
        "--no-engine",
    )
    worker = docker.run_detached(
        "--name=tronpay-verify-worker", "--no-healthcheck", *run_args, IMAGE, "worker"
    )
    healthy = wait_healthy(docker, api, started)
    results += [healthy.result, check_time_to_healthy(healthy)]
    if not healthy.result.ok:
        return results
    results.append(timed("/ready", lambda: check_ready(base_url)))
    results.append(timed("payout finalized", lambda: _payout(base_url, keys.jwt_secret)))
    sizes = filesystem_sizes(docker, api)
    results.append(timed("no shell", lambda: check_no_shell(docker, api, sizes)))
    results.append(timed("API runs as 65532", lambda: check_identity(docker, api, "API")))
    results.append(timed("worker runs as 65532", lambda: check_identity(docker, worker, "worker")))
    results.append(timed("writes", lambda: check_writes(docker, api)))
    results.append(
        timed("secrets", lambda: check_secrets_absent(docker, IMAGE, [api, worker], keys.values))
    )
    results.append(timed("size", lambda: check_size(docker, IMAGE, sizes)))
    results.append(timed("stop api", lambda: check_stop(docker, api, "API container")))
    results.append(timed("stop worker", lambda: check_stop(docker, worker, "worker container")))
    return results


def _payout(base_url: str, jwt_secret: bytes) -> Result:
    token = mint_token(
        jwt_secret,
        sub="verify-image",
        scopes=["payouts:read", "payouts:write"],
        ttl_s=900,
        audience=AUDIENCE,
        issuer=ISSUER,
    )
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        created = client.post(
            "/v1/payouts",
            json={"to": RECIPIENT, "amount": "12.5", "asset": "USDT"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        if created.status_code >= 300:
            return Result(
                "payout finalized", False, f"create: {created.status_code} {created.text}"
            )
        payout_id = created.json()["id"]
        deadline = time.monotonic() + PAYOUT_TIMEOUT_S
        status = created.json()["status"]
        while time.monotonic() < deadline:
            payout = client.get(f"/v1/payouts/{payout_id}").json()
            status = payout["status"]
            if status in {"finalized", "failed", "cancelled"}:
                break
            time.sleep(0.5)
    return Result(
        "payout finalized",
        status == "finalized",
        f"{payout_id} 12.5 USDT created through the API container, paid by the worker "
        f"container: {status} (txid {payout.get('txid')})",
    )
