"""``tronpay keys ...`` through typer's CliRunner, with real files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tronpay.cli import keys as keys_cli
from tronpay.tron import address
from tronpay.tron.keys import PrivateKey

KEY_1_HEX = "0000000000000000000000000000000000000000000000000000000000000001"
KEY_1_ADDRESS = "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC"
FAST = ["--scrypt-n", "1024"]


@pytest.fixture
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Test root."""

    keys_cli.register(root)
    return root


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _secret(tmp_path: Path, name: str, content: str, mode: int = 0o600) -> Path:
    path = tmp_path / name
    path.write_text(content)
    path.chmod(mode)
    return path


def test_generate_writes_private_file_and_prints_only_the_address(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "hot.key"
    result = runner.invoke(app, ["keys", "generate", "--out", str(out)])
    assert result.exit_code == 0, result.output
    printed = result.stdout.strip()
    assert address.is_valid(printed)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    key_hex = out.read_text().strip()
    assert PrivateKey.from_hex(key_hex).address == printed
    assert key_hex not in result.output
    again = runner.invoke(app, ["keys", "generate", "--out", str(out)])
    assert again.exit_code == 1
    assert "already exists" in again.stderr
    assert out.read_text().strip() == key_hex


def test_address_from_key_file(app: typer.Typer, runner: CliRunner, tmp_path: Path) -> None:
    key_file = _secret(tmp_path, "hot.key", KEY_1_HEX + "\n")
    result = runner.invoke(app, ["keys", "address", "--key-file", str(key_file)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == KEY_1_ADDRESS
    key_file.chmod(0o644)
    refused = runner.invoke(app, ["keys", "address", "--key-file", str(key_file)])
    assert refused.exit_code == 1
    assert f"chmod 600 {key_file}" in refused.stderr
    assert KEY_1_HEX not in refused.output


def test_encrypt_then_address_from_keystore(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    key_file = _secret(tmp_path, "hot.key", KEY_1_HEX)
    passphrase = _secret(tmp_path, "pass", "s3cret\n")
    keystore = tmp_path / "hot.json"
    result = runner.invoke(
        app,
        [
            "keys",
            "encrypt",
            "--key-file",
            str(key_file),
            "--out",
            str(keystore),
            "--passphrase-file",
            str(passphrase),
            *FAST,
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == KEY_1_ADDRESS
    document = json.loads(keystore.read_text())
    assert document["address"] == KEY_1_ADDRESS
    assert KEY_1_HEX not in keystore.read_text()
    shown = runner.invoke(
        app, ["keys", "address", "--keystore", str(keystore), "--passphrase-file", str(passphrase)]
    )
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.strip() == KEY_1_ADDRESS
    wrong = _secret(tmp_path, "wrong", "nope\n")
    denied = runner.invoke(
        app, ["keys", "address", "--keystore", str(keystore), "--passphrase-file", str(wrong)]
    )
    assert denied.exit_code == 1
    assert "wrong passphrase" in denied.stderr


def test_import_to_key_file_and_keystore(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "imported.key"
    result = runner.invoke(
        app, ["keys", "import", "--out", str(out)], input="0x" + KEY_1_HEX + "\n"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == KEY_1_ADDRESS
    assert KEY_1_HEX not in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().strip() == KEY_1_HEX

    keystore = tmp_path / "imported.json"
    passphrase = _secret(tmp_path, "pass", "pw\n")
    result = runner.invoke(
        app,
        [
            "keys",
            "import",
            "--keystore",
            str(keystore),
            "--passphrase-file",
            str(passphrase),
            *FAST,
        ],
        input=KEY_1_HEX,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(keystore.read_text())["address"] == KEY_1_ADDRESS


def test_import_rejects_bad_input_without_echoing_it(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    bad = KEY_1_HEX[:-1] + "x"
    result = runner.invoke(app, ["keys", "import", "--out", str(tmp_path / "k")], input=bad)
    assert result.exit_code == 1
    assert "valid hex private key" in result.stderr
    assert bad not in result.output
    assert not (tmp_path / "k").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["keys", "address"], "exactly one"),
        (["keys", "address", "--key-file", "a", "--keystore", "b"], "exactly one"),
        (["keys", "address", "--keystore", "b"], "--passphrase-file"),
        (["keys", "import"], "exactly one"),
        (["keys", "import", "--keystore", "b"], "--passphrase-file"),
    ],
)
def test_usage_errors(app: typer.Typer, runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(app, args, input="")
    assert result.exit_code == 1
    assert message in result.stderr


def test_registered_on_the_real_root_app(runner: CliRunner) -> None:
    from tronpay.cli import app as root_app

    result = runner.invoke(root_app, ["keys", "--help"])
    assert result.exit_code == 0, result.output
    for command in ("generate", "address", "encrypt", "import"):
        assert command in result.stdout
