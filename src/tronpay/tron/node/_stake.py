"""Stake 2.0 answers of the node client: an account's stake (``getaccount``), its
delegations (``getdelegatedresourceaccountindexv2`` + ``getdelegatedresourcev2``) and the small
Stake 2.0 counters. Typed results (integers in sun, times in ms) and the pure functions that
parse java-tron's JSON into them; nothing here does I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from tronpay.tron.errors import NodeRejected
from tronpay.tron.node._parse import as_dict, parse_int


class Resource(enum.StrEnum):
    """java-tron's ResourceCode names (TRON_POWER is not used by tronpay)."""

    BANDWIDTH = "BANDWIDTH"
    ENERGY = "ENERGY"


@dataclass(frozen=True)
class PendingUnstake:
    """One UnfreezeBalanceV2 still waiting (or ready) to be withdrawn."""

    resource: Resource
    amount_sun: int
    unlock_ms: int


@dataclass(frozen=True)
class ResourceStake:
    """Stake 2.0 amounts (sun) of one resource of one account, and when its usage was last
    charged (ms; usage recovers linearly over the 24 h after it)."""

    staked_sun: int  # own stake still giving this account the resource
    delegated_out_sun: int  # own stake whose resource goes to other accounts
    delegated_in_sun: int  # other accounts' stake whose resource comes to this one
    last_used_ms: int


@dataclass(frozen=True)
class AccountStake:
    """What ``getaccount`` says about an account's Stake 2.0 position."""

    address: str
    exists: bool
    balance_sun: int
    energy: ResourceStake
    bandwidth: ResourceStake
    free_bandwidth_last_used_ms: int
    unstakes: tuple[PendingUnstake, ...]


@dataclass(frozen=True)
class Delegation:
    """Stake delegated from one account to another (one of java-tron's records: the unlocked
    one, or the locked one with its lock expiry)."""

    from_address: str  # hex "41..."
    to_address: str
    energy_sun: int
    bandwidth_sun: int
    energy_locked_until_ms: int = 0
    bandwidth_locked_until_ms: int = 0


def _resource_of(value: Any) -> Resource:
    # java-tron leaves the enum's default (BANDWIDTH) out of the JSON
    if value in (None, "", "BANDWIDTH"):
        return Resource.BANDWIDTH
    if value == "ENERGY":
        return Resource.ENERGY
    raise NodeRejected(f"getaccount: unexpected resource {value!r}")


def parse_account_stake(address: str, data: Any) -> AccountStake:
    account = as_dict(data, "getaccount")
    res = account.get("account_resource") or {}
    if not isinstance(res, dict):
        raise NodeRejected("getaccount: account_resource is not an object")
    frozen = {Resource.BANDWIDTH: 0, Resource.ENERGY: 0}
    for item in account.get("frozenV2") or []:
        if isinstance(item, dict) and item.get("type") != "TRON_POWER":
            frozen[_resource_of(item.get("type"))] += parse_int(item.get("amount"))
    unstakes = tuple(
        PendingUnstake(
            resource=_resource_of(item.get("type")),
            amount_sun=parse_int(item.get("unfreeze_amount")),
            unlock_ms=parse_int(item.get("unfreeze_expire_time")),
        )
        for item in account.get("unfrozenV2") or []
        if isinstance(item, dict) and item.get("type") != "TRON_POWER"
    )
    energy = ResourceStake(
        staked_sun=frozen[Resource.ENERGY],
        delegated_out_sun=parse_int(res.get("delegated_frozenV2_balance_for_energy")),
        delegated_in_sun=parse_int(res.get("acquired_delegated_frozenV2_balance_for_energy")),
        last_used_ms=parse_int(res.get("latest_consume_time_for_energy")),
    )
    bandwidth = ResourceStake(
        staked_sun=frozen[Resource.BANDWIDTH],
        delegated_out_sun=parse_int(account.get("delegated_frozenV2_balance_for_bandwidth")),
        delegated_in_sun=parse_int(
            account.get("acquired_delegated_frozenV2_balance_for_bandwidth")
        ),
        last_used_ms=parse_int(account.get("latest_consume_time")),
    )
    return AccountStake(
        address=address,
        exists=bool(account),
        balance_sun=parse_int(account.get("balance")),
        energy=energy,
        bandwidth=bandwidth,
        free_bandwidth_last_used_ms=parse_int(account.get("latest_consume_free_time")),
        unstakes=tuple(sorted(unstakes, key=lambda u: u.unlock_ms)),
    )


def parse_delegation_index(data: Any) -> tuple[str, ...]:
    """The receivers (hex) an account delegates to, from the account index."""
    index = as_dict(data, "getdelegatedresourceaccountindexv2")
    receivers = index.get("toAccounts") or []
    if not isinstance(receivers, list) or not all(isinstance(r, str) for r in receivers):
        raise NodeRejected("getdelegatedresourceaccountindexv2: toAccounts is not a list")
    return tuple(r.lower() for r in receivers)


def parse_delegations(data: Any) -> tuple[Delegation, ...]:
    body = as_dict(data, "getdelegatedresourcev2")
    out: list[Delegation] = []
    for item in body.get("delegatedResource") or []:
        if not isinstance(item, dict):
            raise NodeRejected("getdelegatedresourcev2: an entry is not an object")
        out.append(
            Delegation(
                from_address=str(item.get("from", "")).lower(),
                to_address=str(item.get("to", "")).lower(),
                energy_sun=parse_int(item.get("frozen_balance_for_energy")),
                bandwidth_sun=parse_int(item.get("frozen_balance_for_bandwidth")),
                energy_locked_until_ms=parse_int(item.get("expire_time_for_energy")),
                bandwidth_locked_until_ms=parse_int(item.get("expire_time_for_bandwidth")),
            )
        )
    return tuple(out)
