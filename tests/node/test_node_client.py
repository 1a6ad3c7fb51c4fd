"""NodeClient against tron_devnet over real HTTP: typed reads, broadcast classification,
failover, backoff and every devnet fault mode."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from node.support import (
    DEMO_HEX,
    USDT_HEX,
    addr,
    blacklist,
    free_port_url,
    key,
    set_faults,
    signed_trx,
    signed_usdt,
)
from tron_devnet.testing import DevnetHandle, mint, produce_blocks
from tronpay.tron import abi
from tronpay.tron.address import to_hex
from tronpay.tron.errors import TronError
from tronpay.tron.node import (
    API_KEY_HEADER,
    BroadcastKind,
    NodeClient,
    NodeRejected,
    NodeUnavailable,
    classify_broadcast_code,
)

from .conftest import FAST


async def test_blocks_and_node_info(devnet: DevnetHandle, node: NodeClient) -> None:
    head = await produce_blocks(devnet.url, 5)
    now = await node.now_block()
    assert now.number == head == 5
    assert now.id.startswith(f"{head:016x}")
    block3 = await node.block_by_number(3)
    assert block3 is not None
    assert block3.number == 3
    assert block3.timestamp < now.timestamp
    assert await node.block_by_number(999) is None
    info = await node.node_info()
    assert (info.head_number, info.solid_number) == (5, 3)
    assert info.head_id == now.id


async def test_accounts_resources_and_parameters(devnet: DevnetHandle, node: NodeClient) -> None:
    hot = await node.account(DEMO_HEX)
    assert hot.exists
    assert hot.balance_sun == 1_000_000 * 1_000_000
    stranger = await node.account(addr(1))
    assert not stranger.exists
    assert stranger.balance_sun == 0
    res = await node.account_resource(DEMO_HEX)
    assert res.free_net_limit == 600
    assert res.bandwidth_available == 600
    params = await node.chain_parameters()
    assert params.energy_fee_sun == 100
    assert params.transaction_fee_sun == 1000
    assert params.create_new_account_fee_in_system_contract_sun > 0


async def test_trc20_views_and_energy(devnet: DevnetHandle, node: NodeClient) -> None:
    assert await node.token_decimals(USDT_HEX) == 6
    assert await node.token_balance(USDT_HEX, DEMO_HEX) == 10_000_000 * 1_000_000
    holder = addr(2)
    await mint(devnet.url, holder, usdt_units=5)
    assert await node.token_balance(USDT_HEX, holder) == 5
    assert not await node.is_blacklisted(USDT_HEX, holder)
    await blacklist(devnet.url, holder)
    assert await node.is_blacklisted(USDT_HEX, holder)
    e_new = await node.estimate_energy(DEMO_HEX, USDT_HEX, abi.transfer_call(addr(3), 1))
    e_old = await node.estimate_energy(DEMO_HEX, USDT_HEX, abi.transfer_call(to_hex(addr(4)), 1))
    await mint(devnet.url, addr(4), usdt_units=1)
    e_existing = await node.estimate_energy(DEMO_HEX, USDT_HEX, abi.transfer_call(addr(4), 1))
    assert e_new == e_old  # both new holders
    assert e_new > e_existing > 0
    assert e_new >= 2 * e_existing - 5_000  # a new holder costs about twice


async def test_broadcast_accept_known_and_receipt(devnet: DevnetHandle, node: NodeClient) -> None:
    await produce_blocks(devnet.url, 1)
    ref = await node.now_block()
    tx, txid = signed_trx(ref, addr(5), 1_500_000)
    first = await node.broadcast_hex(tx, txid)
    assert first.kind is BroadcastKind.ACCEPTED
    assert first.node == devnet.url
    again = await node.broadcast_hex(tx, txid)
    # a pending copy is accepted again (java-tron without the txid cache) or refused as a
    # duplicate (with it): both mean the node holds the transaction
    assert again.kind in (BroadcastKind.ACCEPTED, BroadcastKind.KNOWN)
    if again.kind is BroadcastKind.KNOWN:
        assert again.code == "DUP_TRANSACTION_ERROR"
    assert await node.transaction_info(txid) is None
    head = await produce_blocks(devnet.url, 1)
    info = await node.transaction_info(txid)
    assert info is not None
    assert info.success
    assert info.block_number == head
    in_block = await node.transaction_infos_in_block(head)
    assert [i.txid for i in in_block] == [txid]
    assert await node.transaction_info(txid, solid=True) is None
    await produce_blocks(devnet.url, 2)
    solid = await node.transaction_info(txid, solid=True)
    assert solid is not None
    assert solid.success
    tx_json = await node.transaction_by_id(txid)
    assert tx_json is not None
    assert tx_json.contract_type == "TransferContract"
    assert tx_json.parameter["amount"] == 1_500_000
    assert tx_json.contract_ret == "SUCCESS"
    presence = await node.txid_presence(txid)
    assert presence.known_on == (devnet.url,)
    assert not presence.proven_unknown


async def test_broadcast_usdt_receipt_fees(devnet: DevnetHandle, node: NodeClient) -> None:
    ref = await node.now_block()
    tx, txid = signed_usdt(ref, addr(6), 7_000_000)
    assert (await node.broadcast_hex(tx, txid)).kind is BroadcastKind.ACCEPTED
    head = await produce_blocks(devnet.url, 1)
    infos = await node.transaction_infos_in_block(head)
    assert len(infos) == 1
    info = infos[0]
    assert info.success
    assert info.energy_usage_total > 100_000  # a new holder
    assert info.energy_fee_sun == info.energy_usage_total * 100
    assert info.fee_sun >= info.energy_fee_sun


async def test_broadcast_dead_codes(devnet: DevnetHandle, node: NodeClient) -> None:
    await produce_blocks(devnet.url, 2)
    ref = await node.now_block()
    # expired: TRANSACTION_EXPIRATION_ERROR -> DEAD
    old = int(time.time() * 1000) - 120_000
    tx, txid = signed_trx(ref, addr(7), 1_000, ts_ms=old - 1000, expiration_ms=old)
    out = await node.broadcast_hex(tx, txid)
    assert out.kind is BroadcastKind.DEAD
    assert out.code == "TRANSACTION_EXPIRATION_ERROR"
    # unknown reference block: TAPOS_ERROR -> DEAD
    fake = type(ref)(number=ref.number, id=f"{ref.number:016x}" + "ab" * 24, timestamp=0)
    tx, txid = signed_trx(fake, addr(7), 1_000)
    out = await node.broadcast_hex(tx, txid)
    assert out.kind is BroadcastKind.DEAD
    assert out.code == "TAPOS_ERROR"


async def test_broadcast_signature_error_is_bug(devnet: DevnetHandle, node: NodeClient) -> None:
    ref = await node.now_block()
    # signed by key(98) but claims to be from the demo wallet
    tx, txid = signed_trx(ref, addr(8), 1_000)
    wrong_sig = key(98).sign_txid(bytes.fromhex(txid))
    tampered = tx[:-65] + wrong_sig
    out = await node.broadcast_hex(tampered, txid)
    assert out.kind is BroadcastKind.BUG
    assert out.code == "SIGERROR"


async def test_broadcast_insufficient_balance_holds(devnet: DevnetHandle, node: NodeClient) -> None:
    poor = key(20)
    await mint(devnet.url, poor.address, trx_sun=1_000)
    ref = await node.now_block()
    tx, txid = signed_trx(ref, addr(9), 5_000_000, signer=poor)
    out = await node.broadcast_hex(tx, txid)
    assert out.kind is BroadcastKind.HOLD, out


def test_classification_table() -> None:
    assert classify_broadcast_code("DUP_TRANSACTION_ERROR", "") is BroadcastKind.KNOWN
    assert classify_broadcast_code("TAPOS_ERROR", "") is BroadcastKind.DEAD
    assert classify_broadcast_code("TRANSACTION_EXPIRATION_ERROR", "") is BroadcastKind.DEAD
    assert classify_broadcast_code("CONTRACT_VALIDATE_ERROR", "bad to") is BroadcastKind.DEAD
    assert (
        classify_broadcast_code(
            "CONTRACT_VALIDATE_ERROR", "Validate TransferContract error, balance is not sufficient."
        )
        is BroadcastKind.HOLD
    )
    assert classify_broadcast_code("BANDWITH_ERROR", "") is BroadcastKind.HOLD
    assert classify_broadcast_code("SIGERROR", "") is BroadcastKind.BUG
    assert classify_broadcast_code("TOO_BIG_TRANSACTION_ERROR", "") is BroadcastKind.BUG
    for code in (
        "SERVER_BUSY",
        "NO_CONNECTION",
        "NOT_ENOUGH_EFFECTIVE_CONNECTION",
        "BLOCK_UNSOLIDIFIED",
        "OTHER_ERROR",
        "SOMETHING_NEW",
    ):
        assert classify_broadcast_code(code, "") is BroadcastKind.UNKNOWN


async def test_failover_to_second_node_and_health(devnet: DevnetHandle) -> None:
    dead = free_port_url()
    async with NodeClient([dead, devnet.url], timeout=FAST, backoff_base_s=0.01) as node:
        block = await node.now_block()
        assert block.number == 0
        health = {h.url: h for h in node.health()}
        assert not health[dead].healthy
        assert health[dead].failures == 1
        assert health[devnet.url].healthy
        # the sick node is now tried last: no new failure on the next read
        await node.now_block()
        assert {h.url: h for h in node.health()}[dead].failures == 1
        ref = await node.now_block()
        tx, txid = signed_trx(ref, addr(10), 1_000)
        assert (await node.broadcast_hex(tx, txid)).kind is BroadcastKind.ACCEPTED
        presence = await node.txid_presence(txid)
        assert presence.unreachable == (dead,)
        assert not presence.proven_unknown


async def test_unavailable_when_no_node_answers() -> None:
    async with NodeClient([free_port_url()], timeout=FAST, backoff_base_s=0.01) as node:
        with pytest.raises(NodeUnavailable) as err:
            await node.now_block()
        assert err.value.code == "node_unavailable"
        assert isinstance(err.value, TronError)  # the root of everything tronpay.tron raises
        ref_tx = bytes.fromhex("0a00")
        out = await node.broadcast_hex(ref_tx, "00" * 32)
        assert out.kind is BroadcastKind.UNKNOWN
        presence = await node.txid_presence("00" * 32)
        assert not presence.proven_unknown
        assert len(presence.unreachable) == 1


async def test_unknown_txid_is_proven_unknown(devnet: DevnetHandle, node: NodeClient) -> None:
    presence = await node.txid_presence("11" * 32)
    assert presence.proven_unknown
    assert await node.transaction_by_id("11" * 32) is None


async def test_servlet_error_is_rejected(devnet: DevnetHandle, node: NodeClient) -> None:
    with pytest.raises(NodeRejected):
        await node.call_view(None, USDT_HEX, bytes.fromhex("deadbeef"))  # reverts
    with pytest.raises(NodeRejected) as err:
        await node.transaction_by_id("zz")  # {"Error": ...}
    assert err.value.code == "node_rejected"


async def test_reads_back_off_over_http_500_and_502(devnet: DevnetHandle) -> None:
    await set_faults(
        devnet.url,
        [
            {"path": "/wallet/getnowblock", "mode": "http_500", "count": 1},
            {"path": "/wallet/getnowblock", "mode": "http_502", "count": 1},
        ],
    )
    async with NodeClient([devnet.url], timeout=FAST, backoff_base_s=0.01, read_rounds=3) as node:
        assert (await node.now_block()).number == 0
    await set_faults(devnet.url, [{"path": "/wallet/getnowblock", "mode": "http_500"}])
    async with NodeClient([devnet.url], timeout=FAST, backoff_base_s=0.01, read_rounds=2) as node:
        with pytest.raises(NodeUnavailable):
            await node.now_block()


async def test_broadcast_fault_modes(devnet: DevnetHandle) -> None:
    timeout = httpx.Timeout(0.5, connect=0.5)
    async with NodeClient([devnet.url], timeout=timeout, backoff_base_s=0.01) as node:
        ref = await node.now_block()

        async def fault_then_broadcast(rule: dict[str, Any], n: int) -> tuple[BroadcastKind, str]:
            await set_faults(devnet.url, [rule])
            tx, txid = signed_trx(ref, addr(30 + n), 1_000 + n)
            return (await node.broadcast_hex(tx, txid)).kind, txid

        kind, _ = await fault_then_broadcast(
            {"path": "/wallet/broadcasthex", "mode": "server_busy"}, 1
        )
        assert kind is BroadcastKind.UNKNOWN
        busy_txid = _
        kind, _ = await fault_then_broadcast(
            {"path": "/wallet/broadcasthex", "mode": "http_500"}, 2
        )
        assert kind is BroadcastKind.UNKNOWN
        kind, _ = await fault_then_broadcast(
            {"path": "/wallet/broadcasthex", "mode": "hang", "seconds": 1.0, "count": 1}, 3
        )
        assert kind is BroadcastKind.UNKNOWN
        kind, lost = await fault_then_broadcast(
            {"path": "/wallet/broadcasthex", "mode": "lose_response", "count": 1}, 4
        )
        assert kind is BroadcastKind.UNKNOWN
        kind, never = await fault_then_broadcast(
            {"path": "/wallet/broadcasthex", "mode": "never_include", "count": 1}, 5
        )
        assert kind is BroadcastKind.ACCEPTED
        kind, delayed = await fault_then_broadcast(
            {"path": "/wallet/broadcasthex", "mode": "delay_blocks", "blocks": 2, "count": 1}, 6
        )
        assert kind is BroadcastKind.ACCEPTED
        await set_faults(devnet.url, [])
        await produce_blocks(devnet.url, 1)
        # lose_response served the broadcast: the tx is on chain although we got no answer
        assert await node.transaction_info(lost) is not None
        assert await node.transaction_info(never) is None
        assert await node.transaction_info(delayed) is None
        assert await node.transaction_info(busy_txid) is None
        await produce_blocks(devnet.url, 2)
        assert await node.transaction_info(delayed) is not None
        assert await node.transaction_info(never) is None


async def test_api_key_header_is_sent(devnet: DevnetHandle) -> None:
    seen: list[str | None] = []
    app = devnet.app

    async def capture(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            seen.append(headers.get(API_KEY_HEADER.lower().encode(), b"").decode() or None)
        await app(scope, receive, send)

    transport = httpx.ASGITransport(app=capture)
    async with NodeClient(
        ["http://devnet"], api_key="k-123", timeout=FAST, transport=transport
    ) as node:
        assert "k-123" not in repr(node)
        await node.node_info()
    assert seen == ["k-123"]


async def test_socks_proxy_is_used_not_bypassed(devnet: DevnetHandle) -> None:
    # A SOCKS proxy nobody listens on: the read must fail, never fall back to a direct call.
    proxy = free_port_url().replace("http://", "socks5://")
    async with NodeClient(
        [devnet.url], timeout=FAST, proxy=proxy, read_rounds=1, backoff_base_s=0.01
    ) as node:
        with pytest.raises(NodeUnavailable):
            await node.now_block()
