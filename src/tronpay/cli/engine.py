"""CLI: ``tronpay worker`` runs the payout engine and the webhooks worker (for scale-out next
to API replicas)."""

from __future__ import annotations

import asyncio
import signal

import typer

from tronpay.config import Settings
from tronpay.db.session import create_engine, create_sessionmaker
from tronpay.engine.worker import run_engine
from tronpay.errors import TronpayError
from tronpay.webhooks.worker import WorkerConfig, run_webhooks


async def _run(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    db = create_engine(settings.effective_database_url)
    webhooks = asyncio.create_task(
        run_webhooks(create_sessionmaker(db), WorkerConfig.from_settings(settings), stop),
        name="webhooks",
    )
    try:
        await run_engine(settings, stop)
    finally:
        stop.set()
        await webhooks
        await db.dispose()


def worker() -> None:
    """Run the payout engine (claims, signs, broadcasts, confirms, finalizes) and deliver
    webhooks."""
    settings = Settings()
    try:
        asyncio.run(_run(settings))
    except TronpayError as exc:
        typer.echo(f"tronpay worker: {exc.detail}", err=True)
        raise typer.Exit(code=1) from None


def register(app: typer.Typer) -> None:
    """Add ``tronpay worker`` to the root app."""
    app.command("worker")(worker)
