"""Validate and execute one transaction's contract against an Overlay.

``Executor.run(view, tx, now_ms, apply=False)`` validates only (raises ``Rejected``);
``apply=True`` validates, then charges bandwidth/energy and applies the contract. All checks
happen before the first write, so a rejected transaction leaves the overlay untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from tron_devnet.core import staking, token
from tron_devnet.core.crypto import is_address, to_base58
from tron_devnet.core.state import (
    RESOURCE_BANDWIDTH,
    RESOURCE_ENERGY,
    RESOURCE_TRON_POWER,
    TOTAL_ENERGY_WEIGHT,
    TOTAL_NET_WEIGHT,
    Account,
    Delegation,
    Overlay,
    Unfrozen,
)

TRX = 1_000_000
MAX_UNFREEZE_ENTRIES = 32
BLOCK_MS = 3_000
DEFAULT_LOCK_PERIOD_BLOCKS = 86_400  # 3 days of 3 s blocks


class Rejected(Exception):
    """The transaction is not valid now; ``code`` is a java-tron broadcast code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _invalid(message: str) -> Rejected:
    return Rejected("CONTRACT_VALIDATE_ERROR", message)


@dataclass(frozen=True, slots=True)
class Params:
    energy_price: int
    bandwidth_price: int
    free_bandwidth: int
    create_account_fee: int
    create_account_bandwidth_fee: int
    memo_fee: int
    unfreeze_delay_ms: int
    total_energy_limit: int
    total_net_limit: int
    max_fee_limit: int
    max_delegate_lock_period: int
    token: token.TokenInfo


@dataclass(frozen=True, slots=True)
class TxInput:
    owner: bytes
    contract_type: str
    value: Any
    size: int  # bandwidth bytes: serialized tx without ret + 64
    fee_limit: int
    has_memo: bool
    force_revert: bool = False


@dataclass(frozen=True, slots=True)
class Receipt:
    result: str = "SUCCESS"  # receipt.result: SUCCESS, REVERT, OUT_OF_ENERGY
    fee: int = 0
    net_usage: int = 0
    net_fee: int = 0
    energy_usage: int = 0
    energy_fee: int = 0
    energy_total: int = 0
    energy_penalty: int = 0
    contract_result: bytes = b""
    is_vm: bool = False
    move: tuple[bytes, bytes, int] | None = None  # token transfer (from, to, amount) done
    res_message: str = ""
    withdraw_expire_amount: int = 0
    # CancelAllUnfreezeV2: sun put back into stake, per resource name (BANDWIDTH, ENERGY, ...)
    cancel_unfreeze: tuple[tuple[str, int], ...] = ()
    asset: str = "TRX"
    to: bytes | None = None
    amount: int = 0


@dataclass(frozen=True, slots=True)
class _Bandwidth:
    mode: str  # "staked" | "free" | "burn"
    net_usage: int
    net_fee: int


class _Ctx(NamedTuple):
    view: Overlay
    tx: TxInput
    owner: Account
    spendable: int
    bw: _Bandwidth
    memo_fee: int
    now: int
    apply: bool


class Executor:
    def __init__(self, params: Params) -> None:
        self.p = params

    # -- bandwidth ---------------------------------------------------------------------------
    def _plan_bandwidth(
        self, view: Overlay, acct: Account, size: int, now: int, *, creates_account: bool
    ) -> _Bandwidth:
        p = self.p
        staked = staking.net_limit(acct, p.total_net_limit, view.total(TOTAL_NET_WEIGHT))
        if staked - staking.net_used(acct, now) >= size:
            return _Bandwidth("staked", size, 0)
        if creates_account:
            # java-tron consumeForCreateNewAccount: staked bandwidth or getCreateAccountFee,
            # never the free bandwidth
            fee = p.create_account_bandwidth_fee
            if acct.balance >= fee:
                return _Bandwidth("burn", 0, fee)
            raise Rejected(
                "BANDWITH_ERROR",
                f"account [{to_base58(acct.address)}] has insufficient bandwidth[{size}] "
                f"and balance[{fee}] to create new account",
            )
        if p.free_bandwidth - staking.free_net_used(acct, now) >= size:
            return _Bandwidth("free", size, 0)
        fee = size * p.bandwidth_price
        if acct.balance >= fee:
            return _Bandwidth("burn", 0, fee)
        raise Rejected(
            "BANDWITH_ERROR",
            f"account [{to_base58(acct.address)}] has insufficient bandwidth[{size}] "
            f"and balance[{fee}] to burn",
        )

    @staticmethod
    def _charge_bandwidth(acct: Account, bw: _Bandwidth, now: int) -> None:
        if bw.mode == "staked":
            staking.consume_net(acct, bw.net_usage, now)
        elif bw.mode == "free":
            staking.consume_free_net(acct, bw.net_usage, now)
        else:
            acct.balance -= bw.net_fee
        acct.latest_operation_time = now

    # -- entry point ---------------------------------------------------------------------------
    def run(self, view: Overlay, tx: TxInput, now: int, *, apply: bool) -> Receipt:
        owner = view.account(tx.owner)
        if owner is None:
            raise _invalid(f"account [{to_base58(tx.owner)}] does not exist")
        creates = (
            tx.contract_type == "TransferContract"
            and view.account(bytes(tx.value.to_address)) is None
        )
        bw = self._plan_bandwidth(view, owner, tx.size, now, creates_account=creates)
        spendable = owner.balance - bw.net_fee
        memo_fee = self.p.memo_fee if tx.has_memo else 0
        if memo_fee:
            if spendable < memo_fee:
                raise Rejected(
                    "BANDWITH_ERROR",
                    f"Account [{to_base58(tx.owner)}] insufficient balance[{spendable}] "
                    f"to pay memo fee[{memo_fee}]",
                )
            spendable -= memo_fee
        handler = _HANDLERS.get(tx.contract_type)
        if handler is None:
            raise _invalid(f"{tx.contract_type} is not supported by the devnet")
        return handler(self, _Ctx(view, tx, owner, spendable, bw, memo_fee, now, apply))

    def _base_receipt(self, bw: _Bandwidth, memo_fee: int, **kw: Any) -> Receipt:
        fee = bw.net_fee + memo_fee + kw.pop("fee", 0)
        return Receipt(fee=fee, net_usage=bw.net_usage, net_fee=bw.net_fee, **kw)

    def _start(
        self, view: Overlay, tx: TxInput, bw: _Bandwidth, memo_fee: int, now: int
    ) -> Account:
        acct = view.account_mut(tx.owner)
        self._charge_bandwidth(acct, bw, now)
        acct.balance -= memo_fee
        return acct

    # -- TransferContract ----------------------------------------------------------------------
    def _transfer(self, c: _Ctx) -> Receipt:
        view, tx, _owner, spendable, bw, memo_fee, now, apply = c
        v = tx.value
        to = bytes(v.to_address)
        if not is_address(to):
            raise _invalid("Invalid toAddress!")
        if to == tx.owner:
            raise _invalid("Cannot transfer TRX to yourself.")
        amount = v.amount
        if amount <= 0:
            raise _invalid("Amount must be greater than 0.")
        if to == self.p.token.address:
            # java-tron TransferActuator with ForbidTransferToContract (on since 2019)
            raise _invalid("Cannot transfer TRX to a smartContract.")
        creating = view.account(to) is None
        create_fee = self.p.create_account_fee if creating else 0
        if spendable < amount + create_fee:
            raise _invalid("Validate TransferContract error, balance is not sufficient.")
        receipt = self._base_receipt(bw, memo_fee, fee=create_fee, to=to, amount=amount)
        if not apply:
            return receipt
        acct = self._start(view, tx, bw, memo_fee, now)
        acct.balance -= amount + create_fee
        dest = view.create_account(to, now) if creating else view.account_mut(to)
        dest.balance += amount
        return receipt

    # -- TriggerSmartContract ------------------------------------------------------------------
    def energy_limit(
        self, view: Overlay, acct: Account, spendable: int, fee_limit: int, now: int
    ) -> tuple[int, int]:
        """(total energy limit of a call, energy left from stake)."""
        price = self.p.energy_price
        left = max(
            staking.energy_limit(acct, self.p.total_energy_limit, view.total(TOTAL_ENERGY_WEIGHT))
            - staking.energy_used(acct, now),
            0,
        )
        available = left + max(spendable, 0) // price
        return min(available, fee_limit // price), left

    def _trigger(self, c: _Ctx) -> Receipt:
        view, tx, owner, spendable, bw, memo_fee, now, apply = c
        v = tx.value
        contract = bytes(v.contract_address)
        if contract != self.p.token.address:
            raise _invalid("No contract or not a smart contract")
        if v.call_value < 0:
            raise _invalid("callValue must be >= 0")
        if tx.fee_limit < 0 or tx.fee_limit > self.p.max_fee_limit:
            raise _invalid(f"feeLimit must be >= 0 and <= {self.p.max_fee_limit}")
        if v.call_value > spendable:
            raise _invalid("Validate InternalTransfer error, balance is not sufficient.")
        outcome = token.run_call(
            view, self.p.token, tx.owner, bytes(v.data), v.call_value, force_revert=tx.force_revert
        )
        limit, left = self.energy_limit(view, owner, spendable, tx.fee_limit, now)
        price = self.p.energy_price
        if outcome.energy > limit:
            total, result, ok = limit, "OUT_OF_ENERGY", False
            message = (
                f"Not enough energy for 'SSTORE' operation executing: curInvokeEnergyLimit[{limit}]"
                f", curOpEnergy[{outcome.energy - limit}], usedEnergy[{limit}]"
            )
        else:
            total, ok = outcome.energy, outcome.ok
            result = "SUCCESS" if ok else "REVERT"
            message = outcome.message
        from_stake = min(left, total)
        energy_fee = (total - from_stake) * price
        to, amount = None, 0
        if v.data[:4] == token.SEL_TRANSFER and len(v.data) == 68:
            to = b"\x41" + bytes(v.data[16:36])
            amount = int.from_bytes(v.data[36:68], "big")
        receipt = self._base_receipt(
            bw,
            memo_fee,
            fee=energy_fee,
            result=result,
            energy_usage=from_stake,
            energy_fee=energy_fee,
            energy_total=total,
            energy_penalty=outcome.penalty if ok else 0,
            contract_result=outcome.return_data if ok else b"",
            is_vm=True,
            move=outcome.move if ok else None,
            res_message="" if ok else message,
            asset=self.p.token.symbol if to is not None else "TRX",
            to=to,
            amount=amount,
        )
        if not apply:
            return receipt
        acct = self._start(view, tx, bw, memo_fee, now)
        if from_stake:
            staking.consume_energy(acct, from_stake, now)
        acct.balance -= energy_fee
        if ok and outcome.move is not None:
            token.apply_move(view, outcome.move)
        return receipt

    # -- Stake 2.0 -----------------------------------------------------------------------------
    def _freeze(self, c: _Ctx) -> Receipt:
        view, tx, _owner, spendable, bw, memo_fee, now, apply = c
        v = tx.value
        amount = v.frozen_balance
        if amount <= 0:
            raise _invalid("frozenBalance must be positive")
        if amount < TRX:
            raise _invalid("frozenBalance must be more than 1TRX")
        if amount > spendable:
            raise _invalid("frozenBalance must be less than accountBalance")
        resource = v.resource
        if resource == RESOURCE_TRON_POWER:
            raise _invalid("TRON_POWER staking is not supported by the devnet")
        if resource not in (RESOURCE_BANDWIDTH, RESOURCE_ENERGY):
            raise _invalid("ResourceCode error, valid ResourceCode[BANDWIDTH、ENERGY、TRON_POWER]")
        receipt = self._base_receipt(bw, memo_fee, amount=amount)
        if not apply:
            return receipt
        acct = self._start(view, tx, bw, memo_fee, now)
        acct.balance -= amount
        acct.add_frozen(resource, amount)
        weight = TOTAL_ENERGY_WEIGHT if resource == RESOURCE_ENERGY else TOTAL_NET_WEIGHT
        view.add_total(weight, amount)
        return receipt

    @staticmethod
    def _expired(acct: Account, now: int) -> int:
        return sum(u.amount for u in acct.unfrozen if u.expire_ms <= now)

    def _unfreeze(self, c: _Ctx) -> Receipt:
        view, tx, owner, _spendable, bw, memo_fee, now, apply = c
        v = tx.value
        resource = v.resource
        if resource == RESOURCE_TRON_POWER:
            raise _invalid("no frozenBalance(TronPower)")
        if resource not in (RESOURCE_BANDWIDTH, RESOURCE_ENERGY):
            raise _invalid("ResourceCode error.valid ResourceCode[BANDWIDTH、Energy、TRON_POWER]")
        frozen = owner.frozen(resource)
        if frozen <= 0:
            name = "Energy" if resource == RESOURCE_ENERGY else "BANDWIDTH"
            raise _invalid(f"no frozenBalance({name})")
        amount = v.unfreeze_balance
        if amount <= 0 or amount > frozen:
            raise _invalid(f"Invalid unfreeze_balance, [{amount}] is error")
        pending = [u for u in owner.unfrozen if u.expire_ms > now]
        if len(pending) >= MAX_UNFREEZE_ENTRIES:
            raise _invalid("Invalid unfreeze operation, unfreezing times is over limit")
        withdrawn = self._expired(owner, now)
        receipt = self._base_receipt(bw, memo_fee, amount=amount, withdraw_expire_amount=withdrawn)
        if not apply:
            return receipt
        acct = self._start(view, tx, bw, memo_fee, now)
        acct.balance += withdrawn
        acct.add_frozen(resource, -amount)
        acct.unfrozen = (*pending, Unfrozen(resource, amount, now + self.p.unfreeze_delay_ms))
        weight = TOTAL_ENERGY_WEIGHT if resource == RESOURCE_ENERGY else TOTAL_NET_WEIGHT
        view.add_total(weight, -amount)
        return receipt

    def _withdraw(self, c: _Ctx) -> Receipt:
        view, tx, owner, _spendable, bw, memo_fee, now, apply = c
        withdrawn = self._expired(owner, now)
        if withdrawn <= 0:
            raise _invalid("no unFreeze balance to withdraw ")
        receipt = self._base_receipt(
            bw, memo_fee, amount=withdrawn, withdraw_expire_amount=withdrawn
        )
        if not apply:
            return receipt
        acct = self._start(view, tx, bw, memo_fee, now)
        acct.balance += withdrawn
        acct.unfrozen = tuple(u for u in acct.unfrozen if u.expire_ms > now)
        return receipt

    def _cancel_unfreezes(self, c: _Ctx) -> Receipt:
        """java-tron CancelAllUnfreezeV2Actuator: every pending unstake goes back into stake,
        every expired one is withdrawn to the balance."""
        view, tx, owner, _spendable, bw, memo_fee, now, apply = c
        if not owner.unfrozen:
            raise _invalid("No unfreezeV2 list to cancel")
        withdrawn = self._expired(owner, now)
        back = {RESOURCE_BANDWIDTH: 0, RESOURCE_ENERGY: 0, RESOURCE_TRON_POWER: 0}
        for entry in owner.unfrozen:
            if entry.expire_ms > now:
                back[entry.resource] = back.get(entry.resource, 0) + entry.amount
        amounts = tuple((staking.resource_key(r), back[r]) for r in sorted(back))
        receipt = self._base_receipt(
            bw, memo_fee, withdraw_expire_amount=withdrawn, cancel_unfreeze=amounts
        )
        if not apply:
            return receipt
        acct = self._start(view, tx, bw, memo_fee, now)
        acct.balance += withdrawn
        acct.unfrozen = ()
        for resource in (RESOURCE_BANDWIDTH, RESOURCE_ENERGY):
            if back[resource]:
                acct.add_frozen(resource, back[resource])
                weight = TOTAL_ENERGY_WEIGHT if resource == RESOURCE_ENERGY else TOTAL_NET_WEIGHT
                view.add_total(weight, back[resource])
        return receipt

    def delegable(self, view: Overlay, owner: Account, resource: int, now: int) -> int:
        """java-tron DelegateResourceActuator: frozen minus the stake that backs current usage."""
        if resource == RESOURCE_ENERGY:
            used = staking.energy_used(owner, now)
            weight, limit, acquired = (
                view.total(TOTAL_ENERGY_WEIGHT) // TRX,
                self.p.total_energy_limit,
                owner.acquired_en,
            )
        else:
            used = staking.net_used(owner, now)
            weight, limit, acquired = (
                view.total(TOTAL_NET_WEIGHT) // TRX,
                self.p.total_net_limit,
                owner.acquired_bw,
            )
        backing = used * TRX * weight // limit if limit else 0
        return owner.frozen(resource) - max(0, backing - acquired)

    def _delegate(self, c: _Ctx) -> Receipt:
        view, tx, owner, _spendable, bw, memo_fee, now, apply = c
        v = tx.value
        amount = v.balance
        if amount < TRX:
            raise _invalid("delegateBalance must be more than 1TRX")
        resource = v.resource
        if resource not in (RESOURCE_BANDWIDTH, RESOURCE_ENERGY):
            raise _invalid("ResourceCode error, valid ResourceCode[BANDWIDTH、ENERGY]")
        if amount > self.delegable(view, owner, resource, now):
            name = "Energy" if resource == RESOURCE_ENERGY else "Bandwidth"
            raise _invalid(f"delegateBalance must be less than available Freeze{name}V2 balance")
        receiver = bytes(v.receiver_address)
        if not is_address(receiver):
            raise _invalid("Invalid receiverAddress")
        if receiver == tx.owner:
            raise _invalid("receiverAddress must not be the same as ownerAddress")
        if view.account(receiver) is None:
            raise _invalid(f"Account[{receiver.hex()}] not exists")
        rec = view.delegation(tx.owner, receiver)
        lock_period = v.lock_period or DEFAULT_LOCK_PERIOD_BLOCKS
        if v.lock:
            if lock_period < 0 or lock_period > self.p.max_delegate_lock_period:
                raise _invalid(
                    "The lock period of delegate resource cannot be less than 0 and cannot exceed "
                    f"{self.p.max_delegate_lock_period}!"
                )
            name = "ENERGY" if resource == RESOURCE_ENERGY else "BANDWIDTH"
            expire = rec.en_lock_expire_ms if resource == RESOURCE_ENERGY else rec.bw_lock_expire_ms
            remain = expire - now
            if lock_period * BLOCK_MS < remain:
                raise _invalid(
                    f"The lock period for {name} this time cannot be less than the remaining "
                    f"time[{remain}ms] of the last lock period for {name}!"
                )
        if receiver == self.p.token.address:
            raise _invalid("Do not allow delegate resources to contract addresses")
        receipt = self._base_receipt(bw, memo_fee, to=receiver, amount=amount)
        if not apply:
            return receipt
        acct = self._start(view, tx, bw, memo_fee, now)
        acct.add_frozen(resource, -amount)
        acct.add_delegated(resource, amount)
        view.account_mut(receiver).add_acquired(resource, amount)
        expire = now + lock_period * BLOCK_MS
        # java-tron unLockExpireResource: an expired lock first turns into unlocked balance
        if rec.en_locked and rec.en_lock_expire_ms < now:
            rec = _replace(rec, en_unlocked=rec.en_unlocked + rec.en_locked, en_locked=0)
        if rec.bw_locked and rec.bw_lock_expire_ms < now:
            rec = _replace(rec, bw_unlocked=rec.bw_unlocked + rec.bw_locked, bw_locked=0)
        if resource == RESOURCE_ENERGY:
            if v.lock:
                rec = _replace(rec, en_locked=rec.en_locked + amount, en_lock_expire_ms=expire)
            else:
                rec = _replace(rec, en_unlocked=rec.en_unlocked + amount)
        elif v.lock:
            rec = _replace(rec, bw_locked=rec.bw_locked + amount, bw_lock_expire_ms=expire)
        else:
            rec = _replace(rec, bw_unlocked=rec.bw_unlocked + amount)
        view.set_delegation(tx.owner, receiver, rec)
        return receipt

    def _undelegate(self, c: _Ctx) -> Receipt:
        view, tx, _owner, _spendable, bw, memo_fee, now, apply = c
        v = tx.value
        receiver = bytes(v.receiver_address)
        if not is_address(receiver):
            raise _invalid("Invalid receiverAddress")
        if receiver == tx.owner:
            raise _invalid("receiverAddress must not be the same as ownerAddress")
        rec = view.delegation(tx.owner, receiver)
        if rec.is_empty():
            raise _invalid("delegated Resource does not exist")
        amount = v.balance
        if amount <= 0:
            raise _invalid("unDelegateBalance must be more than 0 TRX")
        resource = v.resource
        if resource == RESOURCE_ENERGY:
            unlocked, locked, expire = rec.en_unlocked, rec.en_locked, rec.en_lock_expire_ms
            label = "delegateFrozenBalance(Energy)"
        elif resource == RESOURCE_BANDWIDTH:
            unlocked, locked, expire = rec.bw_unlocked, rec.bw_locked, rec.bw_lock_expire_ms
            label = "delegatedFrozenBalance(BANDWIDTH)"
        else:
            raise _invalid("ResourceCode error.valid ResourceCode[BANDWIDTH、Energy]")
        if expire < now:
            unlocked, locked = unlocked + locked, 0
        if unlocked < amount:
            raise _invalid(f"insufficient {label}, request={amount}, unlock_balance={unlocked}")
        receipt = self._base_receipt(bw, memo_fee, to=receiver, amount=amount)
        if not apply:
            return receipt
        acct = self._start(view, tx, bw, memo_fee, now)
        acct.add_frozen(resource, amount)
        acct.add_delegated(resource, -amount)
        if view.account(receiver) is not None:
            view.account_mut(receiver).add_acquired(resource, -amount)
        unlocked -= amount
        if resource == RESOURCE_ENERGY:
            rec = _replace(rec, en_unlocked=unlocked, en_locked=locked)
        else:
            rec = _replace(rec, bw_unlocked=unlocked, bw_locked=locked)
        view.set_delegation(tx.owner, receiver, rec)
        return receipt


def _replace(rec: Delegation, **changes: int) -> Delegation:
    data = {
        "bw_unlocked": rec.bw_unlocked,
        "bw_locked": rec.bw_locked,
        "bw_lock_expire_ms": rec.bw_lock_expire_ms,
        "en_unlocked": rec.en_unlocked,
        "en_locked": rec.en_locked,
        "en_lock_expire_ms": rec.en_lock_expire_ms,
    }
    data.update(changes)
    return Delegation(**data)


_HANDLERS = {
    "TransferContract": Executor._transfer,
    "TriggerSmartContract": Executor._trigger,
    "FreezeBalanceV2Contract": Executor._freeze,
    "UnfreezeBalanceV2Contract": Executor._unfreeze,
    "WithdrawExpireUnfreezeContract": Executor._withdraw,
    "DelegateResourceContract": Executor._delegate,
    "UnDelegateResourceContract": Executor._undelegate,
    "CancelAllUnfreezeV2Contract": Executor._cancel_unfreezes,
}
