"""Account and token state with cheap copy-on-write overlays.

``State`` holds committed state (head or solid). ``Overlay`` sits on a State: reads fall through,
the first write to an account copies it into the overlay. Objects stored in a State are never
mutated after commit (every write goes through an overlay copy), so the same Account object may
be shared by the head state, the solid state and a block's ``Delta``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

RESOURCE_BANDWIDTH = 0
RESOURCE_ENERGY = 1
RESOURCE_TRON_POWER = 2


@dataclass(frozen=True)
class Unfrozen:
    resource: int
    amount: int
    expire_ms: int


@dataclass(slots=True)
class Account:
    address: bytes
    balance: int = 0
    create_time: int = 0
    latest_operation_time: int = 0
    frozen_bw: int = 0
    frozen_en: int = 0
    delegated_bw: int = 0
    delegated_en: int = 0
    acquired_bw: int = 0
    acquired_en: int = 0
    unfrozen: tuple[Unfrozen, ...] = ()
    free_net_usage: int = 0
    latest_consume_free_time: int = 0
    net_usage: int = 0
    latest_consume_time: int = 0
    energy_usage: int = 0
    latest_consume_time_for_energy: int = 0

    def frozen(self, resource: int) -> int:
        return self.frozen_en if resource == RESOURCE_ENERGY else self.frozen_bw

    def add_frozen(self, resource: int, delta: int) -> None:
        if resource == RESOURCE_ENERGY:
            self.frozen_en += delta
        else:
            self.frozen_bw += delta

    def add_delegated(self, resource: int, delta: int) -> None:
        if resource == RESOURCE_ENERGY:
            self.delegated_en += delta
        else:
            self.delegated_bw += delta

    def add_acquired(self, resource: int, delta: int) -> None:
        if resource == RESOURCE_ENERGY:
            self.acquired_en += delta
        else:
            self.acquired_bw += delta


@dataclass(frozen=True)
class Delegation:
    """Resource delegated from one account to another (amounts in sun)."""

    bw_unlocked: int = 0
    bw_locked: int = 0
    bw_lock_expire_ms: int = 0
    en_unlocked: int = 0
    en_locked: int = 0
    en_lock_expire_ms: int = 0

    def is_empty(self) -> bool:
        return not (self.bw_unlocked or self.bw_locked or self.en_unlocked or self.en_locked)


TOTAL_ENERGY_WEIGHT = "energy_weight"  # sum of frozen-for-energy, in sun
TOTAL_NET_WEIGHT = "net_weight"  # sum of frozen-for-bandwidth, in sun
TOKEN_SUPPLY = "token_supply"  # noqa: S105 - a state key


@dataclass
class Delta:
    accounts: dict[bytes, Account] = field(default_factory=dict)
    tokens: dict[bytes, int] = field(default_factory=dict)
    blacklist: dict[bytes, bool] = field(default_factory=dict)
    delegations: dict[tuple[bytes, bytes], Delegation | None] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    def merge(self, later: Delta) -> None:
        self.accounts.update(later.accounts)
        self.tokens.update(later.tokens)
        self.blacklist.update(later.blacklist)
        self.delegations.update(later.delegations)
        self.totals.update(later.totals)


@dataclass
class State:
    accounts: dict[bytes, Account] = field(default_factory=dict)
    tokens: dict[bytes, int] = field(default_factory=dict)
    blacklist: dict[bytes, bool] = field(default_factory=dict)
    delegations: dict[tuple[bytes, bytes], Delegation] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    def apply(self, delta: Delta) -> None:
        self.accounts.update(delta.accounts)
        for addr, bal in delta.tokens.items():
            if bal:
                self.tokens[addr] = bal
            else:
                self.tokens.pop(addr, None)
        for addr, listed in delta.blacklist.items():
            if listed:
                self.blacklist[addr] = True
            else:
                self.blacklist.pop(addr, None)
        for key, rec in delta.delegations.items():
            if rec is None or rec.is_empty():
                self.delegations.pop(key, None)
            else:
                self.delegations[key] = rec
        self.totals.update(delta.totals)

    def clone(self) -> State:
        """Shallow clone: new dicts, shared (immutable-by-convention) values."""
        return State(
            dict(self.accounts),
            dict(self.tokens),
            dict(self.blacklist),
            dict(self.delegations),
            dict(self.totals),
        )


class Overlay:
    """Copy-on-write view of a State; ``commit`` writes it through and returns the Delta."""

    __slots__ = ("_d", "base")

    def __init__(self, base: State) -> None:
        self.base = base
        self._d = Delta()

    def account(self, addr: bytes) -> Account | None:
        acct = self._d.accounts.get(addr)
        if acct is not None:
            return acct
        return self.base.accounts.get(addr)

    def account_mut(self, addr: bytes) -> Account:
        acct = self._d.accounts.get(addr)
        if acct is not None:
            return acct
        acct = copy.copy(self.base.accounts[addr])
        self._d.accounts[addr] = acct
        return acct

    def create_account(self, addr: bytes, now_ms: int) -> Account:
        acct = Account(address=addr, create_time=now_ms)
        self._d.accounts[addr] = acct
        return acct

    def token_balance(self, addr: bytes) -> int:
        bal = self._d.tokens.get(addr)
        if bal is not None:
            return bal
        return self.base.tokens.get(addr, 0)

    def set_token_balance(self, addr: bytes, amount: int) -> None:
        self._d.tokens[addr] = amount

    def is_blacklisted(self, addr: bytes) -> bool:
        listed = self._d.blacklist.get(addr)
        if listed is not None:
            return listed
        return self.base.blacklist.get(addr, False)

    def set_blacklisted(self, addr: bytes, listed: bool) -> None:
        self._d.blacklist[addr] = listed

    def delegation(self, owner: bytes, receiver: bytes) -> Delegation:
        key = (owner, receiver)
        if key in self._d.delegations:
            return self._d.delegations[key] or Delegation()
        return self.base.delegations.get(key) or Delegation()

    def set_delegation(self, owner: bytes, receiver: bytes, rec: Delegation) -> None:
        self._d.delegations[(owner, receiver)] = None if rec.is_empty() else rec

    def total(self, name: str) -> int:
        val = self._d.totals.get(name)
        if val is not None:
            return val
        return self.base.totals.get(name, 0)

    def add_total(self, name: str, delta: int) -> None:
        self._d.totals[name] = self.total(name) + delta

    def commit(self) -> Delta:
        delta = self._d
        self.base.apply(delta)
        self._d = Delta()
        return delta
