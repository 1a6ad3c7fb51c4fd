"""Shared test material for the protocol tests: the public vectors and hypothesis strategies
for java-tron JSON raw_data of every supported contract type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tronpay.tron.protobuf import INT64_MAX, INT64_MIN

VECTORS_PATH = Path(__file__).with_name("vectors.json")  # public TRON vectors, with sources
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text())
TRANSACTIONS: list[dict[str, Any]] = VECTORS["transactions"]
SIGNED = [t for t in TRANSACTIONS if "raw_data_hex" in t]

addresses_hex = st.binary(min_size=20, max_size=20).map(lambda b: "41" + b.hex())
nonzero_int64 = st.integers(INT64_MIN, INT64_MAX).filter(lambda v: v != 0)
positive_int64 = st.integers(1, INT64_MAX)
nonempty_hex = st.binary(min_size=1, max_size=80).map(bytes.hex)
non_default_resource = st.sampled_from(["ENERGY", "TRON_POWER"])


def _values(required: dict[str, Any], optional: dict[str, Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(required, optional=optional)


CONTRACT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "TransferContract": _values(
        {"owner_address": addresses_hex, "to_address": addresses_hex},
        {"amount": nonzero_int64},
    ),
    "TriggerSmartContract": _values(
        {"owner_address": addresses_hex, "contract_address": addresses_hex},
        {
            "call_value": nonzero_int64,
            "data": nonempty_hex,
            "call_token_value": nonzero_int64,
            "token_id": nonzero_int64,
        },
    ),
    "FreezeBalanceV2Contract": _values(
        {"owner_address": addresses_hex},
        {"frozen_balance": nonzero_int64, "resource": non_default_resource},
    ),
    "UnfreezeBalanceV2Contract": _values(
        {"owner_address": addresses_hex},
        {"unfreeze_balance": nonzero_int64, "resource": non_default_resource},
    ),
    "WithdrawExpireUnfreezeContract": _values({}, {"owner_address": addresses_hex}),
    "CancelAllUnfreezeV2Contract": _values({}, {"owner_address": addresses_hex}),
    "DelegateResourceContract": _values(
        {"owner_address": addresses_hex, "receiver_address": addresses_hex},
        {
            "resource": non_default_resource,
            "balance": nonzero_int64,
            "lock": st.just(True),
            "lock_period": nonzero_int64,
        },
    ),
    "UnDelegateResourceContract": _values(
        {"owner_address": addresses_hex, "receiver_address": addresses_hex},
        {"resource": non_default_resource, "balance": nonzero_int64},
    ),
}


@st.composite
def contracts(draw: st.DrawFn, type_name: str | None = None) -> dict[str, Any]:
    name = type_name or draw(st.sampled_from(sorted(CONTRACT_VALUES)))
    contract: dict[str, Any] = {
        "parameter": {
            "value": draw(CONTRACT_VALUES[name]),
            "type_url": f"type.googleapis.com/protocol.{name}",
        },
        "type": name,
    }
    if draw(st.booleans()):
        contract["Permission_id"] = draw(st.integers(1, 2**31 - 1))
    return contract


@st.composite
def raw_datas(draw: st.DrawFn, type_name: str | None = None) -> dict[str, Any]:
    """Canonical java-tron JSON raw_data (defaults omitted), with or without memo/fee_limit."""
    required = {
        "contract": st.lists(contracts(type_name), min_size=1, max_size=1),
        "ref_block_bytes": st.binary(min_size=2, max_size=2).map(bytes.hex),
        "ref_block_hash": st.binary(min_size=8, max_size=8).map(bytes.hex),
        "expiration": positive_int64,
        "timestamp": positive_int64,
    }
    optional = {
        "data": st.binary(min_size=1, max_size=600).map(bytes.hex),
        "fee_limit": positive_int64,
        "ref_block_num": nonzero_int64,
    }
    return draw(st.fixed_dictionaries(required, optional=optional))
