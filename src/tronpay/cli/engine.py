"""CLI: ``tronpay worker`` runs the payout engine and the webhooks worker (for scale-out next
to API replicas).

With ``TRONPAY_METRICS_PORT`` it also serves ``GET /metrics`` on that port (the engine's
counters, the database-derived gauges, every node's lag and the hot wallet's balances).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from tronpay.config import Settings
    from tronpay.observability.scrape import MetricsListener

# The engine's modules (SQLAlchemy, httpx, the node client) are imported when the worker
# starts, not when `tronpay --help` loads this module.


@asynccontextmanager
async def metrics_listener(settings: Settings) -> AsyncIterator[MetricsListener | None]:
    """The worker's metrics listener while the engine runs (``None`` without a port)."""
    import httpx  # noqa: PLC0415 - lazy, see above

    from tronpay.db.session import create_engine, create_sessionmaker  # noqa: PLC0415
    from tronpay.observability.scrape import (  # noqa: PLC0415
        ChainProbe,
        DatabaseGauges,
        MetricsListener,
    )
    from tronpay.startup import hot_wallet_address, node_client  # noqa: PLC0415

    if settings.metrics_port is None:
        yield None
        return
    db = create_engine(settings.effective_database_url)
    token = settings.effective_token_contract or ""
    try:
        async with node_client(
            settings, timeout=httpx.Timeout(5.0, connect=2.0), read_rounds=1
        ) as node:
            gauges = DatabaseGauges(
                create_sessionmaker(db),
                refresh_s=settings.metrics_db_refresh_s,
                chain_refresh_s=settings.metrics_chain_refresh_s,
                chain=ChainProbe(node, hot_wallet_address(settings), token),
            )
            listener = MetricsListener(
                gauges, settings.effective_metrics_host, settings.metrics_port
            )
            await listener.start()
            try:
                yield listener
            finally:
                await listener.stop()
    finally:
        await db.dispose()


async def _run(settings: Settings) -> None:
    from tronpay.db.session import create_engine, create_sessionmaker  # noqa: PLC0415 - lazy
    from tronpay.engine.worker import run_engine  # noqa: PLC0415
    from tronpay.webhooks.worker import WorkerConfig, run_webhooks  # noqa: PLC0415

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
        async with metrics_listener(settings):
            await run_engine(settings, stop)
    finally:
        stop.set()
        await webhooks
        await db.dispose()


def worker() -> None:
    """Run the payout engine (claims, signs, broadcasts, confirms, finalizes) and deliver
    webhooks."""
    # The worker imports no app, which would have loaded these two: tronpay.db.models (every
    # model, so that Base.metadata resolves each foreign key the engine's tables name) and
    # tronpay.observability.http (its families are in every /metrics, the worker's too).
    from tronpay.config import Settings  # noqa: PLC0415 - lazy
    from tronpay.db import models  # noqa: PLC0415, F401
    from tronpay.errors import TronpayError  # noqa: PLC0415
    from tronpay.observability import http  # noqa: PLC0415, F401
    from tronpay.observability.logs import configure_logging  # noqa: PLC0415

    settings = Settings()
    configure_logging(settings)
    try:
        settings.check_network()
        asyncio.run(_run(settings))
    except TronpayError as exc:
        typer.echo(f"tronpay worker: {exc.detail}", err=True)
        raise typer.Exit(code=1) from None


def register(app: typer.Typer) -> None:
    """Add ``tronpay worker`` to the root app."""
    app.command("worker")(worker)
