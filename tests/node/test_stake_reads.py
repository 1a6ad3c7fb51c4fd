"""NodeClient's Stake 2.0 reads against tron_devnet over real HTTP."""

from __future__ import annotations

import pytest

from node.support import addr, advance_time, key, node_built
from tron_devnet.testing import DevnetHandle, mint, produce_blocks
from tronpay.tron.address import to_hex
from tronpay.tron.node import NodeClient, NodeRejected, PendingUnstake, Resource

TRX = 1_000_000


async def test_stake_delegations_and_unstakes(devnet: DevnetHandle, node: NodeClient) -> None:
    owner, receiver = key(40), addr(41)
    await mint(devnet.url, owner.address, trx_sun=5_000 * TRX)
    await mint(devnet.url, receiver, trx_sun=TRX)
    empty = await node.account_stake(owner.address)
    assert empty.exists
    assert empty.balance_sun == 5_000 * TRX
    assert empty.energy.staked_sun == empty.bandwidth.staked_sun == 0
    assert empty.unstakes == ()
    assert await node.delegations_from(owner.address) == ()

    for resource, amount in (("ENERGY", 1_000 * TRX), ("BANDWIDTH", 200 * TRX)):
        await node_built(
            devnet.url,
            owner,
            "/wallet/freezebalancev2",
            {"frozen_balance": amount, "resource": resource},
        )
        await produce_blocks(devnet.url, 1)
    await node_built(
        devnet.url,
        owner,
        "/wallet/delegateresource",
        {
            "receiver_address": receiver,
            "balance": 300 * TRX,
            "resource": "ENERGY",
            "lock": True,
            "lock_period": 100,
        },
    )
    await produce_blocks(devnet.url, 1)
    await node_built(
        devnet.url,
        owner,
        "/wallet/unfreezebalancev2",
        {"unfreeze_balance": 50 * TRX, "resource": "BANDWIDTH"},
    )
    head = await produce_blocks(devnet.url, 1)
    block = await node.block_by_number(head)
    assert block is not None
    head_ts = block.timestamp

    stake = await node.account_stake(owner.address)
    assert stake.balance_sun == 3_800 * TRX
    assert stake.energy.staked_sun == 700 * TRX
    assert stake.energy.delegated_out_sun == 300 * TRX
    assert stake.bandwidth.staked_sun == 150 * TRX
    assert stake.unstakes == (
        PendingUnstake(Resource.BANDWIDTH, 50 * TRX, head_ts + 14 * 86_400_000),
    )
    got = await node.account_stake(receiver)
    assert got.energy.delegated_in_sun == 300 * TRX

    [delegation] = await node.delegations_from(owner.address)
    assert delegation.from_address == to_hex(owner.address)
    assert delegation.to_address == to_hex(receiver)
    assert delegation.energy_sun == 300 * TRX
    assert delegation.energy_locked_until_ms > head_ts

    assert await node.available_unfreeze_count(owner.address) == 31
    assert await node.can_withdraw_unfreeze_amount(owner.address, head_ts) == 0
    later = await advance_time(devnet.url, 14 * 86_400)
    assert await node.can_withdraw_unfreeze_amount(owner.address, later) == 50 * TRX
    assert await node.available_unfreeze_count(owner.address) == 32

    resource = await node.account_resource(owner.address)
    assert resource.total_energy_weight == 1_000
    assert resource.total_net_weight == 150
    assert resource.total_net_limit > 0


async def test_stake_reads_refusals_are_node_rejected(node: NodeClient) -> None:
    with pytest.raises(NodeRejected):
        await node.can_withdraw_unfreeze_amount(addr(42), -5)
