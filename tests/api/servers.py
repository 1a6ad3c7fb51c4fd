"""Helpers to run tronpay for tests: a real `tronpay serve` process (CLI, fuzzing) and the
settings of an in-process service."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url
from tests.conftest import postgres_base_url

from tron_devnet.genesis import demo_private_key
from tronpay.config import Settings

TRONPAY = str(Path(sys.executable).parent / "tronpay")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def service_settings(
    tmp_path: Path, *, database_url: str, node_url: str, secret: bytes, data_dir: Path
) -> Settings:
    """Development settings with the demo hot wallet and ``secret`` as the JWT secret, both
    in 0600 files under ``tmp_path``."""
    key_file = tmp_path / "hot.key"
    key_file.write_text(demo_private_key().hex())
    key_file.chmod(0o600)
    secret_file = tmp_path / "jwt.secret"
    secret_file.write_bytes(secret)
    secret_file.chmod(0o600)
    return Settings(
        env="development",
        data_dir=data_dir,
        database_url=database_url,
        node_urls=[node_url],
        hot_wallet_key_file=key_file,
        jwt_hs256_secret_file=secret_file,
    )


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRONPAY_", "LUCID_"))}
    env.pop("SERVICE_PORT", None)
    env.update({"TRONPAY_DATA_DIR": str(data_dir), "TRONPAY_ENV": "development"})
    env.update(extra)
    return env


@dataclass(frozen=True)
class Server:
    url: str
    env: dict[str, str]


@contextmanager
def running_server(
    workdir: Path, *, args: Sequence[str] = ("serve", "--no-engine"), **env_extra: str
) -> Iterator[Server]:
    """``tronpay <args>`` on a free port with a clean environment, until ``/ready``."""
    port = free_port()
    env = clean_env(workdir / "data", TRONPAY_PORT=str(port), **env_extra)
    log_path = workdir / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([TRONPAY, *args], env=env, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text())
                time.sleep(0.1)
            yield Server(url=url, env={**env, "TRONPAY_API_URL": url})
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A throw-away PostgreSQL database (SQLAlchemy URL) for a whole module."""
    base = postgres_base_url()
    name = f"tronpay_m_{secrets.token_hex(6)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_dsn(base), timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
