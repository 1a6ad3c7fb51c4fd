"""The policy file format and environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from tronpay.policy import AssetLimits, PolicyConfigError, load_policy
from tronpay.tron.address import to_hex
from tronpay.tron.keys import PrivateKey

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["policy.example.toml", "policy.devnet.toml"])
def test_shipped_files_load(name: str) -> None:
    config = load_policy(CONFIGS / name, {})
    usdt = config.for_asset("USDT")
    assert usdt.max_per_payout is not None
    assert usdt.approval_threshold is not None
    assert usdt.approval_threshold <= usdt.max_per_payout
    assert config.allow_list is None


def test_example_values_are_exact() -> None:
    config = load_policy(CONFIGS / "policy.example.toml", {})
    assert config.for_asset("usdt") == AssetLimits(
        max_per_payout=10_000_000_000,
        daily_total=100_000_000_000,
        daily_per_destination=20_000_000_000,
        approval_threshold=5_000_000_000,
        daily_approval_per_destination=8_000_000_000,
        max_fee_per_payout=15_000_000,
    )


def test_decimal_strings_and_integers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[limits.USDT]\nmax_per_payout = "0.000001"\ndaily_total = 123\n'
        'approval_threshold = "12345.678901"\n',
    )
    limits = load_policy(path, {}).for_asset("USDT")
    assert limits.max_per_payout == 1
    assert limits.daily_total == 123
    assert limits.approval_threshold == 12_345_678_901
    assert limits.daily_per_destination is None


@pytest.mark.parametrize(
    "body",
    [
        "[limits.USDT]\nmax_per_payout = 10.5\n",
        '[limits.USDT]\nmax_per_payout = "1.0000001"\n',
        '[limits.USDT]\nmax_per_payout = "-1"\n',
        '[limits.USDT]\nmax_per_payout = "1e6"\n',
        "[limits.USDT]\nmax_per_payout = true\n",
        '[limits.USDT]\nmax_payout = "1"\n',
        '[limits.BTC]\nmax_per_payout = "1"\n',
        '[destinations]\ndeny = "TX"\n',
        '[destinations]\nblock = ["TX"]\n',
        "[other]\n",
        "not toml = = =",
    ],
)
def test_invalid_files(tmp_path: Path, body: str) -> None:
    with pytest.raises(PolicyConfigError):
        load_policy(write(tmp_path, body), {})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyConfigError, match="cannot read"):
        load_policy(tmp_path / "absent.toml", {})


def test_no_file_is_unlimited() -> None:
    config = load_policy(None, {})
    assert config.is_unlimited
    assert config.for_asset("USDT") == AssetLimits()


A, B, C, D, E, F = (PrivateKey((0x9000 + n).to_bytes(32, "big")).address for n in range(6))


def test_env_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[limits.USDT]\nmax_per_payout = "100"\ndaily_total = "1000"\n'
        f'[destinations]\ndeny = ["{A}"]\nallow = ["{B}", "{C}"]\n',
    )
    config = load_policy(
        path,
        {
            "TRONPAY_POLICY_MAX_PER_PAYOUT_USDT": "50.5",
            "TRONPAY_POLICY_DAILY_TOTAL_USDT": "",
            "TRONPAY_POLICY_APPROVAL_THRESHOLD_TRX": "7",
            "TRONPAY_POLICY_DENY_LIST": f"{D}, {to_hex(E)}",
            "TRONPAY_POLICY_ALLOW_LIST": F,
        },
    )
    assert config.for_asset("USDT").max_per_payout == 50_500_000
    assert config.for_asset("USDT").daily_total is None
    assert config.for_asset("TRX").approval_threshold == 7_000_000
    assert config.deny_list == frozenset({A, D, E})  # hex entries are normalized to base58
    assert config.allow_list == frozenset({F})


@pytest.mark.parametrize("entry", ["TA", A[:-1] + ("1" if A[-1] != "1" else "2"), "0x41"])
def test_an_address_the_policy_cannot_match_is_refused(tmp_path: Path, entry: str) -> None:
    path = write(tmp_path, f'[destinations]\ndeny = ["{entry}"]\n')
    with pytest.raises(PolicyConfigError, match=r"destinations\.deny"):
        load_policy(path, {})
    with pytest.raises(PolicyConfigError, match="TRONPAY_POLICY_ALLOW_LIST"):
        load_policy(None, {"TRONPAY_POLICY_ALLOW_LIST": entry})


def test_env_override_is_validated() -> None:
    with pytest.raises(PolicyConfigError, match="TRONPAY_POLICY_MAX_PER_PAYOUT_USDT"):
        load_policy(None, {"TRONPAY_POLICY_MAX_PER_PAYOUT_USDT": "lots"})


def test_max_fee_per_payout_is_trx_per_asset(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[limits.USDT]\nmax_fee_per_payout = "15"\n[limits.TRX]\nmax_fee_per_payout = "1.5"\n',
    )
    config = load_policy(path, {})
    assert config.max_fees() == {"USDT": 15_000_000, "TRX": 1_500_000}
    assert config.for_asset("USDT").describe()["max_fee_per_payout"] == "15"
    env = load_policy(
        path,
        {
            "TRONPAY_POLICY_MAX_FEE_PER_PAYOUT_USDT": "0.5",
            "TRONPAY_POLICY_MAX_FEE_PER_PAYOUT_TRX": "",
        },
    )
    assert env.max_fees() == {"USDT": 500_000}
    assert load_policy(None, {}).max_fees() == {}
