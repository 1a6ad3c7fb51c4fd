"""The README's first command on a fresh clone, as a newcomer runs it.

The repository is cloned into a temporary directory; ``python3 scripts/dev.py serve`` starts
there (its ``.venv`` is this test run's own, linked in, when that one is up to date for the
clone's locks; otherwise dev.py creates and installs one, about a minute). Then the README's
steps: the banner, ``.venv/bin/tronpay token``, ``.venv/bin/tronpay payouts create``, the payout
reaching ``finalized``. The service is stopped with SIGTERM and started again: the devnet
comes back on the same port (the banner's URL still works), with the same chain, and the
service with the same payouts.

Ports: the API's is a free one (``TRONPAY_PORT``), and the devnet's is a free one on the
first start (``TRONPAY_DEVNET_PORT``) and left to the service on the second, which must reuse
it. The README's 8090/8091 are left to whoever else runs on this machine.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
RECIPIENT = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"
BANNER = re.compile(
    r"tronpay \(API \+ payout engine\) on (?P<api>http://\S+), "
    r"local TRON devnet on (?P<devnet>http://\S+)"
)

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _venv_fits(clone: Path, venv: Path) -> bool:
    """Whether ``venv`` holds exactly what the clone's dev.py would install (its stamp for
    the clone's locks): then dev.py installs nothing into it."""
    spec = importlib.util.spec_from_file_location("clone_dev", clone / "scripts" / "dev.py")
    assert spec is not None
    assert spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    stamp = venv / ".tronpay-dev.sha256"
    return stamp.is_file() and stamp.read_text() == dev._digest(dev.REQUIREMENTS["dev"])


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = tmp_path / "tronpay"
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "checkout", "-q", head], check=True)
    venv = Path(sys.prefix)
    if _venv_fits(target, venv):
        (target / ".venv").symlink_to(venv, target_is_directory=True)
    return target


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def banner(self, timeout: float = 180) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            text = self.stdout.read_text(errors="replace")
            found = BANNER.search(text)
            if found and "open " in text[found.end() :]:
                return found
            assert self.process.poll() is None, self.stderr.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "no banner: " + text[-2000:]
            time.sleep(0.2)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRONPAY_", "LUCID_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(extra)
    return env


@pytest.fixture
def start(clone: Path) -> Iterator[object]:
    started: list[Service] = []

    def run(name: str, **env: str) -> Service:
        out, err = clone / f"{name}.out", clone / f"{name}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(  # the README's first command
                [sys.executable, "scripts/dev.py", "serve"],
                cwd=clone,
                env=_env(**env),
                stdout=stdout,
                stderr=stderr,
            )
        service = Service(process, out, err)
        started.append(service)
        return service

    yield run
    for service in started:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait(timeout=30)


def _ready(api: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{api}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{api} never became ready"
        time.sleep(0.3)


def _tronpay(clone: Path, *args: str, **env: str) -> str:
    result = subprocess.run(
        [str(clone / ".venv" / "bin" / "tronpay"), *args],
        cwd=clone,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_readme_first_command_on_a_fresh_clone(clone: Path, start: object) -> None:
    assert callable(start)
    api_port, devnet_port = _free_port(), _free_port()
    first: Service = start(
        "first", TRONPAY_PORT=str(api_port), TRONPAY_DEVNET_PORT=str(devnet_port)
    )
    banner = first.banner()
    api, devnet = banner["api"], banner["devnet"]
    assert (api, devnet) == (f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{devnet_port}")
    _ready(api)
    # The banner stands apart from the logs: stdout holds it (and dev.py's own lines), the
    # logs are on stderr, for humans, and the server had started before the banner came.
    assert "next steps" not in first.stderr.read_text()
    assert "Application startup complete" in first.stderr.read_text()
    [export] = [line for line in first.stdout.read_text().splitlines() if "export " in line]
    assert (
        export.strip() == "export TRONPAY_TOKEN=$(.venv/bin/tronpay token --sub demo --scope all)"
    )

    # The README's next steps, run as printed (from the clone's directory).
    token = _tronpay(clone, "token", "--sub", "demo", "--scope", "all").strip()
    # (The command's output is for people; the API says what it created.)
    _tronpay(
        clone,
        *("payouts", "create", "--to", RECIPIENT, "--amount", "12.5", "--api-url", api),
        TRONPAY_TOKEN=token,
    )
    headers = {"Authorization": f"Bearer {token}"}
    [created] = httpx.get(f"{api}/v1/payouts", headers=headers, timeout=5).json()["items"]
    assert (created["to"], created["amount"]) == (RECIPIENT, "12.5")
    deadline = time.monotonic() + 180
    while (
        payout := httpx.get(f"{api}/v1/payouts/{created['id']}", headers=headers, timeout=5).json()
    )["status"] != "finalized":
        assert payout["status"] in ("queued", "submitted", "confirmed"), payout
        assert time.monotonic() < deadline, payout
        time.sleep(1)
    assert first.stop() == 0

    # Again, without naming the devnet's port: it comes back where the banner said it was.
    second: Service = start("second", TRONPAY_PORT=str(api_port))
    again = second.banner()
    assert (again["api"], again["devnet"]) == (api, devnet)
    _ready(api)
    listed = httpx.get(f"{api}/v1/payouts", headers=headers, timeout=5).json()["items"]
    assert [(p["id"], p["status"], p["txid"]) for p in listed] == [
        (created["id"], "finalized", payout["txid"])
    ]
    chain = httpx.get(f"{devnet}/admin/ledger", timeout=5).json()["transactions"]
    assert [t["result"] for t in chain if t["txid"] == payout["txid"]] == ["SUCCESS"]
    assert second.stop() == 0
