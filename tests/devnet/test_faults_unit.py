"""FaultPlan parsing, matching and determinism (no chain needed)."""

from __future__ import annotations

import pytest

from tron_devnet.core.wire import bytes_field, varint_field
from tron_devnet.faults import (
    BROADCAST_MODES,
    TRANSPORT_MODES,
    FaultPlan,
    FaultSpecError,
    is_trc20_transfer_bytes,
)


def _fired(plan: FaultPlan, path: str, n: int) -> list[bool]:
    return [plan.pick(path, TRANSPORT_MODES) is not None for _ in range(n)]


def test_same_seed_same_sequence_other_seed_differs() -> None:
    raw = {"seed": 7, "rules": [{"path": "/wallet/*", "mode": "http_500", "probability": 0.5}]}
    a = _fired(FaultPlan.from_json(raw), "/wallet/getnowblock", 200)
    b = _fired(FaultPlan.from_json(raw), "/wallet/getnowblock", 200)
    c = _fired(FaultPlan.from_json({**raw, "seed": 8}), "/wallet/getnowblock", 200)
    assert a == b
    assert a != c
    assert 60 < sum(a) < 140


def test_count_limits_firings_and_glob_matches_path() -> None:
    plan = FaultPlan.from_json(
        [{"path": "/wallet/broadcast*", "mode": "http_502", "count": 2}], default_seed=1
    )
    assert plan.pick("/wallet/getnowblock", TRANSPORT_MODES) is None
    assert _fired(plan, "/wallet/broadcasthex", 4) == [True, True, False, False]
    assert not plan.active
    assert plan.to_json()["fired"] == {"http_502": 2}


def test_modes_are_separated_between_transport_and_broadcast() -> None:
    plan = FaultPlan.from_json([{"path": "/wallet/broadcasthex", "mode": "server_busy"}])
    assert plan.pick("/wallet/broadcasthex", TRANSPORT_MODES) is None
    rule = plan.pick("/wallet/broadcasthex", BROADCAST_MODES)
    assert rule is not None
    assert rule.mode == "server_busy"


def test_revert_next_is_counted_by_consume() -> None:
    plan = FaultPlan.from_json([{"path": "/wallet/*", "mode": "revert_next", "count": 1}])
    index = plan.pending_revert("/wallet/broadcasthex")
    assert index == 0
    assert plan.pick("/wallet/broadcasthex", BROADCAST_MODES) is None
    plan.consume(index)
    assert plan.pending_revert("/wallet/broadcasthex") is None


@pytest.mark.parametrize(
    "raw",
    [
        {"rules": [{"path": "wallet", "mode": "hang"}]},
        {"rules": [{"path": "/x", "mode": "explode"}]},
        {"rules": [{"path": "/x", "mode": "hang", "probability": 1.5}]},
        {"rules": [{"path": "/x", "mode": "delay_blocks", "blocks": 0}]},
        {"rules": [{"path": "/x", "mode": "hang", "count": -1}]},
        {"rules": [{"path": "/x", "mode": "hang", "count": True}]},
        {"rules": [{"path": "/x", "mode": "hang", "extra": 1}]},
        {"seed": "1", "rules": []},
        {"rules": {}},
        "nope",
    ],
)
def test_malformed_plans_are_rejected(raw: object) -> None:
    with pytest.raises(FaultSpecError):
        FaultPlan.from_json(raw)


def _tx(contract_type: int, data: bytes) -> bytes:
    value = (
        bytes_field(1, b"\x41" + b"\x01" * 20)
        + bytes_field(2, b"\x41" + b"\x02" * 20)
        + bytes_field(4, data)
    )
    param = bytes_field(1, b"type.googleapis.com/protocol.TriggerSmartContract") + bytes_field(
        2, value
    )
    contract = varint_field(1, contract_type) + bytes_field(2, param)
    raw = bytes_field(1, b"\x00\x01") + bytes_field(11, contract)
    return bytes_field(1, raw) + bytes_field(2, b"\x00" * 65)


def test_trc20_transfer_detection() -> None:
    transfer = bytes.fromhex("a9059cbb") + b"\x00" * 64
    approve = bytes.fromhex("095ea7b3") + b"\x00" * 64
    assert is_trc20_transfer_bytes(_tx(31, transfer))
    assert not is_trc20_transfer_bytes(_tx(31, approve))
    assert not is_trc20_transfer_bytes(_tx(1, transfer))
    assert not is_trc20_transfer_bytes(b"\xff\xff\xff")
