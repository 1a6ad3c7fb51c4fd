"""java-tron JSON shapes of blocks, transactions, receipts, accounts, resources and node facts.

Pure functions of the chain's records and states; addresses are hex ("41..."). The error shape of
the constant-call endpoints (``result_error``) is here too.
"""

from __future__ import annotations

from typing import Any

from tron_devnet.core import message_json, proto, token
from tron_devnet.core.crypto import sha256
from tron_devnet.core.records import Block, TxRecord
from tron_devnet.core.staking import energy_limit, energy_used, free_net_used, net_limit, net_used
from tron_devnet.core.state import (
    RESOURCE_ENERGY,
    TOTAL_ENERGY_WEIGHT,
    TOTAL_NET_WEIGHT,
    Account,
    State,
)
from tron_devnet.core.types import ChainConfig, ChainError

TOKEN_CREATOR_HEX = "41" + sha256(b"tron_devnet token creator")[:20].hex()
CODE_VERSION = "4.8.0-devnet"


def omit_zero(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (0, "", None, [], {})}


def result_error(code: str, message: str) -> dict[str, Any]:
    """A failed TransactionExtention/EstimateEnergyMessage: the message hex-encoded."""
    return {"result": {"code": code, "message": message.encode().hex()}}


def block_json(block: Block, transactions: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A block: header, witness signature and (when given and not empty) its transactions."""
    header = block.header_raw
    raw: dict[str, Any] = {}
    if header.number:
        raw["number"] = header.number
    raw["txTrieRoot"] = bytes(header.txTrieRoot).hex()
    raw["witness_address"] = bytes(header.witness_address).hex()
    raw["parentHash"] = bytes(header.parentHash).hex()
    raw["version"] = header.version
    raw["timestamp"] = header.timestamp
    out: dict[str, Any] = {
        "blockID": block.block_id.hex(),
        "block_header": {
            "raw_data": raw,
            "witness_signature": block.witness_signature.hex(),
        },
    }
    if transactions:
        out["transactions"] = list(transactions)
    return out


def transaction_json(rec: TxRecord) -> dict[str, Any]:
    """An on-chain transaction with its ``ret`` (rebuilt from the bytes as received)."""
    tx = proto.Transaction.FromString(rec.tx_bytes)
    out: dict[str, Any] = {}
    if rec.receipt is not None:
        out["ret"] = [{"contractRet": rec.receipt.result}]
    out["signature"] = [bytes(s).hex() for s in tx.signature]
    out["txID"] = rec.txid
    out["raw_data"] = message_json.raw_to_json(tx.raw_data)
    out["raw_data_hex"] = tx.raw_data.SerializeToString().hex()
    return out


def info_json(rec: TxRecord, block: Block, token_info: token.TokenInfo) -> dict[str, Any]:
    r = rec.receipt
    if r is None or rec.block is None:
        raise ChainError("OTHER_ERROR", f"transaction {rec.txid} is not on chain")
    info: dict[str, Any] = {"id": rec.txid}
    if r.fee:
        info["fee"] = r.fee
    info["blockNumber"] = block.number
    info["blockTimeStamp"] = block.timestamp
    info["contractResult"] = [r.contract_result.hex()]
    if r.is_vm:
        info["contract_address"] = token_info.address.hex()
    receipt = omit_zero(
        {
            "energy_usage": r.energy_usage,
            "energy_fee": r.energy_fee,
            "energy_usage_total": r.energy_total,
            "net_usage": r.net_usage,
            "net_fee": r.net_fee,
        }
    )
    if r.is_vm:
        receipt["result"] = r.result
    if r.energy_penalty:
        receipt["energy_penalty_total"] = r.energy_penalty
    info["receipt"] = receipt
    if r.move is not None:
        info["log"] = [token.transfer_log(token_info, r.move)]
    if r.result != "SUCCESS":
        info["result"] = "FAILED"
        info["resMessage"] = r.res_message.encode().hex()
    if r.withdraw_expire_amount:
        info["withdraw_expire_amount"] = r.withdraw_expire_amount
    if r.cancel_unfreeze:
        # a protobuf map printed by java-tron's JsonFormat: a list of key/value entries
        info["cancel_unfreezeV2_amount"] = [
            {"key": name, "value": amount} for name, amount in r.cancel_unfreeze
        ]
    return info


def ledger_entry(rec: TxRecord, number: int) -> dict[str, Any]:
    r = rec.receipt
    if r is None:
        raise ChainError("OTHER_ERROR", f"transaction {rec.txid} was not executed")
    return {
        "txid": rec.txid,
        "block": number,
        "asset": r.asset,
        "type": rec.input.contract_type,
        "from": rec.input.owner.hex(),
        "to": r.to.hex() if r.to is not None else None,
        "amount": r.amount,
        "fee": r.fee,
        "result": r.result,
    }


def account_json(acct: Account, token_address: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {"address": acct.address.hex()}
    if acct.address == token_address:
        out["type"] = "Contract"
    out.update(
        omit_zero(
            {
                "balance": acct.balance,
                "create_time": acct.create_time,
                "latest_opration_time": acct.latest_operation_time,
                "free_net_usage": acct.free_net_usage,
                "latest_consume_free_time": acct.latest_consume_free_time,
                "net_usage": acct.net_usage,
                "latest_consume_time": acct.latest_consume_time,
            }
        )
    )
    resource = omit_zero(
        {
            "energy_usage": acct.energy_usage,
            "latest_consume_time_for_energy": acct.latest_consume_time_for_energy,
            "delegated_frozenV2_balance_for_energy": acct.delegated_en,
            "acquired_delegated_frozenV2_balance_for_energy": acct.acquired_en,
        }
    )
    if resource:
        out["account_resource"] = resource
    key = [{"address": acct.address.hex(), "weight": 1}]
    out["owner_permission"] = {"permission_name": "owner", "threshold": 1, "keys": key}
    out["active_permission"] = [
        {
            "type": "Active",
            "id": 2,
            "permission_name": "active",
            "threshold": 1,
            "operations": "7fff1fc0033ec30f000000000000000000000000000000000000000000000000",
            "keys": key,
        }
    ]
    frozen: list[dict[str, Any]] = [
        {"amount": acct.frozen_bw} if acct.frozen_bw else {},
        {"type": "ENERGY", "amount": acct.frozen_en} if acct.frozen_en else {"type": "ENERGY"},
        {"type": "TRON_POWER"},
    ]
    out["frozenV2"] = frozen
    if acct.unfrozen:
        out["unfrozenV2"] = [
            omit_zero(
                {
                    "type": "ENERGY" if u.resource == RESOURCE_ENERGY else "",
                    "unfreeze_amount": u.amount,
                    "unfreeze_expire_time": u.expire_ms,
                }
            )
            for u in acct.unfrozen
        ]
    out.update(
        omit_zero(
            {
                "delegated_frozenV2_balance_for_bandwidth": acct.delegated_bw,
                "acquired_delegated_frozenV2_balance_for_bandwidth": acct.acquired_bw,
            }
        )
    )
    return out


def account_resource_json(
    acct: Account, state: State, now: int, cfg: ChainConfig
) -> dict[str, Any]:
    energy_weight = state.totals.get(TOTAL_ENERGY_WEIGHT, 0)
    net_weight = state.totals.get(TOTAL_NET_WEIGHT, 0)
    return omit_zero(
        {
            "freeNetUsed": free_net_used(acct, now),
            "freeNetLimit": cfg.free_bandwidth,
            "NetUsed": net_used(acct, now),
            "NetLimit": net_limit(acct, cfg.total_net_limit, net_weight),
            "TotalNetLimit": cfg.total_net_limit,
            "TotalNetWeight": net_weight // 1_000_000,
            "EnergyUsed": energy_used(acct, now),
            "EnergyLimit": energy_limit(acct, cfg.total_energy_limit, energy_weight),
            "TotalEnergyLimit": cfg.total_energy_limit,
            "TotalEnergyWeight": energy_weight // 1_000_000,
        }
    )


def chain_parameters(cfg: ChainConfig) -> dict[str, int]:
    return {
        "getMaintenanceTimeInterval": 21_600_000,
        "getAccountUpgradeCost": 9_999_000_000,
        "getCreateAccountFee": cfg.create_account_bandwidth_fee_sun,
        "getTransactionFee": cfg.bandwidth_price_sun,
        "getAssetIssueFee": 1_024_000_000,
        "getCreateNewAccountFeeInSystemContract": cfg.create_account_fee_sun,
        "getCreateNewAccountBandwidthRate": 1,
        "getAllowCreationOfContracts": 1,
        "getEnergyFee": cfg.energy_price_sun,
        "getMaxCpuTimeOfOneTx": 80,
        "getAllowSameTokenName": 1,
        "getAllowDelegateResource": 1,
        "getTotalEnergyLimit": cfg.total_energy_limit,
        "getAllowTvmTransferTrc10": 1,
        "getTotalEnergyCurrentLimit": cfg.total_energy_limit,
        "getAllowMultiSign": 1,
        "getAllowAdaptiveEnergy": 0,
        "getUpdateAccountPermissionFee": 100_000_000,
        "getMultiSignFee": 1_000_000,
        "getAllowTvmConstantinople": 1,
        "getAllowTvmSolidity059": 1,
        "getAllowTvmIstanbul": 1,
        "getMaxFeeLimit": cfg.max_fee_limit_sun,
        "getAllowOptimizeBlackHole": 1,
        "getAllowNewResourceModel": 1,
        "getAllowTvmFreeze": 1,
        "getAllowTvmLondon": 1,
        "getFreeNetLimit": cfg.free_bandwidth,
        "getTotalNetLimit": cfg.total_net_limit,
        "getMemoFee": cfg.memo_fee_sun,
        "getUnfreezeDelayDays": cfg.unfreeze_delay_ms // 86_400_000,
        "getAllowDynamicEnergy": 1 if cfg.trc20_energy_factor_permille else 0,
        "getAllowTvmShangHai": 1,
        "getAllowCancelAllUnfreezeV2": 1,
        "getMaxDelegateLockPeriod": cfg.max_delegate_lock_period,
    }


def node_info(head: Block, solid: Block) -> dict[str, Any]:
    return {
        "beginSyncNum": head.number,
        "block": f"Num:{head.number},ID:{head.block_id.hex()}",
        "solidityBlock": f"Num:{solid.number},ID:{solid.block_id.hex()}",
        "currentConnectCount": 0,
        "activeConnectCount": 0,
        "passiveConnectCount": 0,
        "totalFlow": 0,
        "peerInfoList": [],
        "configNodeInfo": {
            "codeVersion": CODE_VERSION,
            "p2pVersion": "devnet",
            "listenPort": 0,
            "discoverEnable": False,
            "activeNodeSize": 0,
            "passiveNodeSize": 0,
            "sendNodeSize": 0,
            "maxConnectCount": 0,
            "sameIpMaxConnectCount": 0,
            "backupListenPort": 0,
            "backupMemberSize": 0,
            "backupPriority": 0,
            "dbVersion": 2,
            "minParticipationRate": 0,
            "supportConstant": True,
            "minTimeRatio": 0.0,
            "maxTimeRatio": 5.0,
            "allowCreationOfContracts": 1,
            "allowAdaptiveEnergy": 0,
        },
        "machineInfo": {"threadCount": 1, "cpuCount": 1, "javaVersion": "python"},
        "cheatWitnessInfoMap": {},
    }


def token_contract_json(token_address: bytes) -> dict[str, Any]:
    return {
        "bytecode": "",
        "consume_user_resource_percent": 100,
        "name": "TetherToken",
        "origin_address": TOKEN_CREATOR_HEX,
        "abi": {"entrys": [dict(e) for e in token.ABI_ENTRIES]},
        "origin_energy_limit": 10_000_000,
        "contract_address": token_address.hex(),
        "code_hash": sha256(b"tron_devnet native TRC20").hex(),
    }


def price_history(initial: int, genesis_ts: int, price: int) -> str:
    if price == initial:
        return f"0:{initial}"
    return f"0:{initial},{genesis_ts}:{price}"
