"""CLI: ``tronpay worker`` runs the payout engine alone (for scale-out next to API replicas)."""

from __future__ import annotations

import asyncio
import signal

import typer

from tronpay.config import Settings
from tronpay.engine.worker import run_engine
from tronpay.errors import TronpayError


async def _run(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_engine(settings, stop)


def worker() -> None:
    """Run the payout engine only (claims, signs, broadcasts, confirms, finalizes)."""
    settings = Settings()
    try:
        settings.check_network()
        asyncio.run(_run(settings))
    except TronpayError as exc:
        typer.echo(f"tronpay worker: {exc.detail}", err=True)
        raise typer.Exit(code=1) from None


def register(app: typer.Typer) -> None:
    """Add ``tronpay worker`` to the root app."""
    app.command("worker")(worker)
