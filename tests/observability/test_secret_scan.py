"""No secret anywhere it should not be (issue 10, "Show"): a whole payout flow with webhooks
through real processes, then every surface it left is searched for every secret it used.

The flow: a devnet over HTTP; ``tronpay serve`` (the API; on PostgreSQL with the engine
inside) and ``tronpay worker`` (engine and webhooks) as real subprocesses logging JSON at
debug level to stdout/stderr and to their log files; a real webhook receiver on 127.0.0.1;
one payout and one batch paid to finality, a webhook endpoint registered and its secret
rotated (two secrets signing), ``wallet.low`` firing, requests refused for scope and expiry,
a request with a bad body.

The surfaces: every log line of both processes (stdout, stderr, log files), a scrape of
``/metrics`` of the API and of the worker, every API response (headers and body) collected
during the flow, every webhook request received (headers and body), and every row of every
table (reflected, each value stringified; bytes raw and as hex), plus the SQLite files as
they are on disk.

The secrets: the hot wallet's private key (hex in both cases, base58 with and without a
checksum, base64 standard and URL-safe, the raw bytes), every JWT sent, the HS256 secret,
and both webhook signing secrets (``whsec_...``, the raw key's base64 and bytes). Allowed,
and checked to be exactly there: each webhook secret in the one answer that hands it out
(register, rotate) and in ``webhook_endpoints.secret`` / ``previous_secret`` (the service
must sign with it; docs/security.md says so).

``test_the_scanner_finds_what_it_looks_for`` proves the scan can fail: every form of every
secret planted in a log line, a row value and a scrape is found, and a clean sample is not.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, select
from standardwebhooks.webhooks import Webhook
from tests.webhooks.receiver import Receiver, running_receiver

from api.servers import TRONPAY, clean_env, free_port
from node.support import DEMO_KEY
from tron_devnet.genesis import demo_private_key
from tron_devnet.testing import DevnetHandle, run_devnet
from tronpay.auth import mint_token
from tronpay.db.models import Base
from tronpay.db.session import create_engine
from tronpay.kit.money import format_amount
from tronpay.tron.address import b58encode
from tronpay.tron.node import NodeClient

RECIPIENT = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"
OTHER_RECIPIENT = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"
ALL_SCOPES = [
    "payouts:read",
    "payouts:write",
    "payouts:approve",
    "wallet:read",
    "webhooks:admin",
    "audit:read",
    "metrics:read",
]
# Columns that hold a webhook signing secret by design.
SECRET_COLUMNS = {("webhook_endpoints", "secret"), ("webhook_endpoints", "previous_secret")}


# -- the scanner ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Needle:
    """One form of one secret. ``secret`` names the secret (never its value)."""

    secret: str
    form: str
    data: bytes
    ignore_case: bool = False

    def found_in(self, hay: bytes) -> bool:
        if self.ignore_case:
            return self.data.lower() in hay.lower()
        return self.data in hay


def _b64_forms(raw: bytes) -> list[tuple[str, bytes]]:
    # Unpadded: also matches the padded text (and text where the padding was cut).
    return [
        ("base64", base64.b64encode(raw).rstrip(b"=")),
        ("base64url", base64.urlsafe_b64encode(raw).rstrip(b"=")),
    ]


def key_needles(name: str, raw: bytes) -> list[Needle]:
    """A private key: hex (lower, upper, and any case), base58 (plain and with a 4-byte
    double-SHA256 checksum), base64 (standard, URL-safe), raw bytes."""
    check = hashlib.sha256(hashlib.sha256(raw).digest()).digest()[:4]
    forms: list[tuple[str, bytes]] = [
        ("hex", raw.hex().encode()),
        ("HEX", raw.hex().upper().encode()),
        ("base58", b58encode(raw).encode()),
        ("base58check", b58encode(raw + check).encode()),
        *_b64_forms(raw),
        ("raw", raw),
    ]
    out = [Needle(name, form, data) for form, data in forms]
    out.append(Needle(name, "hex-any-case", raw.hex().encode(), ignore_case=True))
    return out


def text_needles(name: str, text: str) -> list[Needle]:
    return [Needle(name, "text", text.encode())]


def webhook_secret_needles(name: str, secret: str) -> list[Needle]:
    """``whsec_`` + base64(key): the whole secret, its base64 part, the key's other base64
    forms and the key's bytes."""
    encoded = secret.removeprefix("whsec_")
    key = base64.b64decode(encoded)
    return [
        Needle(name, "whsec", secret.encode()),
        Needle(name, "base64-part", encoded.rstrip("=").encode()),
        *(Needle(name, form, data) for form, data in _b64_forms(key)),
        Needle(name, "raw", key),
    ]


def find(needles: Iterable[Needle], haystacks: Mapping[str, bytes]) -> list[str]:
    """``"<where>: <secret> as <form>"`` for every needle found (never the value)."""
    hits = []
    for where, hay in haystacks.items():
        for needle in needles:
            if needle.found_in(hay):
                hits.append(f"{where}: {needle.secret} as {needle.form}")
    return hits


def value_bytes(value: Any) -> bytes:
    """A database value as searchable bytes: text as UTF-8, bytes raw plus their hex, JSON
    documents serialized, anything else through ``str``."""
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return raw + b"\n" + raw.hex().encode()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True).encode()
    return str(value).encode()


def response_bytes(response: httpx.Response) -> bytes:
    head = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return head.encode() + b"\n\n" + response.content


async def database_haystacks(db_url: str) -> dict[str, bytes]:
    """Every value of every row of every table, one haystack per table and column."""
    engine = create_engine(db_url)
    metadata = MetaData()
    out: dict[str, bytes] = {}
    try:
        async with engine.connect() as conn:
            await conn.run_sync(metadata.reflect)
            # every table the service has (and whatever else is there)
            assert set(Base.metadata.tables) <= set(metadata.tables)
            for table in metadata.sorted_tables:
                rows = (await conn.execute(select(table))).all()
                for column in table.columns:
                    values = [value_bytes(row._mapping[column.name]) for row in rows]
                    out[f"db {table.name}.{column.name}"] = b"\n".join(values)
    finally:
        await engine.dispose()
    return out


def test_the_scanner_finds_what_it_looks_for() -> None:
    """The control: each form of each kind of secret, planted where the real scan looks,
    is found; the same samples without it are clean."""
    key = secrets.token_bytes(32)
    token = mint_token(secrets.token_bytes(32), sub="x", scopes=["payouts:read"])
    webhook = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    needles = [
        *key_needles("key", key),
        *text_needles("jwt", token),
        *webhook_secret_needles("whsec", webhook),
    ]
    log_line = '{"event": "payout.transition", "payout_id": "po_1", "detail": "%s"}'
    clean = {
        "log": (log_line % "nothing").encode(),
        "row": value_bytes({"id": "po_1", "amount": "2.5"}) + value_bytes(b"\x00\x01"),
        "scrape": b'tronpay_wallet_balance{asset="TRX"} 12.5\n',
    }
    assert find(needles, clean) == []
    for needle in needles:
        text = needle.data.decode("latin-1")
        planted = {
            "log": (log_line % text).encode("latin-1"),
            "row": value_bytes({"memo": text}) + value_bytes(b"\x00" + needle.data + b"\x01"),
            "scrape": b'tronpay_x{label="' + needle.data + b'"} 1\n',
        }
        hits = find([needle], planted)
        assert len(hits) == 3, (needle.secret, needle.form, hits)
    # mixed case hex is caught too
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(key.hex()))
    assert find(key_needles("key", key), {"log": mixed.encode()}) == ["log: key as hex-any-case"]
    # and a secret inside a real database row is found by the row scan
    assert any(n.found_in(value_bytes(key)) for n in key_needles("key", key))


# -- the flow -----------------------------------------------------------------------------------


@dataclass
class Collected:
    """Everything the flow saw: API answers, and the answers that hand out a secret."""

    responses: list[tuple[str, httpx.Response]] = field(default_factory=list)
    handing_out: list[tuple[str, httpx.Response]] = field(default_factory=list)

    def keep(self, what: str, response: httpx.Response) -> httpx.Response:
        self.responses.append((what, response))
        return response


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    log_file: Path

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
                return -9
        return int(self.popen.returncode)

    def outputs(self) -> dict[str, bytes]:
        out = {}
        for path in (self.stdout, self.stderr, self.log_file):
            # the rotating log file handler may have rolled over: read its backups too
            for part in sorted(path.parent.glob(path.name + "*")):
                out[f"{self.name} {part.name}"] = part.read_bytes()
        return out


def _spawn(name: str, args: list[str], env: dict[str, str], workdir: Path) -> Process:
    stdout, stderr = workdir / f"{name}.stdout", workdir / f"{name}.stderr"
    log_file = workdir / f"{name}-logs" / f"{name}.log"
    env = {**env, "TRONPAY_LOG_FILE": str(log_file)}
    with stdout.open("wb") as out, stderr.open("wb") as err:
        popen = subprocess.Popen([TRONPAY, *args], env=env, stdout=out, stderr=err)
    return Process(name, popen, stdout, stderr, log_file)


@pytest.fixture
def devnet() -> Iterator[DevnetHandle]:
    with run_devnet(block_time_s=0.3, solidify_depth=2) as handle:
        yield handle


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@dataclass
class Deployment:
    api_url: str
    worker_metrics: str
    processes: list[Process]
    jwt_secret: str
    key: bytes
    low_trx: str
    db_url: str
    sqlite_files: list[Path]
    postgres: bool


@pytest.fixture
async def deployment(
    tmp_path: Path, db_url: str, devnet: DevnetHandle
) -> AsyncIterator[Deployment]:
    jwt_secret = secrets.token_hex(32)
    secret_file = tmp_path / "jwt.secret"
    secret_file.write_text(jwt_secret)
    secret_file.chmod(0o600)
    key = demo_private_key()
    key_file = tmp_path / "hot.key"
    key_file.write_text(key.hex())
    key_file.chmod(0o600)
    postgres = not db_url.startswith("sqlite")
    async with NodeClient([devnet.url], timeout=httpx.Timeout(5.0)) as node:
        balance = (await node.account(DEMO_KEY.address)).balance_sun
    common = {
        "TRONPAY_DATABASE_URL": db_url,
        "TRONPAY_NETWORK": "devnet",
        "TRONPAY_NODE_URLS": devnet.url,
        "TRONPAY_HOT_WALLET_KEY_FILE": str(key_file),
        "TRONPAY_LOG_FORMAT": "json",
        "TRONPAY_LOG_LEVEL": "debug",
        "TRONPAY_LOG_ACCESS": "true",
        "TRONPAY_METRICS_DB_REFRESH_S": "0",
        "TRONPAY_METRICS_CHAIN_REFRESH_S": "0",
        "TRONPAY_ENGINE_TICK_S": "0.1",
        "TRONPAY_ENGINE_REBROADCAST_INTERVAL_S": "0.5",
        "TRONPAY_WEBHOOK_ALLOW_PRIVATE": "true",
        "TRONPAY_WEBHOOK_POLL_S": "0.1",
        "TRONPAY_WEBHOOK_RETRY_BASE_S": "0.2",
        # 1 TRX below the wallet's TRX now: the flow's fees and TRX payout cross it, after
        # the webhook endpoint is registered
        "TRONPAY_WALLET_LOW_TRX": format_amount(balance - 1_000_000),
        "TRONPAY_WALLET_LOW_CHECK_S": "1",
    }
    api_port = free_port()
    api_env = clean_env(
        tmp_path / "api-data",
        **common,
        TRONPAY_PORT=str(api_port),
        TRONPAY_JWT_HS256_SECRET_FILE=str(secret_file),
    )
    # SQLite has one engine: there the API serves without it and the worker pays.
    api_args = ["serve"] if postgres else ["serve", "--no-engine"]
    api = _spawn("api", api_args, api_env, tmp_path)
    processes = [api]
    api_url = f"http://127.0.0.1:{api_port}"
    try:
        await _wait_http(f"{api_url}/ready", api)
        metrics_port = free_port()
        worker_env = clean_env(
            tmp_path / "worker-data",
            **common,
            TRONPAY_METRICS_HOST="127.0.0.1",
            TRONPAY_METRICS_PORT=str(metrics_port),
        )
        worker = _spawn("worker", ["worker"], worker_env, tmp_path)
        processes.append(worker)
        worker_metrics = f"http://127.0.0.1:{metrics_port}/metrics"
        await _wait_http(worker_metrics, worker)
        sqlite_files = [] if postgres else [Path(db_url.split("///", 1)[1])]
        yield Deployment(
            api_url,
            worker_metrics,
            processes,
            jwt_secret,
            key,
            format_amount(balance - 1_000_000),
            db_url,
            sqlite_files,
            postgres,
        )
    finally:
        for process in reversed(processes):
            process.stop()


async def _wait_http(url: str, process: Process, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if process.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"{process.name} did not come up: {process.stderr.read_text()[-2000:]}"
                )
            await asyncio.sleep(0.1)


async def _until(what: str, check: Any, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.25)


async def test_no_secret_on_any_surface_after_a_full_flow(
    deployment: Deployment, receiver: Receiver
) -> None:
    d = deployment
    seen = Collected()
    good = mint_token(d.jwt_secret.encode(), sub="ops", scopes=ALL_SCOPES, ttl_s=600)
    narrow = mint_token(d.jwt_secret.encode(), sub="reader", scopes=["payouts:read"], ttl_s=600)
    expired = mint_token(
        d.jwt_secret.encode(), sub="ops", scopes=ALL_SCOPES, now=int(time.time()) - 7200
    )
    async with httpx.AsyncClient(
        base_url=d.api_url, headers={"Authorization": f"Bearer {good}"}, timeout=30
    ) as api:
        # a webhook endpoint, its secret rotated with an overlap: two secrets sign
        registered = await api.post("/v1/webhooks", json={"url": receiver.url})
        assert registered.status_code == 201, registered.text
        seen.handing_out.append(("register", registered))
        hook_id = registered.json()["id"]
        first_secret = registered.json()["secret"]
        rotated = await api.post(
            f"/v1/webhooks/{hook_id}/rotate-secret", json={"overlap_seconds": 3600}
        )
        assert rotated.status_code == 200, rotated.text
        seen.handing_out.append(("rotate", rotated))
        second_secret = rotated.json()["secret"]
        assert second_secret != first_secret

        # a payout and a batch (TRX and USDT), with request ids
        single = seen.keep(
            "create payout",
            await api.post(
                "/v1/payouts",
                json={"to": RECIPIENT, "amount": "2.5", "reference": "scan-1"},
                headers={"Idempotency-Key": "scan-1", "X-Request-ID": "scan-req-1"},
            ),
        )
        assert single.status_code == 201, single.text
        batch = seen.keep(
            "create batch",
            await api.post(
                "/v1/batches",
                json={
                    "items": [
                        {"to": OTHER_RECIPIENT, "amount": "1.5", "asset": "TRX"},
                        {"to": RECIPIENT, "amount": "1", "memo": "scan batch"},
                    ]
                },
                headers={"Idempotency-Key": "scan-batch-1"},
            ),
        )
        assert batch.status_code == 201, batch.text
        batch_id = batch.json()["id"]
        # a replay, refusals and a bad body
        seen.keep(
            "replay",
            await api.post(
                "/v1/payouts",
                json={"to": RECIPIENT, "amount": "2.5", "reference": "scan-1"},
                headers={"Idempotency-Key": "scan-1"},
            ),
        )
        refused = seen.keep(
            "narrow scope",
            await api.post(
                "/v1/payouts",
                json={"to": RECIPIENT, "amount": "1"},
                headers={"Authorization": f"Bearer {narrow}", "Idempotency-Key": "scan-2"},
            ),
        )
        assert refused.status_code == 403
        late = seen.keep(
            "expired", await api.get("/v1/payouts", headers={"Authorization": f"Bearer {expired}"})
        )
        assert late.status_code == 401
        bad = seen.keep(
            "bad body",
            await api.post(
                "/v1/payouts",
                json={"to": "T-not-an-address", "amount": "1e3"},
                headers={"Idempotency-Key": "scan-3"},
            ),
        )
        assert bad.status_code == 422

        async def all_final() -> bool:
            page = seen.keep("list", await api.get("/v1/payouts", params={"limit": 50}))
            statuses = [p["status"] for p in page.json()["items"]]
            assert not {"failed", "cancelled"} & set(statuses), statuses
            return len(statuses) == 3 and set(statuses) == {"finalized"}

        await _until("every payout finalized", all_final)

        def received(kind: str) -> list[dict[str, Any]]:
            bodies = [json.loads(r.body) for r in receiver.snapshot()]
            return [b for b in bodies if b["type"] == kind]

        async def events_in() -> bool:
            return (
                len(received("payout.finalized")) == 3
                and len(received("batch.completed")) == 1
                and len(received("wallet.low")) >= 1
            )

        await _until("the webhooks", events_in, timeout_s=60)
        (completed,) = received("batch.completed")
        shown = seen.keep("batch", await api.get(f"/v1/batches/{batch_id}"))
        assert completed["data"] == shown.json()
        (low, *_) = received("wallet.low")
        assert low["data"]["asset_or_resource"] == "TRX"
        assert low["data"]["threshold"] == d.low_trx
        assert low["data"]["address"] == DEMO_KEY.address
        for request in receiver.snapshot():
            Webhook(second_secret).verify(request.body, request.headers)
            Webhook(first_secret).verify(request.body, request.headers)

        for what, path in [
            ("payout", f"/v1/payouts/{single.json()['id']}"),
            ("batch payouts", f"/v1/batches/{batch_id}/payouts"),
            ("wallet", "/v1/wallet"),
            ("webhooks", "/v1/webhooks"),
            ("webhook", f"/v1/webhooks/{hook_id}"),
            ("deliveries", f"/v1/webhooks/{hook_id}/deliveries"),
            ("audit", "/v1/audit"),
            ("ready", "/ready"),
            ("health", "/health"),
            ("openapi", "/openapi.json"),
        ]:
            answer = seen.keep(what, await api.get(path))
            assert answer.status_code == 200, (what, answer.text)
        api_scrape = seen.keep("api metrics", await api.get("/metrics"))
        assert b"tronpay_wallet_low" in api_scrape.content
    async with httpx.AsyncClient(timeout=10) as http:
        worker_scrape = await http.get(d.worker_metrics)
    assert worker_scrape.status_code == 200
    assert b'tronpay_wallet_low{kind="TRX"} 1.0' in worker_scrape.content

    for process in d.processes:
        assert process.stop() == 0, process.stderr.read_text()[-2000:]

    # -- the haystacks
    haystacks: dict[str, bytes] = {}
    for process in d.processes:
        haystacks.update(process.outputs())
    assert any(b"payout.transition" in hay for hay in haystacks.values())
    assert any(b"wallet.low" in hay for hay in haystacks.values())
    haystacks["worker /metrics"] = worker_scrape.content
    for n, (what, response) in enumerate(seen.responses):
        haystacks[f"response {n} {what}"] = response_bytes(response)
    for n, request in enumerate(receiver.snapshot()):
        head = "\n".join(f"{k}: {v}" for k, v in request.headers.items()).encode()
        haystacks[f"webhook {n}"] = head + b"\n\n" + request.body
    database = await database_haystacks(d.db_url)
    files = {f"file {p.name}": p.read_bytes() for f in d.sqlite_files for p in _with_wal(f)}
    assert len(haystacks) > 40
    assert len(database) > 100

    key_and_tokens = [
        *key_needles("hot wallet key", d.key),
        *text_needles("jwt (all scopes)", good),
        *text_needles("jwt (narrow)", narrow),
        *text_needles("jwt (expired)", expired),
        *text_needles("hs256 secret", d.jwt_secret),
    ]
    webhook_secrets = [
        *webhook_secret_needles("webhook secret 1", first_secret),
        *webhook_secret_needles("webhook secret 2", second_secret),
    ]

    # The scanner works on this very data: the answers that hand out a secret contain it,
    # and so do the columns that must hold them.
    for what, response in seen.handing_out:
        assert find(webhook_secrets, {what: response_bytes(response)}), what
    assert find(webhook_secrets, {"col": database["db webhook_endpoints.secret"]})
    assert find(webhook_secrets, {"col": database["db webhook_endpoints.previous_secret"]})

    everywhere = {**haystacks, **database, **files}
    assert find(key_and_tokens, everywhere) == []
    not_secret_columns = {
        where: hay
        for where, hay in {**haystacks, **database}.items()
        if tuple(where.removeprefix("db ").split(".", 1)) not in SECRET_COLUMNS
    }
    assert find(webhook_secrets, not_secret_columns) == []


def _with_wal(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
