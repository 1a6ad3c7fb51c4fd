#!/usr/bin/env python3
"""One entry point for a fresh machine: set up .venv from the pinned, hash-checked
requirement files, then run the service or the whole check suite.

    python3 scripts/dev.py serve   # tronpay on the embedded default (SQLite + local devnet)
    python3 scripts/dev.py test    # lint, types and every test (PostgreSQL too when reachable
                                   # or required by CI)
    python3 scripts/dev.py setup   # only create or update .venv (with the test tools)
    python3 scripts/dev.py lock    # regenerate requirements*.txt from pyproject.toml, then
                                   # check-wheels
    python3 scripts/dev.py check-wheels  # every lock installs from wheels on CPython
                                         # 3.11-3.13, manylinux x86_64 and aarch64

Only the standard library is used here, so it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("TRONPAY_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"

LOCKS = ("requirements.txt", "requirements-prod.txt", "requirements-dev.txt")
# The Pythons and platforms every lock must install on from wheels alone: the container runs
# Debian 13's CPython 3.13 (glibc 2.41) on amd64 and arm64; development uses 3.11 and newer.
WHEEL_PYTHONS = ("3.11", "3.12", "3.13")
WHEEL_ARCHES = ("x86_64", "aarch64")
IMAGE_GLIBC_MINOR = 41  # Debian 13


def manylinux_platforms(arch: str, glibc_minor: int = IMAGE_GLIBC_MINOR) -> list[str]:
    """``--platform`` arguments for every manylinux tag a glibc 2.<minor> system installs
    (pip download does not expand ``manylinux_2_41`` to the older tags by itself)."""
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, 16, -1)]
    return [arg for tag in [*platforms, f"manylinux2014_{arch}"] for arg in ("--platform", tag)]


REQUIREMENTS = {
    "run": ["requirements.txt"],
    "dev": ["requirements-dev.txt"],
}


def _digest(files: list[str]) -> str:
    h = hashlib.sha256()
    for name in [*files, "pyproject.toml"]:
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def _run(cmd: list[str | Path], **kw: object) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kw)  # type: ignore[call-overload]


def _installed(kind: str) -> bool:
    stamp = VENV / f".tronpay-{kind}.sha256"
    return PY.exists() and stamp.exists() and stamp.read_text() == _digest(REQUIREMENTS[kind])


def _pinned(files: list[str]) -> int:
    """How many packages the lock files pin (lines ``name==version``)."""
    names = set()
    for name in files:
        for line in (ROOT / name).read_text().splitlines():
            if "==" in line and not line.startswith((" ", "#", "-")):
                names.add(line.split("==", 1)[0].strip().lower())
    return len(names)


def _step(text: str) -> None:
    print(f"dev.py: {text}", flush=True)


def ensure_venv(kind: str) -> None:
    """Create .venv and install exactly the pinned versions, once per change of the locks.
    The dev set pins every runtime package at the same version, so an up-to-date dev set
    serves ``serve`` too. Each step says what it does: a first install takes about a minute."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs before the venv exists
        sys.exit("tronpay needs Python 3.11 or newer")
    if _installed(kind) or (kind == "run" and _installed("dev")):
        return
    files = REQUIREMENTS[kind]
    started = time.monotonic()
    if not PY.exists():
        _step(f"creating {VENV} (Python {sys.version.split()[0]})…")
        venv.EnvBuilder(with_pip=True, upgrade_deps=False).create(VENV)
    pip = [PY, "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    for f in files:
        _step(
            f"installing {_pinned([f])} pinned packages from {f} (about a minute the first time)…"
        )
        _run([*pip, "--require-hashes", "-r", f])
    _step("installing tronpay itself (editable)…")
    _run([*pip, "--no-deps", "-e", "."])
    (VENV / f".tronpay-{kind}.sha256").write_text(_digest(files))
    _step(f"{VENV} is ready ({time.monotonic() - started:.0f} s)")


def cmd_setup(args: list[str]) -> None:
    """Only create or update .venv with everything for tests (scripts/verify-image uses it)."""
    ensure_venv("dev")


def cmd_serve(args: list[str]) -> None:
    ensure_venv("run")
    os.execv(BIN / "tronpay", [str(BIN / "tronpay"), "serve", "--devnet", *args])  # noqa: S606


def cmd_test(args: list[str]) -> None:
    ensure_venv("dev")
    _run([BIN / "ruff", "check", "src", "tests", "bench", "scripts"])
    _run([BIN / "ruff", "format", "--check", "src", "tests", "bench", "scripts"])
    _run([BIN / "mypy"])
    _run([PY, "-m", "pytest", *args])


def cmd_lock(args: list[str]) -> None:
    ensure_venv("dev")
    common = [
        BIN / "uv",
        "pip",
        "compile",
        "-q",
        "--generate-hashes",
        "--python-version",
        "3.11",
        "--universal",
        "--override",
        "scripts/lock-overrides.txt",
        "pyproject.toml",
    ]
    # dev first: runtime and prod are constrained to it, so every file pins the same versions
    _run([*common, "--extra", "dev", "-o", "requirements-dev.txt"])
    _run([*common, "-c", "requirements-dev.txt", "-o", "requirements.txt"])
    _run([*common, "--extra", "prod", "-c", "requirements-dev.txt", "-o", "requirements-prod.txt"])
    cmd_check_wheels(args)


def cmd_check_wheels(args: list[str]) -> None:
    """Download every lock with --require-hashes --only-binary=:all: for each target Python
    and platform: a pin without a matching wheel (e.g. no cp313 or no aarch64 build) fails."""
    ensure_venv("dev")
    with tempfile.TemporaryDirectory(prefix="tronpay-wheels-") as dest:
        for lock in LOCKS:
            for python in WHEEL_PYTHONS:
                for arch in WHEEL_ARCHES:
                    print(f"checking {lock} on CPython {python} manylinux {arch}", flush=True)
                    _run(
                        [
                            *(PY, "-m", "pip", "download", "-q", "--disable-pip-version-check"),
                            *("--require-hashes", "--only-binary=:all:", "--no-deps"),
                            *("--implementation", "cp", "--python-version", python),
                            *manylinux_platforms(arch),
                            *("-d", dest, "-r", lock),
                        ]
                    )


COMMANDS = {
    "serve": cmd_serve,
    "test": cmd_test,
    "lock": cmd_lock,
    "check-wheels": cmd_check_wheels,
    "setup": cmd_setup,
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python3 scripts/dev.py {{{'|'.join(COMMANDS)}}} [args...]")
    try:
        COMMANDS[sys.argv[1]](sys.argv[2:])
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)


if __name__ == "__main__":
    main()
