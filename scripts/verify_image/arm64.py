"""arm64, as far as an amd64 machine without a registry allows: the distroless stand-in root
filesystem for arm64 with the application installed from aarch64 cp313 wheels imports the
application and answers ``/health``, every instruction emulated by qemu-user-static.

Multi-arch ``buildx`` builds and pushes need a registry and are not exercised here."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from bases import RUNTIME_TAG, distroless_rootfs, ensure_wheelhouse, key_of, platform_args
from checks import Result
from host import Docker, log, run

QEMU = Path("/usr/bin/qemu-aarch64-static")
IMPORTS = (
    "import platform, sys, tronpay.app, tronpay.signer.local, coincurve, cryptography, "
    "pydantic_core, asyncpg, uvloop; print(platform.machine(), sys.version.split()[0])"
)
START_TIMEOUT_S = 600.0  # emulation is slow, and CI machines are busy


def prepare_site(cache: Path, root: Path, docker: Docker) -> Path:
    """The application for arm64: requirements.txt from aarch64 cp313 wheels plus tronpay,
    byte-compiled by the (amd64) runtime stand-in's CPython 3.13 — bytecode does not depend
    on the architecture, and compiling under emulation would take many minutes."""
    site = _install_app(cache, root)
    if not (site / ".compiled").exists():
        docker(
            *("run", "--rm", "--network=none", "--user=0", f"--volume={site}:/site"),
            *(RUNTIME_TAG, "-m", "compileall", "-q", "-j", "0", "/site"),
        )
        (site / ".compiled").touch()
    return site


def check_arm64(cache: Path, site: Path) -> list[Result]:
    if not QEMU.exists():
        return [Result("arm64", False, f"{QEMU} is not installed")]
    probe = subprocess.run([QEMU, "--version"], capture_output=True, check=False)
    if probe.returncode != 0:
        return [Result("arm64", True, "SKIPPED: qemu-aarch64-static cannot run on this host")]
    rootfs = distroless_rootfs(cache, "arm64")
    env = {
        "PATH": "/usr/bin",
        "PYTHONPATH": str(site),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }
    python = [str(QEMU), "-L", str(rootfs), str(rootfs / "usr/bin/python3.13")]
    started = time.monotonic()
    imported = subprocess.run(
        [*python, "-c", IMPORTS], env=env, capture_output=True, text=True, check=False
    )
    import_s = time.monotonic() - started
    machine = imported.stdout.strip()
    results = [
        Result(
            "arm64 imports the application",
            imported.returncode == 0 and machine.startswith("aarch64"),
            f"{machine or imported.stderr[-800:]} under qemu-user-static ({import_s:.0f} s)",
        )
    ]
    results.append(_health(python, env))
    return results


def _install_app(cache: Path, root: Path) -> Path:
    """requirements.txt from aarch64 cp313 wheels (hash-checked) + the tronpay wheel."""
    wheels = ensure_wheelhouse(cache, root, ["requirements.txt"], "aarch64")
    source_key = key_of(
        "app",
        *[p.read_bytes() for p in sorted((root / "src").rglob("*.py"))],
        (root / "requirements.txt").read_bytes(),
    )
    site = cache / f"arm64-site-{source_key}"
    if (site / ".complete").exists():
        return site
    shutil.rmtree(site, ignore_errors=True)
    python = root / ".venv/bin/python"
    with tempfile.TemporaryDirectory() as dist:
        run([python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, root])
        run(
            [
                *(python, "-m", "pip", "install", "-q", "--disable-pip-version-check"),
                *("--no-index", "--find-links", wheels, "--require-hashes", "--no-compile"),
                *("--only-binary=:all:", "--implementation", "cp", "--python-version", "3.13"),
                *platform_args("aarch64"),
                *("--target", site, "-r", root / "requirements.txt"),
            ]
        )
        tronpay_wheel = next(Path(dist).glob("tronpay-*.whl"))
        run(
            [
                *(python, "-m", "pip", "install", "-q", "--disable-pip-version-check"),
                *("--no-deps", "--no-compile", "--target", site, "--upgrade", tronpay_wheel),
            ]
        )
    (site / ".complete").write_text(source_key)
    return site


def _health(python: list[str], env: dict[str, str]) -> Result:
    with tempfile.TemporaryDirectory() as data:
        port = _free_port()
        serve_env = {
            **env,
            "TRONPAY_ENV": "development",
            "TRONPAY_DATA_DIR": data,
            "TRONPAY_PORT": str(port),
            "TRONPAY_LOG_LEVEL": "warning",
        }
        cli = "import sys; from tronpay.cli import main; sys.argv[0] = 'tronpay'; main()"
        log("arm64: starting tronpay serve --no-engine under qemu (slow)")
        started = time.monotonic()
        process = subprocess.Popen(
            [*python, "-c", cli, "serve", "--no-engine"],
            env=serve_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=data,
        )
        try:
            return _wait_health(process, port, started)
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _wait_health(process: subprocess.Popen[bytes], port: int, started: float) -> Result:
    name = "arm64 answers /health"
    while time.monotonic() - started < START_TIMEOUT_S:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            return Result(name, False, f"exited {process.returncode}: {output[-1500:]}")
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        except httpx.HTTPError:
            time.sleep(1)
            continue
        seconds = time.monotonic() - started
        return Result(
            name,
            response.status_code == 200,
            f"HTTP {response.status_code} {response.text} after {seconds:.0f} s under emulation",
        )
    return Result(name, False, f"no answer within {START_TIMEOUT_S:.0f} s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
