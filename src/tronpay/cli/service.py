"""CLI commands: ``tronpay serve``, ``tronpay db upgrade``, ``tronpay payouts ...`` and
``tronpay batches import``.

The payouts and batches commands talk to a running service over its HTTP API (httpx), with
the base URL from ``--api-url`` / ``TRONPAY_API_URL`` and the bearer token from ``--token`` /
``TRONPAY_TOKEN`` (``tronpay token`` prints one).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import httpx
import typer
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from tronpay.api.server import ACCEPT_BACKLOG, WORKER_PROTOCOL, uvicorn_config
from tronpay.app import create_app
from tronpay.cli import serving
from tronpay.config import Network, Settings
from tronpay.db import migrate
from tronpay.db.backup import POSTGRES_BACKUP_HELP, BackupError, backup_sqlite, sqlite_path
from tronpay.devnet_runner import RunningDevnet, devnet_process
from tronpay.errors import ConfigError, TronpayError
from tronpay.kit.instance import DirectoryInUse, DirectoryLock, lock_directory, port_is_free
from tronpay.observability.logs import configure_logging
from tronpay.startup import hot_wallet_address, signer_configured

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
payouts_app = typer.Typer(no_args_is_help=True, help="Payouts, through the HTTP API.")
batches_app = typer.Typer(no_args_is_help=True, help="Batches, through the HTTP API.")

# soft_wrap: a long command or path is never broken across lines (a copied command must run;
# a script reading the output must find it whole); the terminal wraps it for the eye.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

TERMINAL = frozenset({"finalized", "failed", "cancelled"})
DEFAULT_API_URL = "http://127.0.0.1:8090"
DEVNET_PORT = serving.DEVNET_PORT
DEVNET_POLICY = Path(__file__).resolve().parents[3] / "configs" / "policy.devnet.toml"
DEMO_RECIPIENT = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"

ApiUrl = Annotated[
    str, typer.Option("--api-url", envvar="TRONPAY_API_URL", help="the service's base URL")
]
Token = Annotated[
    str,
    typer.Option("--token", envvar="TRONPAY_TOKEN", help="bearer token (see `tronpay token`)"),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _warn(message: str) -> None:
    err.print(f"[yellow]note:[/yellow] {message}", highlight=False)


def _settings(**overrides: Any) -> Settings:
    try:
        base = Settings()
        return base.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise _fail(f"invalid configuration: {exc}") from exc


# -- serve ----------------------------------------------------------------------------------


def serve(  # noqa: PLR0917 - typer options
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
    no_engine: Annotated[bool, typer.Option("--no-engine", help="API only")] = False,
    devnet: Annotated[
        bool, typer.Option("--devnet", help="start a local tron-devnet and use it")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(min=1, max=64, help="API processes (PostgreSQL; SQLite has one writer)"),
    ] = 1,
    reload: Annotated[
        bool,
        typer.Option("--reload", help="development: restart the service when its code changes"),
    ] = False,
    migrate_db: Annotated[
        bool | None,
        typer.Option(
            "--migrate/--no-migrate",
            help="upgrade the schema first (default: on for SQLite and in development; "
            "production PostgreSQL runs `tronpay db upgrade` once, not per replica)",
        ),
    ] = None,
    devnet_port: Annotated[
        int | None,
        typer.Option(
            "--devnet-port",
            envvar="TRONPAY_DEVNET_PORT",
            min=1,
            max=65535,
            help="--devnet: the devnet's port (default: the one it had last time in this data "
            "directory, else 8091 when free, else any free port)",
        ),
    ] = None,
) -> None:
    """Run the HTTP API and the payout engine on port 8090 (``--no-engine``: API only)."""
    settings = _settings(host=host, port=port)
    if devnet:
        settings = settings.model_copy(update={"network": Network.DEVNET})
    settings = settings.with_dev_defaults()
    try:
        settings.check_startup()
    except ConfigError as exc:
        raise _fail(exc.detail) from exc
    configure_logging(settings)
    with_engine = not no_engine
    if reload and (settings.is_production or workers > 1):
        raise _fail("--reload is for development, with one process")
    if workers > 1:
        if settings.effective_database_url.startswith("sqlite"):
            raise _fail("--workers > 1 needs PostgreSQL (SQLite has a single writer)")
        if with_engine:
            raise _fail(
                "--workers > 1 serves the API only: add --no-engine and run `tronpay worker`"
            )
    if with_engine and not devnet and not signer_configured(settings):
        raise _fail(
            "the payout engine needs the hot wallet key: set TRONPAY_HOT_WALLET_KEY_FILE (or "
            "TRONPAY_KEYSTORE_FILE and TRONPAY_KEYSTORE_PASSPHRASE_FILE), or serve the API "
            "only with --no-engine (and run `tronpay worker` where the key is)"
        )
    # Before anything starts: one service per data directory, and the ports it needs free.
    lock = _claim_instance(settings, devnet=devnet)
    if migrate_db is None:
        migrate_db = not settings.is_production or settings.effective_database_url.startswith(
            "sqlite"
        )
    if migrate_db:
        migrate.upgrade(settings.effective_database_url)
    if workers > 1:
        _serve_workers(settings, workers)
        return
    if not devnet:
        if reload:
            _serve_reloading(settings, with_engine=with_engine)
        else:
            _serve(settings, with_engine=with_engine)
        return
    port = serving.devnet_port(settings.data_dir, devnet_port, _warn)
    try:
        running = devnet_process(settings.data_dir, host=settings.devnet_host, port=port)
    except TronpayError as exc:
        raise _fail(f"could not start the local devnet: {exc.detail}") from exc
    with running as node:
        serving.remember_devnet_port(settings.data_dir, node.url)
        settings = _devnet_settings(settings, node)

        def banner() -> None:
            _print_devnet_banner(settings, node, with_engine=with_engine)

        if reload:  # the reloader's child logs its start-up later: the banner comes first
            banner()
            _serve_reloading(settings, with_engine=with_engine)
        else:
            _serve(settings, with_engine=with_engine, on_started=banner)
    if lock is not None:
        lock.release()


def _claim_instance(settings: Settings, *, devnet: bool) -> DirectoryLock | None:
    """Lock the data directory (when this process keeps state in it: the embedded SQLite
    database or the devnet) and check the API port, or stop with what is already running."""
    lock = None
    if devnet or settings.effective_database_url.startswith("sqlite"):
        try:
            lock = lock_directory(settings.data_dir)
        except DirectoryInUse as exc:
            raise _fail(
                f"tronpay is already running on {settings.data_dir} (process {exc.holder}); "
                "stop it first, or give this one its own TRONPAY_DATA_DIR"
            ) from None
    if not port_is_free(settings.host, settings.port):
        if lock is not None:
            lock.release()
        raise _fail(
            f"port {settings.port} on {settings.host} is already in use (another tronpay "
            "serve, or another program); stop it or choose another port with --port or "
            "TRONPAY_PORT"
        )
    return lock


def _devnet_settings(settings: Settings, node: RunningDevnet) -> Settings:
    """Point the service at the child devnet and its funded demo hot wallet."""
    update: dict[str, Any] = {"network": Network.DEVNET, "node_urls": [node.url]}
    if not signer_configured(settings):
        update["hot_wallet_key_file"] = node.demo_key_file
    if settings.policy_file is None and DEVNET_POLICY.is_file():
        update["policy_file"] = DEVNET_POLICY
    return settings.model_copy(update=update)


def _print_devnet_banner(settings: Settings, node: RunningDevnet, *, with_engine: bool) -> None:
    """The URLs and the next steps, on stdout (the logs go to stderr), set apart by rules and
    blank lines. Each command is one line whatever the terminal's width (``soft_wrap``): a
    copied command runs, and a script reading stdout finds it whole."""
    api = f"http://{settings.host}:{settings.port}"
    wallet = hot_wallet_address(settings)
    tronpay = _own_command()
    what = "API + payout engine" if with_engine else "API only"
    lines = [
        f"tronpay ({what}) on {api}, local TRON devnet on {node.url}",
        f"demo hot wallet {wallet} (devnet play money: 1,000,000 TRX, 10,000,000 USDT)",
        f"data in {settings.data_dir.resolve()}",
        "",
        "next steps, in another shell from this directory:",
        f"  export TRONPAY_TOKEN=$({tronpay} token --sub demo --scope all)",
        f"  {tronpay} payouts create --to {DEMO_RECIPIENT} --amount 12.5",
        f"  {tronpay} payouts watch <the id it printed>",
        f"  curl -s {api}/ready",
        f"  open {api}/docs for the whole API",
    ]
    rule = "─" * 72
    out.print("\n".join(["", rule, *lines, rule, ""]), highlight=False, markup=False)
    out.file.flush()


def _own_command() -> str:
    """How the operator can call this same ``tronpay`` (e.g. ``.venv/bin/tronpay``)."""
    # Not resolved: a .venv that is a symlink is still called as .venv/bin/tronpay.
    here = Path(os.path.abspath(sys.argv[0]))
    if here.name != "tronpay" or not here.is_file():
        return shutil.which("tronpay") or "tronpay"
    try:
        return str(here.relative_to(Path.cwd()))
    except ValueError:
        return str(here)


def _serve(
    settings: Settings, *, with_engine: bool, on_started: Callable[[], None] | None = None
) -> None:
    try:
        app = create_app(settings, with_engine=with_engine)
    except TronpayError as exc:
        raise _fail(exc.detail) from exc
    config = uvicorn_config(app, settings)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, restores the handlers it found and
    # raises the signal again: with these handlers that unwinds our context managers (the
    # devnet child is stopped and saves its chain) and exits 0 instead of dying on the spot.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_gracefully)
    serving.Server(config, on_started).run()


def _exit_gracefully(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


# Settings a reloaded child process rebuilds from the environment (`serve --reload`).
_RELOAD_SETTINGS = (
    "host",
    "port",
    "network",
    "data_dir",
    "database_url",
    "log_level",
    "node_urls",
    "hot_wallet_key_file",
    "policy_file",
    "jwt_hs256_secret_file",
)


def _serve_reloading(settings: Settings, *, with_engine: bool) -> None:
    """Development: uvicorn's reloader restarts a child process on every change under
    ``src/``; the child builds the app from the environment exported here."""
    for name in _RELOAD_SETTINGS:
        value = getattr(settings, name)
        if value is None:
            continue
        text = ",".join(value) if isinstance(value, list) else str(value)
        os.environ[f"TRONPAY_{name.upper()}"] = text
    code_root = Path(__file__).resolve().parents[2]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_gracefully)
    uvicorn.run(
        "tronpay.cli.service:engine_app" if with_engine else "tronpay.cli.service:worker_app",
        factory=True,
        reload=True,
        reload_dirs=[str(code_root)],
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
    )


def _serve_workers(settings: Settings, workers: int) -> None:
    # Each worker process builds its own app from the environment.
    os.environ.update(
        {
            "TRONPAY_HOST": settings.host,
            "TRONPAY_PORT": str(settings.port),
            "TRONPAY_NETWORK": settings.network.value,
        }
    )
    if settings.jwt_hs256_secret_file is not None:
        os.environ["TRONPAY_JWT_HS256_SECRET_FILE"] = str(settings.jwt_hs256_secret_file)
    uvicorn.run(
        "tronpay.cli.service:worker_app",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # configure_logging routes uvicorn's lines (JSON like ours)
        access_log=settings.log_access,
        proxy_headers=True,
        server_header=False,
        http=WORKER_PROTOCOL,
        timeout_keep_alive=settings.http_keep_alive_s,
        backlog=ACCEPT_BACKLOG,
    )


def worker_app() -> FastAPI:
    """The app factory of each ``serve --workers N`` process (settings from the environment)."""
    settings = Settings()
    configure_logging(settings)
    return create_app(settings)


def engine_app() -> FastAPI:
    """The app factory of ``serve --reload``: API and payout engine, settings from the
    environment."""
    settings = Settings()
    configure_logging(settings)
    return create_app(settings, with_engine=True)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
) -> None:
    """Apply the database migrations (SQLite or PostgreSQL, from TRONPAY_DATABASE_URL)."""
    settings = _settings()
    migrate.upgrade(settings.effective_database_url, revision)
    out.print(f"database at revision {revision}")


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="the new backup file (must not exist)")],
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="default: TRONPAY_DATABASE_URL / the data dir"),
    ] = None,
) -> None:
    """Copy the SQLite database to PATH while the service runs (consistent, online).

    PostgreSQL: prints how to use pg_dump and pg_restore instead."""
    url = database_url or _settings().effective_database_url
    try:
        source = sqlite_path(url)
        if source is None:
            err.print(POSTGRES_BACKUP_HELP, highlight=False, markup=False)
            raise typer.Exit(2)
        result = backup_sqlite(source, path)
    except BackupError as exc:
        raise _fail(exc.detail) from exc
    out.print(
        f"backed up {result.source} to {result.target} ({result.bytes} bytes); to restore, "
        "stop the service, copy it over the database file, run `tronpay audit verify`, start",
        highlight=False,
        markup=False,
    )


# -- the HTTP client commands ---------------------------------------------------------------


def _client(api_url: str, token: str) -> httpx.Client:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=api_url.rstrip("/"), headers=headers, timeout=30.0)


def _call(
    api_url: str,
    token: str,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    json_body: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    try:
        with _client(api_url, token) as http:
            response = http.request(
                method, path, params=params, json=json_body, content=content, headers=headers
            )
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach {api_url}: {type(exc).__name__}") from exc
    if response.status_code >= 400:
        try:
            problem = response.json()
            message = f"{problem.get('code')}: {problem.get('detail')}"
            errors = problem.get("errors")
        except ValueError:
            message, errors = response.text[:500], None
        err.print(f"[red]HTTP {response.status_code}[/red] {message}", highlight=False)
        if errors:
            err.print_json(json.dumps(errors[:50]))
        raise typer.Exit(1)
    return response.json()


@payouts_app.command("create")
def payouts_create(
    *,
    to: Annotated[str, typer.Option("--to", help="recipient T... address")],
    amount: Annotated[str, typer.Option("--amount", help='decimal string, e.g. "12.5"')],
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    asset: Annotated[str, typer.Option(help="USDT or TRX")] = "USDT",
    reference: Annotated[str | None, typer.Option(help="your unique reference")] = None,
    memo: Annotated[str | None, typer.Option()] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="defaults to a new random key")
    ] = None,
) -> None:
    """Create one payout."""
    body: dict[str, Any] = {"to": to, "amount": amount, "asset": asset}
    if reference is not None:
        body["reference"] = reference
    if memo is not None:
        body["memo"] = memo
    key = idempotency_key or str(uuid.uuid4())
    result = _call(
        api_url, token, "POST", "/v1/payouts", json_body=body, headers={"Idempotency-Key": key}
    )
    out.print_json(json.dumps(result))


@payouts_app.command("list")
def payouts_list(
    *,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    status: Annotated[str | None, typer.Option()] = None,
    to: Annotated[str | None, typer.Option("--to")] = None,
    batch_id: Annotated[str | None, typer.Option()] = None,
    reference: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    cursor: Annotated[str | None, typer.Option()] = None,
) -> None:
    """List payouts, newest first (prints the page and its next_cursor)."""
    params = {
        k: v
        for k, v in {
            "status": status,
            "to": to,
            "batch_id": batch_id,
            "reference": reference,
            "limit": limit,
            "cursor": cursor,
        }.items()
        if v is not None
    }
    out.print_json(json.dumps(_call(api_url, token, "GET", "/v1/payouts", params=params)))


@payouts_app.command("show")
def payouts_show(payout_id: str, api_url: ApiUrl = DEFAULT_API_URL, token: Token = "") -> None:
    """Show one payout."""
    out.print_json(json.dumps(_call(api_url, token, "GET", f"/v1/payouts/{payout_id}")))


@payouts_app.command("cancel")
def payouts_cancel(payout_id: str, api_url: ApiUrl = DEFAULT_API_URL, token: Token = "") -> None:
    """Cancel a payout that was not submitted yet."""
    out.print_json(json.dumps(_call(api_url, token, "POST", f"/v1/payouts/{payout_id}/cancel")))


@payouts_app.command("approve")
def payouts_approve(payout_id: str, api_url: ApiUrl = DEFAULT_API_URL, token: Token = "") -> None:
    """Approve a payout waiting for a second person (needs payouts:approve)."""
    out.print_json(json.dumps(_call(api_url, token, "POST", f"/v1/payouts/{payout_id}/approve")))


@payouts_app.command("watch")
def payouts_watch(
    payout_id: str,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    interval: Annotated[float, typer.Option(min=0.2)] = 2.0,
    timeout: Annotated[float, typer.Option(min=1.0)] = 3600.0,
) -> None:
    """Print each status change of a payout until it ends (finalized, failed, cancelled)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        payout = _call(api_url, token, "GET", f"/v1/payouts/{payout_id}")
        if payout["status"] != last:
            last = payout["status"]
            out.print(f"{payout['updated_at']}  {last}  txid={payout.get('txid') or '-'}")
        if last in TERMINAL:
            return
        if time.monotonic() > deadline:
            raise _fail("timed out waiting", code=3)
        time.sleep(interval)


@batches_app.command("import")
def batches_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    idempotency_key: Annotated[
        str | None, typer.Option(help="defaults to the file's SHA-256: re-importing replays")
    ] = None,
) -> None:
    """Upload a CSV (header: to,amount,asset,reference,memo) as one all-or-nothing batch."""
    content = file.read_bytes()
    # The default key is the file's digest: importing the same file again replays the first
    # batch instead of paying every row twice.
    digest = hashlib.sha256(content).hexdigest()[:40]
    headers = {"Content-Type": "text/csv", "Idempotency-Key": idempotency_key or f"csv-{digest}"}
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err
    ) as progress:
        task = progress.add_task(f"uploading {file.name} ({len(content)} bytes)", total=None)
        batch = _call(api_url, token, "POST", "/v1/batches", content=content, headers=headers)
        progress.update(task, description=f"batch {batch['id']}: {batch['item_count']} payouts")
    out.print_json(json.dumps(batch))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("serve")(serve)
    app.add_typer(db_app, name="db")
    app.add_typer(payouts_app, name="payouts")
    app.add_typer(batches_app, name="batches")
