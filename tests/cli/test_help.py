"""``tronpay --help`` loads no heavy module, and every command's help renders cleanly."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests.api.servers import TRONPAY

HEAVY = ("fastapi", "sqlalchemy", "uvicorn", "tronpay.app", "httpx", "alembic")

GROUPS = {
    "payouts": ["create", "list", "show", "cancel", "approve", "retry", "watch", "quote"],
    "batches": ["import", "list", "show", "watch"],
    "webhooks": ["list", "create", "show", "delete", "rotate", "deliveries", "resend", "ping"],
    "audit": ["verify", "tail"],
    "devnet": ["reset"],
    "db": ["upgrade"],
    "keys": ["generate", "address", "encrypt", "import"],
}
SINGLE = ["serve", "worker", "token", "wallet"]


def test_help_imports_no_heavy_module() -> None:
    script = "import sys; from tronpay.cli import main; sys.argv = ['tronpay', '--help']; main()"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "payouts" in result.stdout
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "tronpay.cli.payouts" in imported  # the parse found the import lines
    for heavy in HEAVY:
        loaded = sorted(m for m in imported if m == heavy or m.startswith(f"{heavy}."))
        assert not loaded, f"`tronpay --help` imports {loaded}"


def _help(args: list[str]) -> str:
    result = subprocess.run(
        [TRONPAY, *args, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "args",
    [[]]
    + [[name] for name in SINGLE]
    + [[group] for group in GROUPS]
    + [[group, command] for group, commands in GROUPS.items() for command in commands],
    ids=lambda args: " ".join(args) or "tronpay",
)
def test_help_renders_without_markup_artifacts(args: list[str]) -> None:
    text = _help(args)
    for artifact in ("``", "\b", ":class:", ":func:", "\n.. ", "\x1b["):
        assert artifact not in text, f"{artifact!r} in the help of {args}"
    if args and args[0] in GROUPS and len(args) == 1:
        for command in GROUPS[args[0]]:
            assert command in text


def test_root_help_documents_the_exit_codes_and_the_token_variable() -> None:
    text = " ".join(_help([]).split())
    assert "TRONPAY_TOKEN" in text
    assert "3 not found" in text
    assert "4 conflict or refused by policy" in text
