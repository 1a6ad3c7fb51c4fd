"""Fee and funds planning (docs/engine.md): the node reads behind a quote and a plan.

The arithmetic (fee_limit, the TRX to hold, SEND / BLOCK / FAIL) is pure and lives in
``engine/fees.py``; this module asks the node for the facts it needs: the wallet's balances
and resources, prices, energy estimates and blacklist answers. A payout the wallet cannot
pay right now is *blocked* (it stays ``queued`` with a reason and is planned again later); a
payout that can never be paid (a blacklisted destination) *fails*. Nothing here writes
anything: ``quote`` is safe for ``POST /v1/payouts/quote``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import structlog

from tronpay.engine.fees import (
    TRX,
    USDT,
    BlockReason,
    Decision,
    EnergyEstimate,
    FeePolicy,
    PayoutRequest,
    Plan,
    Quote,
    Recipient,
    Reserved,
    WalletReads,
    WalletState,
    decide_all,
    percent,
    price,
    probe_needed,
    wallet_state,
    worst_case_hurts,
)
from tronpay.kit.money import Sun, TokenUnits
from tronpay.tron import abi
from tronpay.tron.address import encode_base58
from tronpay.tron.hashing import sha256
from tronpay.tron.node import Account, ChainParameters, NodeClient, NodeRejected

# The planner's vocabulary, re-exported: callers import it from here or from engine.fees.
__all__ = [
    "TRX",
    "USDT",
    "BlockReason",
    "Decision",
    "FeePolicy",
    "PayoutRequest",
    "Plan",
    "Planner",
    "Quote",
    "Reserved",
    "WalletState",
    "percent",
]

log = structlog.get_logger(__name__)

_T = TypeVar("_T")

_CLASS_TRIES = 3  # recipients tried per holder class when an energy estimate fails
_PROBE_TRIES = 3  # probe addresses tried for the new-holder estimate
LISTED_FRESH_S = 5.0  # how long an isBlackListed answer is used for planning


@dataclass(frozen=True)
class _Listed:
    """An isBlackListed answer and when (monotonic seconds) the question was sent."""

    asked: float
    listed: bool


@dataclass(frozen=True)
class _Holder:
    """A USDT recipient's facts for the precise plan: blacklisted, and its balance."""

    blacklisted: bool
    balance: int


@dataclass(frozen=True)
class _RecipientEnergy:
    """The energy a USDT transfer to one recipient needs (``new_holder`` None: not looked
    up, the worst case was assumed)."""

    new_holder: bool | None
    estimate: EnergyEstimate


class Planner:
    """Quotes and plans payouts from ``hot_wallet`` using one node client."""

    def __init__(
        self,
        node: NodeClient,
        *,
        hot_wallet: str,
        token_contract: str,
        policy: FeePolicy | None = None,
    ) -> None:
        self._node = node
        self.hot_wallet = hot_wallet
        self.token_contract = token_contract
        self.policy = policy or FeePolicy()
        # isBlackListed answers by recipient
        self._listed: dict[str, _Listed] = {}
        self._warming: asyncio.Task[None] | None = None

    # -- wallet ---------------------------------------------------------------------------------

    async def wallet_state(self, reserved: Reserved | None = None) -> WalletState:
        account, resource, params, token, listed = await asyncio.gather(
            self._node.account(self.hot_wallet),
            self._node.account_resource(self.hot_wallet),
            self._node.chain_parameters(),
            self._node.token_balance(self.token_contract, self.hot_wallet),
            self._node.is_blacklisted(self.token_contract, self.hot_wallet),
        )
        reads = WalletReads(
            balance_sun=Sun(account.balance_sun),
            token_units=TokenUnits(token),
            energy_available=resource.energy_available,
            bandwidth_available=resource.bandwidth_available,
            energy_price_sun=Sun(params.energy_fee_sun),
            bandwidth_price_sun=Sun(params.transaction_fee_sun),
            activation_fee_sun=Sun(_activation_fee(params)),
            blacklisted=listed,
            memo_fee_sun=Sun(params.raw.get("getMemoFee", 0)),
            free_bandwidth_available=max(0, resource.free_net_limit - resource.free_net_used),
        )
        return wallet_state(self.hot_wallet, reads, reserved or Reserved())

    # -- quoting --------------------------------------------------------------------------------

    async def quote(
        self, asset: str, to_address: str, amount: int, *, wallet: WalletState | None = None
    ) -> Quote:
        """The cost of paying ``amount`` of ``asset`` to ``to_address`` (no side effects).

        Raises ``NodeRejected`` when the energy estimate fails and ``NodeUnavailable`` when no
        node answers.
        """
        wallet = wallet or await self.wallet_state()
        recipient = await self._recipient(asset, to_address, amount, holder=True)
        if recipient.estimate_error is not None:
            raise NodeRejected(f"energy estimate failed: {recipient.estimate_error}")
        return price(
            PayoutRequest("quote", asset, to_address, amount), recipient, wallet, self.policy
        )

    async def _recipient(
        self, asset: str, to_address: str, amount: int, *, holder: bool = False
    ) -> Recipient:
        if asset == TRX:
            account = await self._node.account(to_address)
            return Recipient(
                exists=account.exists,
                blacklisted=False,
                new_holder=False,
                energy=0,
                contract=account.is_contract,
            )
        # A USDT transfer does not need (or create) the recipient's account, so planning
        # does not ask; a quote reports what the chain says (``getaccount``).
        exists = True
        if holder:
            listed, balance, account = await asyncio.gather(
                self._node.is_blacklisted(self.token_contract, to_address),
                self._node.token_balance(self.token_contract, to_address),
                self._node.account(to_address),
            )
            new_holder: bool | None = balance == 0
            exists = account.exists
        else:  # planning: the energy estimate already prices a new holder
            listed = await self._node.is_blacklisted(self.token_contract, to_address)
            new_holder = None
        if listed:
            return Recipient(exists=exists, blacklisted=True, new_holder=new_holder, energy=0)
        try:
            energy = await self._node.estimate_energy(
                self.hot_wallet, self.token_contract, abi.transfer_call(to_address, amount)
            )
        except NodeRejected as exc:
            return Recipient(exists, False, new_holder, 0, estimate_error=exc.detail)
        return Recipient(exists=exists, blacklisted=False, new_holder=new_holder, energy=energy)

    # -- planning -------------------------------------------------------------------------------

    async def plan(self, requests: Sequence[PayoutRequest], reserved: Reserved | None) -> Plan:
        """Decide SEND / BLOCK / FAIL for each request, in order, spending a running copy of the
        wallet so the whole chunk fits. ``NodeUnavailable`` propagates (nothing is decided).

        Node reads per round: the wallet; ONE ``isBlackListed`` per distinct USDT recipient
        (one ``getaccount`` per distinct TRX recipient), with bounded concurrency; and the
        energy of a transfer to a NEW holder, estimated once against a probe address whose
        balance is checked to be zero. The energy of a TRC20 transfer depends only on
        whether the recipient's balance slot is empty, and a new holder is the dearer case,
        so that fee_limit covers every recipient (it is a cap: the chain burns what is used).

        Only when that worst case blocks a USDT payout (``fee_limit_cap``,
        ``insufficient_trx``) is the round planned precisely: one ``balanceOf`` per distinct
        recipient and one estimate per holder class (existing / new)."""
        wallet = await self.wallet_state(reserved)
        sem = asyncio.Semaphore(self.policy.concurrency)
        flags = [
            probe_needed(r, wallet, hot_wallet=self.hot_wallet, token_contract=self.token_contract)
            for r in requests
        ]
        probed = [r for r, f in zip(requests, flags, strict=True) if f]
        usdt_to = list(dict.fromkeys(r.to_address for r in probed if r.asset == USDT))
        trx_to = list(dict.fromkeys(r.to_address for r in probed if r.asset == TRX))

        async def listed(to: str) -> bool:
            cached = self._fresh_listed(to)
            if cached is not None:
                return cached
            return await _bounded(sem, lambda: self._ask_listed(to))

        async def account(to: str) -> Account:
            return await _bounded(sem, lambda: self._node.account(to))

        amount = min((r.amount for r in probed if r.asset == USDT), default=1)
        blacklisted, exists, worst = await asyncio.gather(
            asyncio.gather(*(listed(t) for t in usdt_to)),
            asyncio.gather(*(account(t) for t in trx_to)),
            self._new_holder_energy(amount) if usdt_to else _none(),
        )
        listed_by = dict(zip(usdt_to, blacklisted, strict=True))
        accounts = dict(zip(trx_to, exists, strict=True))

        def recipient(req: PayoutRequest, energy: Mapping[str, _RecipientEnergy]) -> Recipient:
            if req.asset == TRX:
                known_account = accounts[req.to_address]
                return Recipient(
                    known_account.exists, False, False, 0, contract=known_account.is_contract
                )
            known = energy[req.to_address]
            if listed_by[req.to_address]:
                return Recipient(True, True, known.new_holder, 0)
            estimate = known.estimate
            return Recipient(True, False, known.new_holder, estimate.energy, estimate.error)

        def decide(energy: Mapping[str, _RecipientEnergy]) -> Plan:
            recipients = [
                recipient(r, energy) if f else None for r, f in zip(requests, flags, strict=True)
            ]
            return decide_all(
                requests,
                recipients,
                wallet,
                self.policy,
                hot_wallet=self.hot_wallet,
                token_contract=self.token_contract,
            )

        if worst is not None and worst.error is None:
            plan = decide(dict.fromkeys(usdt_to, _RecipientEnergy(None, worst)))
            if not any(worst_case_hurts(i) for i in plan.items):
                return plan
        # precise: the holder class of every recipient
        clean = [t for t in usdt_to if not listed_by[t]]

        async def balance(to: str) -> int:
            return await _bounded(sem, lambda: self._node.token_balance(self.token_contract, to))

        balances = await asyncio.gather(*(balance(t) for t in clean))
        facts = {
            t: _Holder(blacklisted=False, balance=b) for t, b in zip(clean, balances, strict=True)
        }
        facts.update({t: _Holder(blacklisted=True, balance=0) for t in usdt_to if listed_by[t]})
        by_class = await self._class_energy(probed, facts)
        return decide(
            {
                t: _RecipientEnergy(facts[t].balance == 0, by_class[facts[t].balance == 0])
                for t in usdt_to
            }
        )

    # -- blacklist answers (fresh for LISTED_FRESH_S) ------------------------------------------

    def _fresh_listed(self, to: str) -> bool | None:
        hit = self._listed.get(to)
        if hit is None or time.monotonic() - hit.asked > LISTED_FRESH_S:
            return None
        return hit.listed

    async def _ask_listed(self, to: str) -> bool:
        asked = time.monotonic()
        answer = await self._node.is_blacklisted(self.token_contract, to)
        self._listed[to] = _Listed(asked=asked, listed=answer)
        return answer

    def prefetch_listed(self, addresses: Sequence[str]) -> None:
        """Ask ``isBlackListed`` for the recipients of the NEXT round in the background (the
        engine calls this once a round's own reads are done, so the questions overlap its
        signing and commit). An answer counts for ``LISTED_FRESH_S`` from when it was asked,
        a few seconds, like the gap between any check and the broadcast; failures are
        ignored (the round asks again)."""
        now = time.monotonic()
        self._listed = {a: v for a, v in self._listed.items() if now - v.asked <= LISTED_FRESH_S}
        todo = [a for a in dict.fromkeys(addresses) if a not in self._listed]
        if not todo or (self._warming is not None and not self._warming.done()):
            return
        sem = asyncio.Semaphore(self.policy.concurrency)

        async def ask(to: str) -> bool:
            return await _bounded(sem, lambda: self._ask_listed(to))

        async def warm() -> None:
            outcomes = await asyncio.gather(*(ask(a) for a in todo), return_exceptions=True)
            failed = sum(1 for o in outcomes if isinstance(o, BaseException))
            if failed:
                log.info("engine.plan.prefetch_failed", addresses=len(todo), failed=failed)

        self._warming = asyncio.create_task(warm())

    async def _new_holder_energy(self, amount: int) -> EnergyEstimate | None:
        """Energy of a USDT transfer of ``amount`` to an address holding no USDT (a probe
        derived from the hot wallet whose zero balance is checked first); None when no
        probe with a zero balance was found (plan precisely instead)."""
        for n in range(_PROBE_TRIES):
            probe = encode_base58(
                b"\x41" + sha256(f"tronpay energy probe {self.hot_wallet} {n}".encode())[:20]
            )
            if await self._node.token_balance(self.token_contract, probe) != 0:
                continue
            try:
                energy = await self._node.estimate_energy(
                    self.hot_wallet, self.token_contract, abi.transfer_call(probe, amount)
                )
            except NodeRejected as exc:
                return EnergyEstimate(energy=0, error=exc.detail)
            return EnergyEstimate(energy=energy)
        return None

    async def _class_energy(
        self, probed: Sequence[PayoutRequest], facts: Mapping[str, _Holder]
    ) -> dict[bool, EnergyEstimate]:
        """Energy of a USDT transfer to a new holder (key True) and to an existing one (key
        False), each estimated once against a recipient of that class (the next one is
        tried when an estimate fails, up to ``_CLASS_TRIES``)."""

        async def one(new_holder: bool) -> EnergyEstimate:
            members = [
                r
                for r in probed
                if r.asset == USDT
                and not facts[r.to_address].blacklisted
                and (facts[r.to_address].balance == 0) == new_holder
            ]
            error = "no recipient of this class"
            for req in members[:_CLASS_TRIES]:
                try:
                    energy = await self._node.estimate_energy(
                        self.hot_wallet,
                        self.token_contract,
                        abi.transfer_call(req.to_address, req.amount),
                    )
                except NodeRejected as exc:
                    error = exc.detail
                    continue
                return EnergyEstimate(energy=energy)
            return EnergyEstimate(energy=0, error=error)

        new, old = await asyncio.gather(one(True), one(False))
        return {True: new, False: old}


async def _none() -> None:
    return None


def _activation_fee(params: ChainParameters) -> int:
    return params.create_new_account_fee_in_system_contract_sun + params.create_account_fee_sun


async def _bounded(sem: asyncio.Semaphore, fn: Callable[[], Awaitable[_T]]) -> _T:
    async with sem:
        return await fn()
