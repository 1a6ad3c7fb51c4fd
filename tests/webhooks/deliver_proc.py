"""A webhooks worker process for the SIGKILL test: ``python deliver_proc.py DATABASE_URL``.
Runs ``run_webhooks`` with test timings until it is killed or gets SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta

from tronpay.db.session import create_engine, create_sessionmaker
from tronpay.webhooks.worker import WorkerConfig, run_webhooks

CONFIG = WorkerConfig(
    timeout_s=1.0,
    retry_base_s=0.05,
    retry_max_s=0.2,
    retry_for=timedelta(hours=25),
    poll_s=0.05,
    concurrency=4,
    allow_private=True,
    allow_http=True,
)


async def main(url: str) -> None:
    engine = create_engine(url)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await run_webhooks(create_sessionmaker(engine), CONFIG, stop)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
