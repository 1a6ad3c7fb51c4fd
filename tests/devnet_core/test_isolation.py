"""The devnet core never imports tronpay (it must not mirror tronpay's encoder)."""

from __future__ import annotations

import subprocess
import sys

CORE_MODULES = [
    "tron_devnet.chain",
    "tron_devnet.core_blocks",
    "tron_devnet.core_decode",
    "tron_devnet.core_json",
    "tron_devnet.core_types",
    "tron_devnet.core_views",
    "tron_devnet.crypto",
    "tron_devnet.execution",
    "tron_devnet.proto",
    "tron_devnet.staking",
    "tron_devnet.state",
    "tron_devnet.token",
]


def test_core_modules_do_not_import_tronpay() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {CORE_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'tronpay' or m.startswith('tronpay.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
