"""The java-tron HTTP API over real HTTP: shapes, visible, GET/POST, errors, solidity."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from tron_devnet.core.crypto import hex_to_base58
from tron_devnet.testing import DevnetHandle

from .support import (
    DEMO_HEX,
    DEMO_KEY,
    USDT_HEX,
    addr,
    blocks,
    broadcast_hex,
    build_trc20,
    build_trx,
    info,
    key,
    mint,
    serialize,
    sign,
    signed_hex,
    trx_balance,
    usdt_balance,
)

DEMO_B58 = hex_to_base58(DEMO_HEX)


async def test_node_info_get_and_post_agree(client: httpx.AsyncClient) -> None:
    await blocks(client, 5)
    post = (await client.post("/wallet/getnodeinfo")).json()
    get = (await client.get("/wallet/getnodeinfo")).json()
    assert post["block"] == get["block"]
    assert post["block"].startswith("Num:5,ID:")
    assert post["solidityBlock"].startswith("Num:2,ID:")


async def test_getaccount_visible_and_hex_forms(client: httpx.AsyncClient) -> None:
    hexed = (await client.post("/wallet/getaccount", json={"address": DEMO_HEX})).json()
    assert hexed["address"] == DEMO_HEX
    assert hexed["balance"] == 1_000_000 * 10**6
    visible = (
        await client.post("/wallet/getaccount", json={"address": DEMO_B58, "visible": True})
    ).json()
    assert visible["address"] == DEMO_B58
    assert visible["balance"] == hexed["balance"]
    via_get = (
        await client.get("/wallet/getaccount", params={"address": DEMO_B58, "visible": "true"})
    ).json()
    assert via_get == visible
    via_get_hex = (await client.get("/wallet/getaccount", params={"address": DEMO_HEX})).json()
    assert via_get_hex == hexed


async def test_unknown_account_is_empty_object(client: httpx.AsyncClient) -> None:
    assert (await client.post("/wallet/getaccount", json={"address": addr(99)})).json() == {}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/wallet/getaccount", b"{not json"),
        ("/wallet/getaccount", b"[1, 2]"),
        ("/wallet/getaccount", json.dumps({"address": "Tnotanaddress"}).encode()),
        ("/wallet/getaccount", json.dumps({"address": DEMO_B58}).encode()),  # base58, not visible
        ("/wallet/getaccount", json.dumps({"address": DEMO_HEX, "visible": True}).encode()),
        ("/wallet/getaccount", b"{}"),
        ("/wallet/getblockbynum", json.dumps({"num": "abc"}).encode()),
        ("/wallet/gettransactionbyid", json.dumps({"value": "zz"}).encode()),
        ("/wallet/broadcasthex", json.dumps({"transaction": "xyz"}).encode()),
        ("/wallet/broadcasthex", json.dumps({}).encode()),
        ("/wallet/broadcasttransaction", json.dumps({"signature": []}).encode()),
        ("/wallet/createtransaction", json.dumps({"to_address": DEMO_HEX}).encode()),
    ],
)
async def test_malformed_requests_answer_error_with_200(
    client: httpx.AsyncClient, path: str, body: bytes
) -> None:
    response = await client.post(path, content=body)
    assert response.status_code == 200
    payload = response.json()
    assert set(payload) == {"Error"}
    assert payload["Error"]


async def test_unknown_endpoint_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.post("/wallet/nosuchthing")).status_code == 404
    # write endpoints do not exist on the solidity API
    assert (await client.post("/walletsolidity/broadcasthex")).status_code == 404


@pytest.mark.parametrize("prefix", ["/wallet", "/walletsolidity"])
async def test_unknown_txid_is_empty_object(client: httpx.AsyncClient, prefix: str) -> None:
    for name in ("gettransactionbyid", "gettransactioninfobyid"):
        response = await client.post(f"{prefix}/{name}", json={"value": "ab" * 32})
        assert response.json() == {}
        response = await client.get(f"{prefix}/{name}", params={"value": "ab" * 32})
        assert response.json() == {}


async def test_blocks_by_num_id_and_getblock(client: httpx.AsyncClient) -> None:
    await blocks(client, 2)
    now = (await client.post("/wallet/getnowblock")).json()
    number = now["block_header"]["raw_data"]["number"]
    assert number == 2
    assert now["block_header"]["raw_data"]["witness_address"].startswith("41")
    by_num = (await client.get("/wallet/getblockbynum", params={"num": "2"})).json()
    assert by_num["blockID"] == now["blockID"]
    by_id = (await client.post("/wallet/getblockbyid", json={"value": now["blockID"]})).json()
    assert by_id["blockID"] == now["blockID"]
    visible = (await client.post("/wallet/getnowblock", json={"visible": True})).json()
    assert visible["block_header"]["raw_data"]["witness_address"].startswith("T")
    by_getblock = (
        await client.post("/wallet/getblock", json={"id_or_num": "2", "detail": True})
    ).json()
    assert by_getblock["blockID"] == now["blockID"]
    by_getblock_id = (
        await client.post("/wallet/getblock", json={"id_or_num": now["blockID"]})
    ).json()
    assert by_getblock_id["blockID"] == now["blockID"]
    assert (await client.post("/wallet/getblockbynum", json={"num": 999})).json() == {}
    # solid head lags by the solidify depth (3)
    solid_now = (await client.post("/walletsolidity/getnowblock")).json()
    assert solid_now.get("block_header", {}).get("raw_data", {}).get("number", 0) == 0
    assert (await client.post("/walletsolidity/getblockbynum", json={"num": 2})).json() == {}


async def test_chain_parameters_and_prices(client: httpx.AsyncClient) -> None:
    params = (await client.get("/wallet/getchainparameters")).json()["chainParameter"]
    by_key = {p["key"]: p.get("value") for p in params}
    assert by_key["getEnergyFee"] == 100
    assert by_key["getTransactionFee"] == 1000
    energy = (await client.post("/wallet/getenergyprices")).json()["prices"]
    bandwidth = (await client.post("/wallet/getbandwidthprices")).json()["prices"]
    assert energy.split(",")[-1].endswith(":100")
    assert bandwidth.split(",")[-1].endswith(":1000")


async def test_contract_abi_and_constant_calls(client: httpx.AsyncClient) -> None:
    contract = (
        await client.post(
            "/wallet/getcontract",
            json={"value": hex_to_base58(USDT_HEX), "visible": True},
        )
    ).json()
    names = {e.get("name") for e in contract["abi"]["entrys"]}
    assert {"transfer", "balanceOf", "decimals"} <= names
    assert await usdt_balance(client, DEMO_HEX) == 10_000_000 * 10**6
    decimals = (
        await client.post(
            "/wallet/triggerconstantcontract",
            json={"contract_address": USDT_HEX, "data": "313ce567", "owner_address": DEMO_HEX},
        )
    ).json()
    assert decimals["result"]["result"] is True
    assert int(decimals["constant_result"][0], 16) == 6
    estimate = (
        await client.post(
            "/wallet/estimateenergy",
            json={
                "owner_address": DEMO_HEX,
                "contract_address": USDT_HEX,
                "function_selector": "transfer(address,uint256)",
                "parameter": "00" * 12 + addr(1)[2:] + (5).to_bytes(32, "big").hex(),
            },
        )
    ).json()
    assert estimate["result"]["result"] is True
    assert estimate["energy_required"] > 0
    assert (await client.post("/wallet/getcontract", json={"value": addr(3)})).json() == {}


async def test_trx_transfer_lifecycle_and_solidification(client: httpx.AsyncClient) -> None:
    await blocks(client, 1)
    tx = await build_trx(client, DEMO_HEX, addr(1), 5_000_000)
    assert tx["visible"] is False
    assert hashlib.sha256(bytes.fromhex(tx["raw_data_hex"])).hexdigest() == tx["txID"]
    result = await broadcast_hex(client, tx, DEMO_KEY)
    assert result["result"] is True
    assert result["code"] == "SUCCESS"
    assert result["txid"] == tx["txID"]
    embedded = json.loads(result["transaction"])
    assert embedded["txID"] == tx["txID"]
    assert embedded["raw_data"]["contract"][0]["parameter"]["value"]["to_address"].startswith("T")
    assert await info(client, tx["txID"]) == {}
    await blocks(client, 1)
    full = await info(client, tx["txID"])
    assert full["id"] == tx["txID"]
    assert full["blockNumber"] == 2
    assert await info(client, tx["txID"], solid=True) == {}
    on_chain = (await client.post("/wallet/gettransactionbyid", json={"value": tx["txID"]})).json()
    assert on_chain["ret"][0]["contractRet"] == "SUCCESS"
    assert on_chain["txID"] == tx["txID"]
    visible_tx = (
        await client.post("/wallet/gettransactionbyid", json={"value": tx["txID"], "visible": True})
    ).json()
    value = visible_tx["raw_data"]["contract"][0]["parameter"]["value"]
    assert value["owner_address"] == DEMO_B58
    await blocks(client, 3)
    solid = await info(client, tx["txID"], solid=True)
    assert solid["id"] == tx["txID"]
    assert await trx_balance(client, addr(1)) == 5_000_000
    by_block = (await client.post("/wallet/gettransactioninfobyblocknum", json={"num": 2})).json()
    assert [i["id"] for i in by_block] == [tx["txID"]]
    solid_by_block = (
        await client.get("/walletsolidity/gettransactioninfobyblocknum", params={"num": 2})
    ).json()
    assert [i["id"] for i in solid_by_block] == [tx["txID"]]


async def test_broadcasttransaction_json_and_rejections(client: httpx.AsyncClient) -> None:
    await blocks(client, 1)
    tx = await build_trx(client, DEMO_HEX, addr(2), 1_000_000)
    body = {
        "raw_data": tx["raw_data"],
        "signature": [sign(tx["txID"], DEMO_KEY)],
        "txID": "00" * 32,  # ignored: the node recomputes it
    }
    result = (await client.post("/wallet/broadcasttransaction", json=body)).json()
    assert result == {"result": True, "txid": tx["txID"]}
    # still pending: java-tron (trxCacheEnable off) executes it again and answers SUCCESS
    again = (await client.post("/wallet/broadcasttransaction", json=body)).json()
    assert again == {"result": True, "txid": tx["txID"]}
    await blocks(client, 1)
    dup = (await client.post("/wallet/broadcasttransaction", json=body)).json()
    assert dup["code"] == "DUP_TRANSACTION_ERROR"
    assert dup["txid"] == tx["txID"]
    assert bytes.fromhex(dup["message"]) == b"Dup transaction."  # hex-encoded text
    other = await build_trx(client, DEMO_HEX, addr(2), 2_000_000)
    forged = {"raw_data": other["raw_data"], "signature": [sign(other["txID"], key(5))]}
    bad = (await client.post("/wallet/broadcasttransaction", json=forged)).json()
    assert bad["code"] == "SIGERROR"
    assert "result" not in bad
    visible_body = {
        "raw_data": (
            await client.post(
                "/wallet/createtransaction",
                json={
                    "owner_address": DEMO_B58,
                    "to_address": hex_to_base58(addr(2)),
                    "amount": 3,
                    "visible": True,
                },
            )
        ).json()["raw_data"],
        "visible": True,
    }
    assert visible_body["raw_data"]["contract"][0]["parameter"]["value"]["amount"] == 3
    unsigned = (await client.post("/wallet/broadcasttransaction", json=visible_body)).json()
    assert unsigned["code"] == "SIGERROR"


async def test_broadcasthex_rejection_shape(client: httpx.AsyncClient) -> None:
    tx = await build_trx(client, DEMO_HEX, addr(3), 1)
    bad = serialize(tx["raw_data_hex"], [sign(tx["txID"], key(7))]).hex()
    result = (await client.post("/wallet/broadcasthex", json={"transaction": bad})).json()
    assert result["result"] is False
    assert result["code"] == "SIGERROR"
    assert result["txid"] == tx["txID"]
    assert isinstance(result["message"], str)


async def test_trc20_transfer_via_triggersmartcontract(client: httpx.AsyncClient) -> None:
    await blocks(client, 1)
    tx = await build_trc20(client, DEMO_HEX, addr(4), 25_000_000)
    assert tx["raw_data"]["fee_limit"] == 30_000_000
    assert (await broadcast_hex(client, tx, DEMO_KEY))["result"] is True
    await blocks(client, 1)
    receipt = await info(client, tx["txID"])
    assert receipt["receipt"]["result"] == "SUCCESS"
    assert receipt["receipt"]["energy_usage_total"] > 0
    assert receipt["log"]
    assert await usdt_balance(client, addr(4)) == 25_000_000
    solid_balance_before = await usdt_balance(client, addr(4), solid=True)
    assert solid_balance_before == 0
    await blocks(client, 3)
    assert await usdt_balance(client, addr(4), solid=True) == 25_000_000


async def test_builder_endpoints_return_unsigned_transactions(
    client: httpx.AsyncClient,
) -> None:
    await mint(client, addr(6), trx_sun=500_000_000)
    owner = hex_to_base58(addr(6))
    receiver = hex_to_base58(addr(7))
    await mint(client, addr(7), trx_sun=1_000_000)
    freeze = (
        await client.post(
            "/wallet/freezebalancev2",
            json={
                "owner_address": owner,
                "frozen_balance": 100_000_000,
                "resource": "ENERGY",
                "visible": True,
            },
        )
    ).json()
    assert freeze["visible"] is True
    assert freeze["raw_data"]["contract"][0]["type"] == "FreezeBalanceV2Contract"
    assert freeze["raw_data"]["contract"][0]["parameter"]["value"]["owner_address"] == owner
    assert (await broadcast_hex(client, freeze, key(6)))["result"] is True
    await blocks(client, 1)
    resource = (
        await client.post("/wallet/getaccountresource", json={"address": owner, "visible": True})
    ).json()
    assert resource.get("EnergyLimit", 0) > 0
    delegate = (
        await client.post(
            "/wallet/delegateresource",
            json={
                "owner_address": owner,
                "receiver_address": receiver,
                "balance": 10_000_000,
                "resource": "ENERGY",
                "visible": True,
            },
        )
    ).json()
    assert delegate["raw_data"]["contract"][0]["type"] == "DelegateResourceContract"
    assert (await broadcast_hex(client, delegate, key(6)))["result"] is True
    await blocks(client, 1)
    undelegate = (
        await client.post(
            "/wallet/undelegateresource",
            json={
                "owner_address": addr(6),
                "receiver_address": addr(7),
                "balance": 10_000_000,
                "resource": "ENERGY",
            },
        )
    ).json()
    assert undelegate["raw_data"]["contract"][0]["type"] == "UnDelegateResourceContract"
    assert (await broadcast_hex(client, undelegate, key(6)))["result"] is True
    await blocks(client, 1)
    unfreeze = (
        await client.post(
            "/wallet/unfreezebalancev2",
            json={"owner_address": addr(6), "unfreeze_balance": 100_000_000, "resource": "ENERGY"},
        )
    ).json()
    assert unfreeze["raw_data"]["contract"][0]["type"] == "UnfreezeBalanceV2Contract"
    assert (await broadcast_hex(client, unfreeze, key(6)))["result"] is True
    await blocks(client, 1)
    withdraw = (
        await client.post("/wallet/withdrawexpireunfreeze", json={"owner_address": addr(6)})
    ).json()
    # nothing has expired yet (14-day delay): java-tron's builder refuses
    assert "Error" in withdraw


async def test_createtransaction_refuses_overdraft(client: httpx.AsyncClient) -> None:
    await mint(client, addr(8), trx_sun=10)
    result = (
        await client.post(
            "/wallet/createtransaction",
            json={"owner_address": addr(8), "to_address": addr(9), "amount": 10**12},
        )
    ).json()
    assert "Error" in result
    assert "ContractValidateException" in result["Error"]


async def test_triggersmartcontract_shape_is_extention(client: httpx.AsyncClient) -> None:
    response = (
        await client.post(
            "/wallet/triggersmartcontract",
            json={
                "owner_address": DEMO_B58,
                "contract_address": hex_to_base58(USDT_HEX),
                "function_selector": "transfer(address,uint256)",
                "parameter": "00" * 12 + addr(1)[2:] + (1).to_bytes(32, "big").hex(),
                "fee_limit": 20_000_000,
                "visible": True,
            },
        )
    ).json()
    assert response["result"] == {"result": True}
    tx = response["transaction"]
    assert tx["visible"] is True
    value = tx["raw_data"]["contract"][0]["parameter"]["value"]
    assert value["owner_address"] == DEMO_B58
    assert value["data"].startswith("a9059cbb")


def test_handle_inspect_runs_on_server_loop(devnet: DevnetHandle) -> None:
    head = devnet.inspect(lambda chain: chain.head_number)
    assert head == devnet.chain.head_number == 0
    assert devnet.url.startswith("http://127.0.0.1:")
    assert signed_hex  # helper exported for other suites


async def test_broadcast_endpoints_are_post_only(client: httpx.AsyncClient) -> None:
    for name in ("broadcasthex", "broadcasttransaction"):
        response = await client.get(f"/wallet/{name}", params={"transaction": "00"})
        assert response.status_code == 405
    assert (await client.put("/wallet/getnodeinfo")).status_code == 405


async def test_walletsolidity_estimateenergy_reads_the_solid_state(
    client: httpx.AsyncClient,
) -> None:
    """A holder minted at head is still a new holder for the solidity node."""
    holder = addr(41)
    await mint(client, holder, usdt_units=5)
    await blocks(client, 1)
    body = {
        "owner_address": DEMO_HEX,
        "contract_address": USDT_HEX,
        "function_selector": "transfer(address,uint256)",
        "parameter": "00" * 12 + holder[2:] + f"{1:064x}",
    }
    head = (await client.post("/wallet/estimateenergy", json=body)).json()
    solid = (await client.post("/walletsolidity/estimateenergy", json=body)).json()
    assert head["energy_required"] == 64_285
    assert solid["energy_required"] == 130_285
    await blocks(client, 3)
    solid = (await client.post("/walletsolidity/estimateenergy", json=body)).json()
    assert solid["energy_required"] == 64_285
