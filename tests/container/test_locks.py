"""The locks the image installs: the same pins in every file, no test-only package holding a
runtime pin back (coincurve 20 has no CPython 3.13 wheel), and the production extras the
image's documented gunicorn alternative needs. That every pin has cp313 wheels for x86_64 and
aarch64 is checked against the index by `python3 scripts/dev.py check-wheels` (run by
`python3 scripts/dev.py lock` and by scripts/verify-image, which downloads them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ("requirements.txt", "requirements-prod.txt", "requirements-dev.txt")
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.MULTILINE)


def _pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text()
    return {pkg.lower().replace("_", "-"): version for pkg, version in PIN.findall(text)}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


@pytest.mark.parametrize("lock", LOCKS)
def test_coincurve_has_cp313_wheels(lock: str) -> None:
    assert _version(_pins(lock)["coincurve"]) >= (21, 0, 0)


@pytest.mark.parametrize("lock", LOCKS)
def test_every_requirement_is_hash_pinned(lock: str) -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text().split("\n", 1)[1])
    requirements = [b for b in blocks if PIN.match(b)]
    assert requirements
    for block in requirements:
        assert "--hash=sha256:" in block, block.splitlines()[0]


def test_locks_agree_and_prod_has_the_gunicorn_worker() -> None:
    runtime, prod, dev = (_pins(lock) for lock in LOCKS)
    for name, version in runtime.items():
        assert prod[name] == version, name
        assert dev[name] == version, name
    assert {"gunicorn", "uvicorn-worker"} <= set(prod)
    assert {"gunicorn", "uvicorn-worker"}.isdisjoint(runtime)
    assert "tronpy" in dev
    assert "tronpy" not in runtime
    assert "tronpy" not in prod


def test_the_lock_command_overrides_the_oracles_cap() -> None:
    overrides = (ROOT / "scripts" / "lock-overrides.txt").read_text()
    assert "coincurve>=21" in overrides.splitlines()
    assert '"--override",' in (ROOT / "scripts" / "dev.py").read_text()
