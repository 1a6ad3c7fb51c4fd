"""Property tests: random workloads keep TRX and tokens conserved, accepted transactions are
included, and the solid state equals the head state it lags behind."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tron_devnet.core.chain import Chain, ChainConfig

from .helpers import (
    BANDWIDTH,
    ENERGY,
    T0,
    TRX,
    Net,
    Wallet,
    delegate_param,
    freeze_param,
    undelegate_param,
    unfreeze_param,
)

WALLETS = [Wallet(21 + i) for i in range(4)]
OUTSIDER = Wallet(40)
DEPTH = 2

op = st.one_of(
    st.tuples(st.just("trx"), st.integers(0, 3), st.integers(0, 4), st.integers(1, 30 * TRX)),
    st.tuples(st.just("usdt"), st.integers(0, 3), st.integers(0, 4), st.integers(0, 40 * TRX)),
    st.tuples(st.just("freeze"), st.integers(0, 3), st.integers(0, 1), st.integers(1, 40 * TRX)),
    st.tuples(st.just("unfreeze"), st.integers(0, 3), st.integers(0, 1), st.integers(1, 40 * TRX)),
    st.tuples(st.just("delegate"), st.integers(0, 3), st.integers(0, 3), st.integers(1, 20 * TRX)),
    st.tuples(
        st.just("undelegate"), st.integers(0, 3), st.integers(0, 3), st.integers(1, 20 * TRX)
    ),
    st.tuples(st.just("block"), st.just(0), st.just(0), st.integers(0, 3)),
    st.tuples(st.just("mint"), st.integers(0, 4), st.integers(0, 1), st.integers(1, 10 * TRX)),
    st.tuples(st.just("blacklist"), st.integers(0, 3), st.integers(0, 1), st.just(0)),
)


def _target(i: int) -> Wallet:
    return WALLETS[i] if i < len(WALLETS) else OUTSIDER


def _build(net: Net, kind: str, a: int, b: int, amount: int, *, nonce: int) -> bytes | None:
    src = WALLETS[a]
    if kind == "trx":
        return net.trx(src, _target(b).address, amount, nonce=nonce)[0]
    if kind == "usdt":
        return net.usdt(src, _target(b).address, amount, nonce=nonce)[0]
    resource = ENERGY if b % 2 else BANDWIDTH
    if kind == "freeze":
        param = freeze_param(src.address, amount, resource)
        return net.build(src, "FreezeBalanceV2Contract", param, nonce=nonce)[0]
    if kind == "unfreeze":
        param = unfreeze_param(src.address, amount, resource)
        return net.build(src, "UnfreezeBalanceV2Contract", param, nonce=nonce)[0]
    if kind in ("delegate", "undelegate") and a != b:
        if kind == "delegate":
            param = delegate_param(src.address, WALLETS[b].address, amount, ENERGY)
            return net.build(src, "DelegateResourceContract", param, nonce=nonce)[0]
        param = undelegate_param(src.address, WALLETS[b].address, amount, ENERGY)
        return net.build(src, "UnDelegateResourceContract", param, nonce=nonce)[0]
    return None


def _trx_total(net: Net, *, solid: bool = False) -> int:
    total = 0
    for w in [*WALLETS, OUTSIDER]:
        acct = net.chain.account_json(w.hex, solid=solid)
        total += acct.get("balance", 0)
        total += sum(f.get("amount", 0) for f in acct.get("frozenV2", []))
        total += sum(u["unfreeze_amount"] for u in acct.get("unfrozenV2", []))
        total += acct.get("account_resource", {}).get("delegated_frozenV2_balance_for_energy", 0)
    return total


def _snapshot(net: Net) -> dict[str, Any]:
    return {w.hex: (net.chain.account_json(w.hex), net.tokens(w)) for w in [*WALLETS, OUTSIDER]}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(op, min_size=1, max_size=25))
def test_random_workload_invariants(ops: list[tuple[str, int, int, int]]) -> None:
    cfg = ChainConfig(genesis_timestamp_ms=T0, solidify_depth=DEPTH, total_energy_limit=200_000)
    net = Net([(w, 100 * TRX, 50 * TRX) for w in WALLETS], cfg)
    genesis_trx = 4 * 100 * TRX
    accepted: list[str] = []
    snapshots: dict[int, dict[str, Any]] = {0: _snapshot(net)}

    def produce() -> None:
        net.produce()
        snapshots[net.chain.head_number] = _snapshot(net)
        block = net.chain.block_json(net.chain.head_number)
        assert block is not None
        included = {t["txID"] for t in block.get("transactions", [])}
        # every accepted transaction makes it into the next block, in order
        assert included == set(accepted)
        accepted.clear()
        solid = net.chain.solid_number
        assert solid == max(0, net.chain.head_number - DEPTH)
        for w in [*WALLETS, OUTSIDER]:
            account, tokens = snapshots[solid][w.hex]
            assert net.chain.account_json(w.hex, solid=True) == account
            assert net.tokens(w, solid=True) == tokens

    minted_trx = minted_tokens = 0
    for nonce, (kind, a, b, amount) in enumerate(ops):
        if kind == "block":
            for _ in range(amount):
                produce()
            continue
        if kind == "mint":
            target = _target(a)
            if b:
                net.chain.mint(target.hex, usdt_units=amount)
                minted_tokens += amount
            else:
                net.chain.mint(target.hex, trx_sun=amount)
                minted_trx += amount
            continue
        if kind == "blacklist":
            net.chain.blacklist(WALLETS[a].hex, listed=bool(b))
            continue
        tx = _build(net, kind, a, b, amount, nonce=nonce)
        if tx is None:
            continue
        res = net.chain.submit(tx)
        if res.ok:
            accepted.append(res.txid)
        else:
            assert res.code in ("CONTRACT_VALIDATE_ERROR", "BANDWITH_ERROR"), res
    produce()

    burned = sum(e["fee"] for e in net.chain.ledger()["transactions"])
    assert _trx_total(net) + burned == genesis_trx + minted_trx
    assert sum(net.tokens(w) for w in [*WALLETS, OUTSIDER]) == 4 * 50 * TRX + minted_tokens
    copy = Chain.from_state(json.loads(json.dumps(net.chain.export_state())), now_ms=net.clock)
    assert copy.ledger() == net.chain.ledger()
    assert copy.state_json() == net.chain.state_json()
    for w in [*WALLETS, OUTSIDER]:
        for solid in (False, True):
            assert copy.account_json(w.hex, solid=solid) == net.chain.account_json(
                w.hex, solid=solid
            )
    for entry in net.chain.ledger()["transactions"]:
        info = net.info(entry["txid"])
        assert info.get("fee", 0) == entry["fee"]
