"""Stake 2.0 reads as java-tron answers them (``Wallet.getDelegatedResourceV2``,
``getDelegatedResourceAccountIndexV2``, ``getCanWithdrawUnfreezeAmount``,
``getAvailableUnfreezeCount``, ``getCanDelegatedMaxSize``).

Pure functions of a chain's head (or solid) state at that state's block time; addresses are hex
("41..."), default values are left out as java-tron's JsonFormat does.
"""

from __future__ import annotations

from typing import Any

from tron_devnet.core.chain_core import ChainCore
from tron_devnet.core.crypto import address_or_none
from tron_devnet.core.execution import MAX_UNFREEZE_ENTRIES
from tron_devnet.core.render import omit_zero
from tron_devnet.core.state import RESOURCE_BANDWIDTH, RESOURCE_ENERGY, Overlay
from tron_devnet.core.types import ChainError


def delegated_resource_v2(
    chain: ChainCore, from_hex: str, to_hex: str, *, solid: bool = False
) -> dict[str, Any]:
    """``getdelegatedresourcev2``: java-tron keeps an unlocked and a locked record per pair;
    each non-empty one is listed, the locked one with its lock expiry (ms)."""
    owner, receiver = address_or_none(from_hex), address_or_none(to_hex)
    if owner is None or receiver is None:
        return {}
    rec = chain.state(solid).delegations.get((owner, receiver))
    if rec is None:
        return {}
    pair = {"from": owner.hex(), "to": receiver.hex()}
    entries: list[dict[str, Any]] = []
    if rec.bw_unlocked or rec.en_unlocked:
        entries.append(
            pair
            | omit_zero(
                {
                    "frozen_balance_for_bandwidth": rec.bw_unlocked,
                    "frozen_balance_for_energy": rec.en_unlocked,
                }
            )
        )
    if rec.bw_locked or rec.en_locked:
        entries.append(
            pair
            | omit_zero(
                {
                    "frozen_balance_for_bandwidth": rec.bw_locked,
                    "frozen_balance_for_energy": rec.en_locked,
                    "expire_time_for_bandwidth": rec.bw_lock_expire_ms if rec.bw_locked else 0,
                    "expire_time_for_energy": rec.en_lock_expire_ms if rec.en_locked else 0,
                }
            )
        )
    return {"delegatedResource": entries} if entries else {}


def delegated_index_v2(
    chain: ChainCore, address_hex: str, *, solid: bool = False
) -> dict[str, Any]:
    """``getdelegatedresourceaccountindexv2``: who delegates to the account (``fromAccounts``)
    and to whom it delegates (``toAccounts``)."""
    addr = address_or_none(address_hex)
    if addr is None:
        return {}
    pairs = chain.state(solid).delegations
    from_accounts = sorted(owner.hex() for owner, receiver in pairs if receiver == addr)
    to_accounts = sorted(receiver.hex() for owner, receiver in pairs if owner == addr)
    if not from_accounts and not to_accounts:
        return {}
    return {"account": addr.hex()} | omit_zero(
        {"fromAccounts": from_accounts, "toAccounts": to_accounts}
    )


def can_withdraw_unfreeze_amount(
    chain: ChainCore, owner_hex: str, timestamp_ms: int, *, solid: bool = False
) -> dict[str, Any]:
    """``getcanwithdrawunfreezeamount``: unstaked TRX whose wait is over at ``timestamp_ms``."""
    if timestamp_ms < 0:
        raise ChainError("OTHER_ERROR", "Invalid timestamp")
    addr = address_or_none(owner_hex)
    acct = chain.state(solid).accounts.get(addr) if addr else None
    if acct is None:
        return {}
    amount = sum(u.amount for u in acct.unfrozen if u.expire_ms <= timestamp_ms)
    return omit_zero({"amount": amount})


def available_unfreeze_count(
    chain: ChainCore, owner_hex: str, *, solid: bool = False
) -> dict[str, Any]:
    """``getavailableunfreezecount``: how many more unstakes may be pending (32 at most)."""
    addr = address_or_none(owner_hex)
    acct = chain.state(solid).accounts.get(addr) if addr else None
    if acct is None:
        return {}
    now = chain.state_time(solid)
    pending = sum(1 for u in acct.unfrozen if u.expire_ms > now)
    return omit_zero({"count": MAX_UNFREEZE_ENTRIES - pending})


def can_delegated_max_size(
    chain: ChainCore, owner_hex: str, resource: int, *, solid: bool = False
) -> dict[str, Any]:
    """``getcandelegatedmaxsize``: the most stake (sun) a DelegateResource may move now:
    staked TRX minus the stake that backs the account's current usage."""
    if resource not in (RESOURCE_BANDWIDTH, RESOURCE_ENERGY):
        raise ChainError("OTHER_ERROR", "Only support BANDWIDTH and ENERGY for delegateResource")
    state = chain.state(solid)
    addr = address_or_none(owner_hex)
    acct = state.accounts.get(addr) if addr else None
    if acct is None:
        return {}
    size = chain.executor.delegable(Overlay(state), acct, resource, chain.state_time(solid))
    return omit_zero({"max_size": max(0, size)})
