"""Start ``tron-devnet`` as a child process for ``tronpay serve --devnet``.

    with devnet_process(data_dir) as devnet:
        settings = settings.model_copy(update={"node_urls": [devnet.url],
                                               "hot_wallet_key_file": devnet.demo_key_file})

The child listens on 127.0.0.1 (a free port unless one is given), keeps its chain in
``<data_dir>/devnet/state.json`` (so a restart continues the same chain) and writes the demo hot
wallet key to ``<data_dir>/devnet/demo-hot-wallet.key``. Its log goes to
``<data_dir>/devnet/devnet.log``. ``stop()`` sends SIGTERM (the devnet saves its state) and
kills it if it does not exit in time.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import structlog

from tronpay.errors import DevnetStartError
from tronpay.kit.private_files import make_private_dir, open_private_log

log = structlog.get_logger(__name__)

_BANNER = re.compile(r"listening on (http://\S+)")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


@dataclass
class RunningDevnet:
    url: str
    demo_key_file: Path
    log_file: Path
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM, wait, then SIGKILL. Returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        log.info("devnet.stopped", pid=self.pid, code=self.process.returncode)
        return self.process.returncode


def start_devnet(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    block_time_s: float = 3.0,
    solidify_depth: int | None = None,
    extra_args: Sequence[str] = (),
    timeout_s: float = START_TIMEOUT_S,
) -> RunningDevnet:
    """Start the child and wait until ``/wallet/getnowblock`` answers. ``host="0.0.0.0"``
    (the development container) listens on every interface; the URL stays a loopback one."""
    base = data_dir / "devnet"
    make_private_dir(base)
    key_file = base / "demo-hot-wallet.key"
    log_file = base / "devnet.log"
    args = [
        sys.executable,
        "-m",
        "tron_devnet",
        "--host",
        host,
        "--port",
        str(port),
        "--block-time",
        str(block_time_s),
        "--state",
        str(base / "state.json"),
        "--demo-key-file",
        str(key_file),
    ]
    if solidify_depth is not None:
        args += ["--solidify-depth", str(solidify_depth)]
    args += list(extra_args)
    with os.fdopen(open_private_log(log_file), "wb") as sink:
        proc = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603
    devnet = RunningDevnet("", key_file, log_file, proc)
    deadline = time.monotonic() + timeout_s
    try:
        devnet.url = _wait_for_banner(devnet, deadline).replace("://0.0.0.0:", "://127.0.0.1:")
        _wait_for_node(devnet, deadline)
    except BaseException:
        devnet.stop()
        raise
    log.info("devnet.started", url=devnet.url, pid=proc.pid, key_file=str(key_file))
    return devnet


def _wait_for_banner(devnet: RunningDevnet, deadline: float) -> str:
    while time.monotonic() < deadline:
        if devnet.process.poll() is not None:
            tail = devnet.log_file.read_text(errors="replace")[-500:]
            raise DevnetStartError(f"tron-devnet exited with {devnet.process.returncode}: {tail}")
        match = _BANNER.search(devnet.log_file.read_text(errors="replace"))
        if match:
            return match.group(1)
        time.sleep(0.05)
    raise DevnetStartError("tron-devnet did not report its address in time")


def _wait_for_node(devnet: RunningDevnet, deadline: float) -> None:
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                resp = client.post(f"{devnet.url}/wallet/getnowblock", json={})
                if resp.status_code == 200 and "blockID" in resp.json():
                    return
            except (httpx.HTTPError, ValueError):
                pass
            if devnet.process.poll() is not None:
                raise DevnetStartError(f"tron-devnet exited with {devnet.process.returncode}")
            time.sleep(0.1)
    raise DevnetStartError("tron-devnet did not answer /wallet/getnowblock in time")


@contextmanager
def devnet_process(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    block_time_s: float = 3.0,
    solidify_depth: int | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[RunningDevnet]:
    """``start_devnet`` as a context manager that always stops the child."""
    devnet = start_devnet(
        data_dir,
        host=host,
        port=port,
        block_time_s=block_time_s,
        solidify_depth=solidify_depth,
        extra_args=extra_args,
    )
    try:
        yield devnet
    finally:
        devnet.stop()
