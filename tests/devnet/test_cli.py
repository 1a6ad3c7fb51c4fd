"""The tron-devnet command: flag and file errors, demo key, --state across restarts, SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tron_devnet.genesis import demo_private_key

from .support import DEMO_HEX, addr

PY = sys.executable


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "tron_devnet", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--port", "abc"], "--port"),
        (["--port", "70000"], "--port"),
        (["--block-time", "-1"], "--block-time"),
        (["--solidify-depth", "-2"], "--solidify-depth"),
        (["--bogus"], "unrecognized arguments"),
        (["--genesis", "missing.json"], "cannot read genesis file"),
        (["--faults", "missing.json"], "cannot read faults file"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args: list[str], fragment: str, tmp_path: Path) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tron-devnet: error:")
    assert fragment in lines[0]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{oops", "not valid JSON"),
        ('{"accounts": [{"address": "Tbad"}]}', "invalid address"),
        ('{"accounts": [{"private_key": "01", "trx_sun": 1}]}', "private_key"),
    ],
)
def test_bad_genesis_files_exit_2(content: str, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "genesis.json"
    path.write_text(content)
    result = run_cli("--genesis", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_module_entry_points(tmp_path: Path) -> None:
    for module in ("tron_devnet", "tron_devnet.cli"):
        result = subprocess.run(
            [PY, "-m", module, "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            check=False,
        )
        assert result.returncode == 0
        assert result.stdout.startswith("tron-devnet ")


def test_bad_state_file_exits_2(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"format": "something-else"}')
    result = run_cli("--state", str(state), "--port", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "state file" in result.stderr


@contextmanager
def devnet_process(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [PY, "-m", "tron_devnet", "--port", "0", "--block-time", "0", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, line
        url = match.group(1)
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/wallet/getnodeinfo", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err


def test_state_survives_restart_and_sigterm_exits_0(tmp_path: Path) -> None:
    state = tmp_path / "chain.json"
    key_file = tmp_path / "keys" / "demo.key"
    with devnet_process("--state", str(state), "--demo-key-file", str(key_file), cwd=tmp_path) as (
        proc,
        url,
    ):
        assert key_file.read_text().strip() == demo_private_key().hex()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        httpx.post(
            f"{url}/admin/mint", json={"address": addr(1), "trx_sun": 4242}
        ).raise_for_status()
        httpx.post(f"{url}/admin/blocks", json={"count": 7}).raise_for_status()
        code, err = stop(proc)
    assert code == 0, err
    assert "state saved" in err
    document = json.loads(state.read_text())
    assert document["format"] == "tron-devnet-state/1"
    with devnet_process("--state", str(state), "--demo-key-file", str(key_file), cwd=tmp_path) as (
        proc,
        url,
    ):
        head = httpx.post(f"{url}/wallet/getnodeinfo").json()["block"]
        assert head.startswith("Num:7,")
        account = httpx.post(f"{url}/wallet/getaccount", json={"address": addr(1)}).json()
        assert account["balance"] == 4242
        demo = httpx.post(f"{url}/wallet/getaccount", json={"address": DEMO_HEX}).json()
        assert demo["balance"] == 1_000_000 * 10**6
        code, _ = stop(proc, signal.SIGINT)
    assert code == 0


def test_demo_key_default_location_uses_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with devnet_process(cwd=tmp_path, env={"TRONPAY_DATA_DIR": str(data)}) as (proc, _url):
        key_file = data / "devnet" / "demo-hot-wallet.key"
        assert key_file.read_text().strip() == demo_private_key().hex()
        code, _ = stop(proc)
    assert code == 0


def test_genesis_file_and_solidify_depth(tmp_path: Path) -> None:
    genesis = tmp_path / "genesis.json"
    genesis.write_text(
        json.dumps({"accounts": [{"address": addr(5), "trx_sun": 77, "usdt_units": 3}]})
    )
    with devnet_process("--genesis", str(genesis), "--solidify-depth", "2", cwd=tmp_path) as (
        proc,
        url,
    ):
        assert (
            httpx.post(f"{url}/wallet/getaccount", json={"address": addr(5)}).json()["balance"]
            == 77
        )
        assert httpx.post(f"{url}/wallet/getaccount", json={"address": DEMO_HEX}).json() == {}
        httpx.post(f"{url}/admin/blocks", json={"count": 5}).raise_for_status()
        solid = httpx.post(f"{url}/wallet/getnodeinfo").json()["solidityBlock"]
        assert solid.startswith("Num:3,")
        code, _ = stop(proc)
    assert code == 0
    assert not (tmp_path / ".tronpay").exists()  # no demo key without the demo wallet


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with devnet_process(cwd=tmp_path) as (proc, url):
        port = url.rsplit(":", 1)[1]
        result = run_cli("--port", port, cwd=tmp_path)
        assert result.returncode == 2
        assert "cannot listen" in result.stderr
        stop(proc)


def test_faults_file_and_seed(tmp_path: Path) -> None:
    plan = tmp_path / "faults.json"
    plan.write_text(json.dumps([{"path": "/wallet/getnowblock", "mode": "http_502", "count": 1}]))
    with devnet_process("--faults", str(plan), "--seed", "99", cwd=tmp_path) as (proc, url):
        assert httpx.post(f"{url}/wallet/getnowblock").status_code == 502
        assert httpx.post(f"{url}/wallet/getnowblock").status_code == 200
        faults = httpx.get(f"{url}/admin/faults").json()
        assert faults["seed"] == 99
        assert faults["fired"] == {"http_502": 1}
        code, _ = stop(proc)
    assert code == 0
    bad = tmp_path / "bad-faults.json"
    bad.write_text(json.dumps([{"path": "/x", "mode": "meteor"}]))
    result = run_cli("--faults", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "mode must be one of" in result.stderr
