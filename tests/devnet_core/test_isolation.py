"""The devnet core never imports tronpay (it must not mirror tronpay's encoder), nor HTTP."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import tron_devnet.core

CORE_MODULES = sorted(
    f"tron_devnet.core.{info.name}" for info in pkgutil.iter_modules(tron_devnet.core.__path__)
)


def test_the_core_has_its_modules() -> None:
    assert {
        "tron_devnet.core.chain",
        "tron_devnet.core.chain_core",
        "tron_devnet.core.wire",
    } <= set(CORE_MODULES)


def test_core_modules_import_neither_tronpay_nor_http() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {CORE_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'tronpay', 'starlette', 'uvicorn', 'httpx'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
