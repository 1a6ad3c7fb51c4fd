"""Conformance: unmodified tronpy 0.6.2 (AsyncTron over HTTP) against a running devnet.

tronpy is an independent client: it builds transactions locally, asks the node for the txid
(getsignweight), signs with its own key code and reads results the way wallets do.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from tronpy import AsyncTron
from tronpy.async_tron import AsyncTransaction
from tronpy.exceptions import (
    BadSignature,
    TaposError,
    TransactionError,
    UnknownError,
    ValidationError,
)
from tronpy.keys import PrivateKey
from tronpy.providers.async_http import AsyncHTTPProvider

from tron_devnet.core.crypto import hex_to_base58
from tron_devnet.testing import DevnetHandle

from .support import DEMO_HEX, DEMO_KEY, USDT_HEX, addr, key

DEMO = hex_to_base58(DEMO_HEX)
USDT = hex_to_base58(USDT_HEX)
WAIT = {"timeout": 30, "interval": 0.2}


@pytest.fixture
async def tron(live_devnet: DevnetHandle) -> AsyncIterator[AsyncTron]:
    client = AsyncTron(AsyncHTTPProvider(live_devnet.url, timeout=10.0))
    try:
        yield client
    finally:
        await client.close()


async def _code_of(tron: AsyncTron, txn: AsyncTransaction) -> str:
    """The raw broadcast code for a transaction java-tron would refuse again the same way."""
    payload: dict[str, Any] = await tron.provider.make_request(
        "wallet/broadcasttransaction", txn.to_json()
    )
    return str(payload.get("code"))


async def test_balances_through_tronpy(tron: AsyncTron) -> None:
    assert await tron.get_account_balance(DEMO) == Decimal(1_000_000)
    contract = await tron.get_contract(USDT)
    assert await contract.functions.balanceOf(DEMO) == 10_000_000 * 10**6
    assert await contract.functions.decimals() == 6
    assert await contract.functions.symbol() == "USDT"


async def test_trx_transfer_built_signed_broadcast_and_waited(tron: AsyncTron) -> None:
    to = hex_to_base58(addr(1))
    txn = await tron.trx.transfer(DEMO, to, 2_000_000).memo("payout-1").build()
    txn.sign(PrivateKey(DEMO_KEY))
    ret = await txn.broadcast()
    assert ret.txid == txn.txid
    info = await ret.wait(**WAIT)
    assert info["id"] == txn.txid
    solid = await ret.wait(solid=True, **WAIT)
    assert solid["blockNumber"] == info["blockNumber"]
    assert await tron.get_account_balance(to) == Decimal(2)
    on_chain = await tron.get_solid_transaction(txn.txid)
    assert on_chain["raw_data"]["data"] == b"payout-1".hex()


async def test_trc20_transfer_built_signed_broadcast_and_waited(tron: AsyncTron) -> None:
    to = hex_to_base58(addr(2))
    contract = await tron.get_contract(USDT)
    builder = await contract.functions.transfer.with_owner(DEMO)(to, 5_000_000)
    txn = await builder.fee_limit(30_000_000).build()
    txn.sign(PrivateKey(DEMO_KEY))
    ret = await txn.broadcast()
    assert await ret.result(**WAIT) is True
    info = await ret.wait(solid=True, **WAIT)
    assert info["receipt"]["result"] == "SUCCESS"
    assert info["receipt"]["energy_usage_total"] > 0
    assert await contract.functions.balanceOf(to) == 5_000_000


async def test_bad_signature_is_sigerror(tron: AsyncTron) -> None:
    txn = await tron.trx.transfer(DEMO, hex_to_base58(addr(3)), 1).build()
    forged = PrivateKey(key(9)).sign_msg_hash(bytes.fromhex(txn.txid))
    txn.set_signature([forged.hex()])
    with pytest.raises(BadSignature):
        await txn.broadcast()
    assert await _code_of(tron, txn) == "SIGERROR"


async def test_stale_reference_block_is_tapos_error(tron: AsyncTron) -> None:
    built = await tron.trx.transfer(DEMO, hex_to_base58(addr(3)), 1).build()
    raw = dict(built._raw_data)
    raw["ref_block_bytes"] = "ffff"
    raw["ref_block_hash"] = "00" * 8
    txn = await AsyncTransaction.create(raw, client=tron)
    txn.sign(PrivateKey(DEMO_KEY))
    with pytest.raises(TaposError):
        await txn.broadcast()
    assert await _code_of(tron, txn) == "TAPOS_ERROR"


async def test_expired_transaction_is_expiration_error(tron: AsyncTron) -> None:
    txn = await tron.trx.transfer(DEMO, hex_to_base58(addr(3)), 1).expiration(-60_000).build()
    signature = PrivateKey(DEMO_KEY).sign_msg_hash(bytes.fromhex(txn.txid))
    txn.set_signature([signature.hex()])  # tronpy's sign() refuses expired transactions
    with pytest.raises(TransactionError):
        await txn.broadcast()
    assert await _code_of(tron, txn) == "TRANSACTION_EXPIRATION_ERROR"


async def test_duplicate_is_dup_transaction_error(tron: AsyncTron) -> None:
    txn = await tron.trx.transfer(DEMO, hex_to_base58(addr(4)), 3).build()
    txn.sign(PrivateKey(DEMO_KEY))
    receipt = await txn.broadcast()
    await receipt.wait()  # on chain: Manager.validateDup (a pending copy would be re-executed)
    with pytest.raises(UnknownError) as caught:
        await txn.broadcast()
    assert caught.value.args[1] == "DUP_TRANSACTION_ERROR"


async def test_insufficient_balance_is_contract_validate_error(
    tron: AsyncTron, live_devnet: DevnetHandle
) -> None:
    poor = addr(5)
    httpx.post(f"{live_devnet.url}/admin/mint", json={"address": poor, "trx_sun": 1_000_000})
    txn = await tron.trx.transfer(hex_to_base58(poor), DEMO, 5_000_000).build()
    txn.sign(PrivateKey(key(5)))
    with pytest.raises(ValidationError):
        await txn.broadcast()
    assert await _code_of(tron, txn) == "CONTRACT_VALIDATE_ERROR"


async def test_no_bandwidth_and_no_trx_is_bandwith_error(
    tron: AsyncTron, live_devnet: DevnetHandle
) -> None:
    broke = addr(6)
    httpx.post(f"{live_devnet.url}/admin/mint", json={"address": broke, "trx_sun": 10})
    codes: list[str] = []
    for amount in range(1, 7):
        txn = await tron.trx.transfer(hex_to_base58(broke), DEMO, amount).build()
        txn.sign(PrivateKey(key(6)))
        try:
            ret = await txn.broadcast()
            await ret.wait(**WAIT)
            codes.append("OK")
        except UnknownError as exc:
            codes.append(str(exc.args[1]))
            break
    # the free daily bandwidth (600) pays for the first transfers, then there is no TRX to burn
    assert codes[-1] == "BANDWITH_ERROR", codes
    assert codes[0] == "OK"


def _chain_offset_ms(devnet: DevnetHandle) -> int:
    """How far chain time runs ahead of the wall clock (tronpy sets expiration from the latter)."""
    head = httpx.get(f"{devnet.url}/admin/state").json()["head_timestamp"]
    return max(0, int(head) - int(time.time() * 1000))


async def _send(devnet: DevnetHandle, builder: Any, signer: bytes) -> dict[str, Any]:
    txn = await builder.expiration(_chain_offset_ms(devnet) + 60_000).build()
    txn.sign(PrivateKey(signer))
    ret = await txn.broadcast()
    result: dict[str, Any] = await ret.wait(**WAIT)
    return result


async def test_stake_2_through_tronpy(tron: AsyncTron, live_devnet: DevnetHandle) -> None:
    owner_hex, receiver_hex = addr(30), addr(31)
    owner, receiver = hex_to_base58(owner_hex), hex_to_base58(receiver_hex)
    httpx.post(f"{live_devnet.url}/admin/mint", json={"address": owner, "trx_sun": 2_000_000_000})
    httpx.post(f"{live_devnet.url}/admin/mint", json={"address": receiver, "trx_sun": 1_000_000})
    signer = key(30)

    await _send(live_devnet, tron.trx.freeze_balance(owner, 1_000_000_000, "ENERGY"), signer)
    resource = await tron.get_account_resource(owner)
    assert resource["EnergyLimit"] > 0
    assert await tron.get_can_delegated_max_size(owner, "ENERGY") == {"max_size": 1_000_000_000}

    await _send(
        live_devnet,
        tron.trx.delegate_resource(
            owner, receiver, 400_000_000, "ENERGY", lock=True, lock_period=20
        ),
        signer,
    )
    delegated = await tron.get_delegated_resource_v2(owner, receiver)
    [record] = delegated["delegatedResource"]
    assert (record["from"], record["to"]) == (owner, receiver)
    assert record["frozen_balance_for_energy"] == 400_000_000
    index = await tron.get_delegated_resource_account_index_v2(receiver)
    assert index["fromAccounts"] == [owner]
    assert (await tron.get_account_resource(receiver))["EnergyLimit"] > 0

    httpx.post(f"{live_devnet.url}/admin/time", json={"advance_s": 120})  # past the 60 s lock
    await _send(
        live_devnet, tron.trx.undelegate_resource(owner, receiver, 400_000_000, "ENERGY"), signer
    )
    assert await tron.get_delegated_resource_v2(owner, receiver) == {}

    for amount in (100_000_000, 50_000_000):
        await _send(
            live_devnet,
            tron.trx.unfreeze_balance(owner, "ENERGY", unfreeze_balance=amount),
            signer,
        )
    count = await tron.provider.make_request(
        "wallet/getavailableunfreezecount", {"owner_address": owner, "visible": True}
    )
    assert count == {"count": 30}

    httpx.post(f"{live_devnet.url}/admin/time", json={"advance_s": 14 * 86_400})
    head = httpx.get(f"{live_devnet.url}/admin/state").json()["head_timestamp"]
    withdrawable = await tron.provider.make_request(
        "wallet/getcanwithdrawunfreezeamount",
        {"owner_address": owner, "timestamp": head, "visible": True},
    )
    assert withdrawable == {"amount": 150_000_000}
    balance_before = await tron.get_account_balance(owner)
    info = await _send(live_devnet, tron.trx.withdraw_stake_balance(owner), signer)
    assert info["withdraw_expire_amount"] == 150_000_000
    assert await tron.get_account_balance(owner) == balance_before + 150

    await _send(
        live_devnet,
        tron.trx.unfreeze_balance(owner, "ENERGY", unfreeze_balance=30_000_000),
        signer,
    )
    # tronpy 0.6.2 has no helper for CancelAllUnfreezeV2; its generic builder speaks the type
    cancel = tron.trx._build_transaction(
        "CancelAllUnfreezeV2Contract", {"owner_address": owner_hex}
    )
    info = await _send(live_devnet, cancel, signer)
    assert {"key": "ENERGY", "value": 30_000_000} in info["cancel_unfreezeV2_amount"]
    account = await tron.get_account(owner)
    assert "unfrozenV2" not in account
    assert account["frozenV2"][1] == {"type": "ENERGY", "amount": 850_000_000}
