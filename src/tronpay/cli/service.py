"""CLI commands: ``tronpay serve`` and ``tronpay db upgrade|backup``.

The payouts and batches commands live in ``payouts.py`` and ``batches.py``. Everything heavy
(uvicorn, FastAPI, SQLAlchemy, the app) is imported inside the command that runs it, so
``tronpay --help`` and the HTTP client commands start fast.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tronpay.cli.client import console

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

    from tronpay.config import Settings
    from tronpay.devnet_runner import RunningDevnet
    from tronpay.kit.instance import DirectoryLock

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")

# soft_wrap: a long command or path is never broken across lines (a copied command must run;
# a script reading the output must find it whole); the terminal wraps it for the eye.
out = console()
err = console(stderr=True)

DEVNET_POLICY = Path(__file__).resolve().parents[3] / "configs" / "policy.devnet.toml"
DEMO_RECIPIENT = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _warn(message: str) -> None:
    err.print(f"[yellow]note:[/yellow] {message}", highlight=False)


def _settings(**overrides: Any) -> Settings:
    from pydantic import ValidationError  # noqa: PLC0415 - lazy, see the module docstring

    from tronpay.config import Settings  # noqa: PLC0415

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
    """Run the HTTP API and the payout engine on port 8090 (--no-engine: API only)."""
    from tronpay.cli import serving  # noqa: PLC0415 - lazy, see the module docstring
    from tronpay.config import Network  # noqa: PLC0415
    from tronpay.db import migrate  # noqa: PLC0415
    from tronpay.devnet_runner import devnet_process  # noqa: PLC0415
    from tronpay.errors import ConfigError, TronpayError  # noqa: PLC0415
    from tronpay.observability.logs import configure_logging  # noqa: PLC0415
    from tronpay.startup import signer_configured  # noqa: PLC0415

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
    from tronpay.kit.instance import DirectoryInUse, lock_directory, port_is_free  # noqa: PLC0415

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
    from tronpay.config import Network  # noqa: PLC0415 - lazy
    from tronpay.startup import signer_configured  # noqa: PLC0415

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
    from tronpay.startup import hot_wallet_address  # noqa: PLC0415 - lazy

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
    from tronpay.api.server import uvicorn_config  # noqa: PLC0415 - lazy, see the docstring
    from tronpay.app import create_app  # noqa: PLC0415
    from tronpay.cli import serving  # noqa: PLC0415
    from tronpay.errors import TronpayError  # noqa: PLC0415

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
    import uvicorn  # noqa: PLC0415 - lazy

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
    import uvicorn  # noqa: PLC0415 - lazy

    from tronpay.api.server import ACCEPT_BACKLOG, WORKER_PROTOCOL  # noqa: PLC0415

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
    from tronpay.app import create_app  # noqa: PLC0415 - lazy
    from tronpay.config import Settings  # noqa: PLC0415
    from tronpay.observability.logs import configure_logging  # noqa: PLC0415

    settings = Settings()
    configure_logging(settings)
    return create_app(settings)


def engine_app() -> FastAPI:
    """The app factory of ``serve --reload``: API and payout engine, settings from the
    environment."""
    from tronpay.app import create_app  # noqa: PLC0415 - lazy
    from tronpay.config import Settings  # noqa: PLC0415
    from tronpay.observability.logs import configure_logging  # noqa: PLC0415

    settings = Settings()
    configure_logging(settings)
    return create_app(settings, with_engine=True)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
) -> None:
    """Apply the database migrations (SQLite or PostgreSQL, from TRONPAY_DATABASE_URL)."""
    from tronpay.db import migrate  # noqa: PLC0415 - lazy

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
    from tronpay.db.backup import (  # noqa: PLC0415 - lazy, see the module docstring
        POSTGRES_BACKUP_HELP,
        BackupError,
        backup_sqlite,
        sqlite_path,
    )

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


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("serve")(serve)
    app.add_typer(db_app, name="db")
