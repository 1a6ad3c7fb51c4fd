"""Draw the CLI pictures in docs/img/ from a real run: ``tronpay serve --devnet`` in a
temporary data directory, then ``tronpay payouts watch`` of a new payout and ``tronpay
batches import`` of a small CSV, each recorded by rich and saved as SVG.

    .venv/bin/python scripts/docs_pictures.py      # about two minutes (3 s devnet blocks)

The commands run in this process (the same code as the ``tronpay`` entry point) with their
consoles swapped for recording ones; the batch's progress bar is drawn live on a hidden
terminal and recorded as its last frame, the one a terminal keeps on screen.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress

from tronpay.cli import app, batches, client, payouts

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
TRONPAY = str(Path(sys.executable).parent / "tronpay")
RECIPIENT = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"
WIDTH = 140


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def devnet_service(data_dir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``tronpay serve --devnet`` until the block ends; its URL and environment."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRONPAY_")}
    env.update({"TRONPAY_DATA_DIR": str(data_dir), "TRONPAY_PORT": str(port)})
    log = (data_dir.parent / "serve.log").open("w")
    proc = subprocess.Popen([TRONPAY, "serve", "--devnet"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((data_dir.parent / "serve.log").read_text())
            time.sleep(0.3)
        banner = (data_dir.parent / "serve.log").read_text()
        node = re.search(r"local TRON devnet on (http://\S+)", banner)
        if node is None:
            raise SystemExit(banner)
        # A young chain has solidified nothing yet: make it older than its solidification lag
        # (19 blocks), so that watch can count confirmations toward finality.
        httpx.post(f"{node.group(1)}/admin/blocks", json={"count": 25}, timeout=30)
        yield url, env
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def recorder() -> Console:
    return Console(record=True, force_terminal=True, width=WIDTH, soft_wrap=True)


def run_cli(args: list[str]) -> None:
    """One ``tronpay`` command in this process (exit 0 expected)."""
    try:
        app(args, standalone_mode=False)
    except SystemExit as exc:
        if exc.code not in {0, None}:
            raise


def picture_of_watch(token: str) -> None:
    created = httpx.post(
        f"{os.environ['TRONPAY_API_URL']}/v1/payouts",
        json={"to": RECIPIENT, "amount": "12.5", "reference": "docs-watch"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "docs-watch"},
        timeout=10,
    )
    created.raise_for_status()
    payout_id = created.json()["id"]
    screen = recorder()
    payouts.out = screen
    screen.print(f"$ tronpay payouts watch {payout_id}", style="bold", highlight=False)
    run_cli(["payouts", "watch", payout_id, "--interval", "1"])
    screen.save_svg(str(IMG / "payouts-watch.svg"), title="tronpay payouts watch")


def picture_of_batch_import(work: Path) -> None:
    csv_file = work / "march.csv"
    csv_file.write_text(
        "to,amount,asset,reference,memo\n"
        f"{RECIPIENT},10.5,USDT,march-1,thanks\n"
        f"{RECIPIENT},4,USDT,march-2,\n"
        f"{RECIPIENT},3,TRX,march-3,\n"
    )
    screen = recorder()
    hidden = Console(file=open(os.devnull, "w"), force_terminal=True, width=WIDTH)  # noqa: SIM115
    bars: list[Progress] = []

    def progress_bar(console: Console) -> Progress:
        bar = batches_progress_bar(hidden)
        bars.append(bar)
        return bar

    batches_progress_bar = batches.progress_bar
    batches.progress_bar = progress_bar
    batches.out = screen
    batches.err = screen
    client.err = screen
    screen.print("$ tronpay batches import march.csv", style="bold", highlight=False)
    original_follow = batches.follow

    def follow(*args: Any) -> Any:
        result = original_follow(*args)
        screen.print(bars[-1].get_renderable())
        return result

    batches.follow = follow
    run_cli(["batches", "import", str(csv_file), "--interval", "1"])
    screen.save_svg(str(IMG / "batches-import.svg"), title="tronpay batches import")


def main() -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tronpay-pictures-") as tmp:
        work = Path(tmp)
        with devnet_service(work / "data") as (url, env):
            token = subprocess.run(
                [TRONPAY, "token", "--sub", "docs", "--scope", "all"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            os.environ["TRONPAY_API_URL"] = url
            os.environ["TRONPAY_TOKEN"] = token
            picture_of_watch(token)
            picture_of_batch_import(work)
    print(f"wrote {IMG / 'payouts-watch.svg'} and {IMG / 'batches-import.svg'}")


if __name__ == "__main__":
    main()
