"""Fee and funds planning (DESIGN §5): what a payout costs and whether the wallet can pay it.

Everything is integer arithmetic in base units (sun, token units). Prices and energy come
from the node, never from constants. A payout the wallet cannot pay right now is *blocked*
(it stays ``queued`` with a reason and is planned again later); a payout that can never be
paid (a blacklisted destination) *fails*. Nothing here writes anything: ``quote`` is safe for
``POST /v1/payouts/quote``.

Why fee_limit ignores staked energy: java-tron caps the TOTAL energy of a contract call at
``fee_limit / energy_price``, staked energy included, so a fee_limit sized only for the
burned part would end in OUT_OF_ENERGY. The TRX the wallet must hold, on the other hand, is
only the part staked energy does not cover (plus the margin).
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import structlog

from tronpay.tron import abi
from tronpay.tron.address import encode_base58, to_bytes
from tronpay.tron.hashing import sha256
from tronpay.tron.node import ChainParameters, NodeClient, NodeRejected

log = structlog.get_logger(__name__)

_T = TypeVar("_T")

USDT = "USDT"
TRX = "TRX"

# Upper bounds of a signed transaction's bandwidth (serialized size + java-tron's 64-byte
# result allowance). Measured sizes: TRX transfer ~270 bytes, TRC20 transfer with fee_limit
# ~345 bytes; a memo adds its own length.
TRX_TX_BYTES = 300
TRC20_TX_BYTES = 420
_CLASS_TRIES = 3  # recipients tried per holder class when an energy estimate fails
_PROBE_TRIES = 3  # probe addresses tried for the new-holder estimate
LISTED_FRESH_S = 5.0  # how long an isBlackListed answer is used for planning


class Decision(enum.StrEnum):
    SEND = "send"  # sign and broadcast now
    BLOCK = "block"  # stay queued with blocked_reason; plan again later
    FAIL = "fail"  # can never be paid: fail the payout with the reason


class BlockReason(enum.StrEnum):
    INSUFFICIENT_TRX = "insufficient_trx"
    INSUFFICIENT_TOKEN = "insufficient_token"  # noqa: S105 - a reason, not a secret
    FEE_LIMIT_CAP = "fee_limit_cap"
    HOT_WALLET_BLACKLISTED = "hot_wallet_blacklisted"
    ESTIMATE_FAILED = "energy_estimate_failed"
    NODE_UNAVAILABLE = "node_unavailable"


class FailReason(enum.StrEnum):
    DESTINATION_BLACKLISTED = "destination_blacklisted"
    DESTINATION_IS_HOT_WALLET = "destination_is_hot_wallet"
    UNSUPPORTED_ASSET = "unsupported_asset"


@dataclass(frozen=True)
class FeePolicy:
    """fee_limit = energy * price * margin_percent / 100, capped by max_fee_limit_sun."""

    margin_percent: int = 120
    retry_margin_percent: int = 200  # after an OUT_OF_ENERGY receipt (one re-attempt)
    max_fee_limit_sun: int = 100_000_000  # 100 TRX
    concurrency: int = 16  # parallel node reads while planning

    def __post_init__(self) -> None:
        if self.margin_percent < 100 or self.retry_margin_percent < self.margin_percent:
            raise ValueError("margins must be >= 100 and retry >= normal")
        if self.max_fee_limit_sun <= 0:
            raise ValueError("max_fee_limit_sun must be positive")


@dataclass(frozen=True)
class Reserved:
    """What live (signed, not yet included) attempts may still take from the wallet: their
    token amounts, their TRX amounts plus fee_limits, and their bandwidth."""

    trx_sun: int = 0
    token_units: int = 0
    tx_count: int = 0
    trx_transfers: int = 0
    fee_limit_sun: int = 0  # part of trx_sun; also counts against staked energy


@dataclass(frozen=True)
class WalletState:
    """The hot wallet as the planner sees it: balances net of live attempts, and prices."""

    address: str
    trx_sun: int
    token_units: int
    energy: int
    bandwidth: int
    energy_price_sun: int
    bandwidth_price_sun: int
    activation_fee_sun: int  # TRX transfer to an account that does not exist yet
    blacklisted: bool

    def spend(self, quote: Quote) -> WalletState:
        energy_used = min(self.energy, quote.energy_from_stake)
        bw_used = min(self.bandwidth, quote.bandwidth_bytes) if quote.bandwidth_burn_sun == 0 else 0
        return replace(
            self,
            trx_sun=self.trx_sun - quote.trx_required_sun,
            token_units=self.token_units - quote.token_units,
            energy=self.energy - energy_used,
            bandwidth=self.bandwidth - bw_used,
        )


@dataclass(frozen=True)
class Quote:
    """The cost of one payout. ``fee_limit_sun`` goes into the transaction; ``trx_required_sun``
    is what the wallet must hold for it (worst case); ``expected_fee_sun`` what it should burn."""

    asset: str
    to_address: str
    amount: int
    recipient_exists: bool
    new_token_holder: bool | None  # None: not looked up (planning skips balanceOf)
    energy_needed: int
    energy_from_stake: int
    energy_price_sun: int
    fee_limit_sun: int
    bandwidth_bytes: int
    bandwidth_price_sun: int
    bandwidth_burn_sun: int
    activation_fee_sun: int
    expected_fee_sun: int
    trx_required_sun: int
    token_units: int
    capped: bool  # fee_limit hit the configured maximum (still >= the estimate)


@dataclass(frozen=True)
class PayoutRequest:
    """The planner's view of a payout (independent of the ORM)."""

    payout_id: str
    asset: str
    to_address: str
    amount: int
    memo_bytes: int = 0
    retry_out_of_energy: bool = False


@dataclass(frozen=True)
class PlanItem:
    payout_id: str
    decision: Decision
    quote: Quote | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Plan:
    items: tuple[PlanItem, ...]
    wallet_before: WalletState
    wallet_after: WalletState

    @property
    def to_send(self) -> tuple[PlanItem, ...]:
        return tuple(i for i in self.items if i.decision is Decision.SEND)


@dataclass(frozen=True)
class _Recipient:
    exists: bool
    blacklisted: bool
    new_holder: bool | None
    energy: int
    estimate_error: str | None = None


def percent(value: int, pct: int) -> int:
    """``value * pct / 100`` rounded up (integers only)."""
    return -(-value * pct // 100)


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
        # isBlackListed answers by recipient: (monotonic time the question was sent, answer)
        self._listed: dict[str, tuple[float, bool]] = {}
        self._warming: asyncio.Task[None] | None = None

    # -- wallet ---------------------------------------------------------------------------------

    async def wallet_state(self, reserved: Reserved | None = None) -> WalletState:
        reserved = reserved or Reserved()
        account, resource, params, token, listed = await asyncio.gather(
            self._node.account(self.hot_wallet),
            self._node.account_resource(self.hot_wallet),
            self._node.chain_parameters(),
            self._node.token_balance(self.token_contract, self.hot_wallet),
            self._node.is_blacklisted(self.token_contract, self.hot_wallet),
        )
        price_bw = params.transaction_fee_sun
        activation = _activation_fee(params)
        bw_reserved = reserved.tx_count * TRC20_TX_BYTES
        bw_free = resource.bandwidth_available
        bw_burn = max(0, bw_reserved - bw_free) * price_bw
        return WalletState(
            address=self.hot_wallet,
            trx_sun=account.balance_sun
            - reserved.trx_sun
            - bw_burn
            - reserved.trx_transfers * activation,
            token_units=token - reserved.token_units,
            energy=max(
                0,
                resource.energy_available - reserved.fee_limit_sun // max(1, params.energy_fee_sun),
            ),
            bandwidth=max(0, bw_free - bw_reserved),
            energy_price_sun=params.energy_fee_sun,
            bandwidth_price_sun=price_bw,
            activation_fee_sun=activation,
            blacklisted=listed,
        )

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
        return self._price(
            PayoutRequest("quote", asset, to_address, amount), recipient, wallet, self.policy
        )

    def _price(
        self, req: PayoutRequest, rcpt: _Recipient, wallet: WalletState, policy: FeePolicy
    ) -> Quote:
        margin = policy.retry_margin_percent if req.retry_out_of_energy else policy.margin_percent
        if req.asset == USDT:
            energy = rcpt.energy
            wanted_limit = percent(energy * wallet.energy_price_sun, margin)
            fee_limit = min(wanted_limit, policy.max_fee_limit_sun)
            from_stake = min(wallet.energy, energy)
            burn_energy = (energy - from_stake) * wallet.energy_price_sun
            # The wallet must cover the margin on the part stake does not pay for.
            energy_reserve = max(0, fee_limit - from_stake * wallet.energy_price_sun)
            tx_bytes = TRC20_TX_BYTES + req.memo_bytes
            activation = 0
            token_units = req.amount
            trx_amount = 0
        else:
            energy = fee_limit = from_stake = burn_energy = energy_reserve = wanted_limit = 0
            tx_bytes = TRX_TX_BYTES + req.memo_bytes
            activation = 0 if rcpt.exists else wallet.activation_fee_sun
            token_units = 0
            trx_amount = req.amount
        bw_burn = 0 if wallet.bandwidth >= tx_bytes else tx_bytes * wallet.bandwidth_price_sun
        return Quote(
            asset=req.asset,
            to_address=req.to_address,
            amount=req.amount,
            recipient_exists=rcpt.exists,
            new_token_holder=rcpt.new_holder,
            energy_needed=energy,
            energy_from_stake=from_stake,
            energy_price_sun=wallet.energy_price_sun,
            fee_limit_sun=fee_limit,
            bandwidth_bytes=tx_bytes,
            bandwidth_price_sun=wallet.bandwidth_price_sun,
            bandwidth_burn_sun=bw_burn,
            activation_fee_sun=activation,
            expected_fee_sun=burn_energy + bw_burn + activation,
            trx_required_sun=energy_reserve + bw_burn + activation + trx_amount,
            token_units=token_units,
            capped=wanted_limit > fee_limit,
        )

    async def _recipient(
        self, asset: str, to_address: str, amount: int, *, holder: bool = False
    ) -> _Recipient:
        if asset == TRX:
            account = await self._node.account(to_address)
            return _Recipient(exists=account.exists, blacklisted=False, new_holder=False, energy=0)
        if holder:
            listed, balance = await asyncio.gather(
                self._node.is_blacklisted(self.token_contract, to_address),
                self._node.token_balance(self.token_contract, to_address),
            )
            new_holder: bool | None = balance == 0
        else:  # planning: the energy estimate already prices a new holder
            listed = await self._node.is_blacklisted(self.token_contract, to_address)
            new_holder = None
        if listed:
            return _Recipient(exists=True, blacklisted=True, new_holder=new_holder, energy=0)
        try:
            energy = await self._node.estimate_energy(
                self.hot_wallet, self.token_contract, abi.transfer_call(to_address, amount)
            )
        except NodeRejected as exc:
            return _Recipient(True, False, new_holder, 0, estimate_error=exc.detail)
        return _Recipient(exists=True, blacklisted=False, new_holder=new_holder, energy=energy)

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
        flags = [self._probe_needed(r, wallet) for r in requests]
        probed = [r for r, f in zip(requests, flags, strict=True) if f]
        usdt_to = list(dict.fromkeys(r.to_address for r in probed if r.asset == USDT))
        trx_to = list(dict.fromkeys(r.to_address for r in probed if r.asset == TRX))

        async def listed(to: str) -> bool:
            cached = self._fresh_listed(to)
            if cached is not None:
                return cached
            return await _bounded(sem, lambda: self._ask_listed(to))

        async def account_exists(to: str) -> bool:
            return (await _bounded(sem, lambda: self._node.account(to))).exists

        amount = min((r.amount for r in probed if r.asset == USDT), default=1)
        blacklisted, exists, worst = await asyncio.gather(
            asyncio.gather(*(listed(t) for t in usdt_to)),
            asyncio.gather(*(account_exists(t) for t in trx_to)),
            self._new_holder_energy(amount) if usdt_to else _none(),
        )
        listed_by = dict(zip(usdt_to, blacklisted, strict=True))
        accounts = dict(zip(trx_to, exists, strict=True))

        def recipient(
            req: PayoutRequest, energy: Mapping[str, tuple[bool | None, int, str | None]]
        ) -> _Recipient:
            if req.asset == TRX:
                return _Recipient(accounts[req.to_address], False, False, 0)
            new_holder, joules, error = energy[req.to_address]
            if listed_by[req.to_address]:
                return _Recipient(True, True, new_holder, 0)
            return _Recipient(True, False, new_holder, joules, error)

        if worst is not None and worst[1] is None:
            energy = dict.fromkeys(usdt_to, (None, worst[0], worst[1]))
            plan = self._decide_all(
                requests,
                [recipient(r, energy) if f else None for r, f in zip(requests, flags, strict=True)],
                wallet,
            )
            if not any(_worst_case_hurts(i) for i in plan.items):
                return plan
        # precise: the holder class of every recipient
        clean = [t for t in usdt_to if not listed_by[t]]

        async def balance(to: str) -> int:
            return await _bounded(sem, lambda: self._node.token_balance(self.token_contract, to))

        balances = await asyncio.gather(*(balance(t) for t in clean))
        facts = {t: (False, bal) for t, bal in zip(clean, balances, strict=True)}
        facts.update({t: (True, 0) for t in usdt_to if listed_by[t]})
        by_class = await self._class_energy(probed, facts)
        precise: dict[str, tuple[bool | None, int, str | None]] = {}
        for t in usdt_to:
            new_holder = facts[t][1] == 0
            joules, error = by_class[new_holder]
            precise[t] = (new_holder, joules, error)
        return self._decide_all(
            requests,
            [recipient(r, precise) if f else None for r, f in zip(requests, flags, strict=True)],
            wallet,
        )

    # -- blacklist answers (fresh for LISTED_FRESH_S) ------------------------------------------

    def _fresh_listed(self, to: str) -> bool | None:
        hit = self._listed.get(to)
        if hit is None or time.monotonic() - hit[0] > LISTED_FRESH_S:
            return None
        return hit[1]

    async def _ask_listed(self, to: str) -> bool:
        asked = time.monotonic()
        answer = await self._node.is_blacklisted(self.token_contract, to)
        self._listed[to] = (asked, answer)
        return answer

    def prefetch_listed(self, addresses: Sequence[str]) -> None:
        """Ask ``isBlackListed`` for the recipients of the NEXT round in the background (the
        engine calls this once a round's own reads are done, so the questions overlap its
        signing and commit). An answer counts for ``LISTED_FRESH_S`` from when it was asked,
        a few seconds, like the gap between any check and the broadcast; failures are
        ignored (the round asks again)."""
        now = time.monotonic()
        self._listed = {a: v for a, v in self._listed.items() if now - v[0] <= LISTED_FRESH_S}
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

    def _decide_all(
        self,
        requests: Sequence[PayoutRequest],
        recipients: Sequence[_Recipient | None],
        wallet: WalletState,
    ) -> Plan:
        items: list[PlanItem] = []
        running = wallet
        for req, rcpt in zip(requests, recipients, strict=True):
            item, running = self._decide(req, rcpt, running)
            items.append(item)
        return Plan(items=tuple(items), wallet_before=wallet, wallet_after=running)

    async def _new_holder_energy(self, amount: int) -> tuple[int, str | None] | None:
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
                return 0, exc.detail
            return energy, None
        return None

    def _probe_needed(self, req: PayoutRequest, wallet: WalletState) -> bool:
        if req.asset not in (USDT, TRX) or _same(req.to_address, self.hot_wallet):
            return False
        if wallet.blacklisted and req.asset == USDT:
            return False
        # a USDT amount above the balance would make the estimate revert; blocked anyway
        return not (req.asset == USDT and req.amount > wallet.token_units)

    async def _class_energy(
        self, probed: Sequence[PayoutRequest], facts: dict[str, tuple[bool, int]]
    ) -> dict[bool, tuple[int, str | None]]:
        """Energy of a USDT transfer to a new holder (key True) and to an existing one (key
        False), each estimated once against a recipient of that class (the next one is
        tried when an estimate fails, up to ``_CLASS_TRIES``)."""

        async def one(new_holder: bool) -> tuple[int, str | None]:
            members = [
                r
                for r in probed
                if r.asset == USDT
                and not facts[r.to_address][0]
                and (facts[r.to_address][1] == 0) == new_holder
            ]
            error: str | None = "no recipient of this class"
            for req in members[:_CLASS_TRIES]:
                try:
                    return await self._node.estimate_energy(
                        self.hot_wallet,
                        self.token_contract,
                        abi.transfer_call(req.to_address, req.amount),
                    ), None
                except NodeRejected as exc:
                    error = exc.detail
            return 0, error

        new, old = await asyncio.gather(one(True), one(False))
        return {True: new, False: old}

    def _decide(
        self, req: PayoutRequest, rcpt: _Recipient | None, wallet: WalletState
    ) -> tuple[PlanItem, WalletState]:
        if req.asset not in (USDT, TRX):
            return PlanItem(
                req.payout_id, Decision.FAIL, reason=FailReason.UNSUPPORTED_ASSET
            ), wallet
        if _same(req.to_address, self.hot_wallet):
            return (
                PlanItem(req.payout_id, Decision.FAIL, reason=FailReason.DESTINATION_IS_HOT_WALLET),
                wallet,
            )
        if req.asset == USDT and wallet.blacklisted:
            return _block(req, BlockReason.HOT_WALLET_BLACKLISTED), wallet
        if rcpt is None:  # USDT short before the estimate
            return _block(req, BlockReason.INSUFFICIENT_TOKEN), wallet
        if rcpt.blacklisted:
            return (
                PlanItem(req.payout_id, Decision.FAIL, reason=FailReason.DESTINATION_BLACKLISTED),
                wallet,
            )
        if rcpt.estimate_error is not None:
            return _block(req, BlockReason.ESTIMATE_FAILED), wallet
        quote = self._price(req, rcpt, wallet, self.policy)
        if req.asset == USDT:
            if quote.fee_limit_sun < quote.energy_needed * quote.energy_price_sun:
                return _block(req, BlockReason.FEE_LIMIT_CAP, quote), wallet
            if quote.token_units > wallet.token_units:
                return _block(req, BlockReason.INSUFFICIENT_TOKEN, quote), wallet
        if quote.trx_required_sun > wallet.trx_sun:
            return _block(req, BlockReason.INSUFFICIENT_TRX, quote), wallet
        return PlanItem(req.payout_id, Decision.SEND, quote=quote), wallet.spend(quote)


def _worst_case_hurts(item: PlanItem) -> bool:
    """A USDT payout the worst-case energy blocked that a precise class might let through."""
    return (
        item.decision is Decision.BLOCK
        and item.quote is not None
        and item.quote.asset == USDT
        and item.reason in (BlockReason.FEE_LIMIT_CAP, BlockReason.INSUFFICIENT_TRX)
    )


async def _none() -> None:
    return None


def _block(req: PayoutRequest, reason: BlockReason, quote: Quote | None = None) -> PlanItem:
    return PlanItem(req.payout_id, Decision.BLOCK, quote=quote, reason=reason)


def _same(a: str, b: str) -> bool:
    try:
        return to_bytes(a) == to_bytes(b)
    except ValueError:
        return False


def _activation_fee(params: ChainParameters) -> int:
    return params.create_new_account_fee_in_system_contract_sun + params.create_account_fee_sun


async def _bounded(sem: asyncio.Semaphore, fn: Callable[[], Awaitable[_T]]) -> _T:
    async with sem:
        return await fn()
