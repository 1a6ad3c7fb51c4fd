"""Micro-benchmark of Chain.submit for signed TRC20 transfers (prints figures, asserts behaviour).

Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import time

from tron_devnet.core.chain import ChainConfig

from .helpers import T0, TRX, Net, Wallet

N = 2_000


def test_submit_cost_per_trc20_transfer() -> None:
    senders = [Wallet(100 + i) for i in range(20)]
    dest = Wallet(5)
    cfg = ChainConfig(genesis_timestamp_ms=T0, solidify_depth=19)
    net = Net([(w, 1_000_000 * TRX, 1_000_000 * TRX) for w in senders] + [(dest, TRX, 1)], cfg)
    net.produce()
    txs = [net.usdt(senders[i % 20], dest.address, 1, nonce=i)[0] for i in range(N)]
    submit = net.chain.submit
    start = time.perf_counter()
    results = [submit(tx) for tx in txs]
    elapsed = time.perf_counter() - start
    assert all(r.ok for r in results)
    seal_start = time.perf_counter()
    net.chain.produce_block(detail=False)
    seal = time.perf_counter() - seal_start
    assert net.tokens(dest) == N + 1
    json_start = time.perf_counter()
    block = net.chain.block_json(net.chain.head_number)
    as_json = time.perf_counter() - json_start
    assert block is not None
    assert len(block["transactions"]) == N
    print(
        f"\nsubmit: {elapsed / N * 1e6:.1f} us/tx ({N / elapsed:,.0f} tx/s); "
        f"produce_block(detail=False) with {N} txs: {seal * 1e3:.1f} ms "
        f"({seal / N * 1e6:.1f} us/tx); block JSON: {as_json * 1e3:.1f} ms"
    )
