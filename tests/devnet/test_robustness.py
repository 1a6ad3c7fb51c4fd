"""Garbage in, java-tron-shaped answers out: every endpoint answers HTTP 200 with a JSON object
(or list), never a 500, whatever the parameters."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tron_devnet.core.chain import Chain
from tron_devnet.genesis import default_genesis
from tron_devnet.server import create_app
from tron_devnet.wallet_api import FULL_NODE, POST_ONLY, SOLIDITY_NODE

KEYS = [
    "address",
    "value",
    "num",
    "id_or_num",
    "detail",
    "owner_address",
    "to_address",
    "amount",
    "contract_address",
    "function_selector",
    "parameter",
    "data",
    "fee_limit",
    "call_value",
    "frozen_balance",
    "unfreeze_balance",
    "resource",
    "receiver_address",
    "balance",
    "lock",
    "lock_period",
    "transaction",
    "raw_data",
    "signature",
    "visible",
    "extra_data",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "41a614f803b6fd780986a42c78ec9c7f77e6ded13c",
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            "00" * 32,
            "ENERGY",
            "a9059cbb",
            "0a02",
        ]
    ),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=5), SCALARS, max_size=3),
)
BODIES = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6)
PATHS = st.sampled_from(
    [f"/wallet/{name}" for name in FULL_NODE] + [f"/walletsolidity/{n}" for n in SOLIDITY_NODE]
)


def test_any_parameters_get_a_json_answer() -> None:
    genesis = default_genesis()
    app = create_app(Chain(genesis.config, list(genesis.accounts)), block_time_s=0)
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://devnet",
    )

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=PATHS, body=BODIES, as_get=st.booleans())
    def check(path: str, body: dict[str, Any], as_get: bool) -> None:
        if as_get and FULL_NODE[path.rsplit("/", 1)[1]] not in POST_ONLY:
            params = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in body.items()}
            request = client.get(path, params=params)
        else:
            request = client.post(path, json=body)
        response = loop.run_until_complete(request)
        assert response.status_code == 200, (path, body, response.text)
        assert isinstance(response.json(), dict | list)

    try:
        check()
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
