"""Fee and funds arithmetic: what a payout costs and whether the wallet can pay it.

Pure functions over integers in base units (sun, token units) and frozen dataclasses: no
node, no database, no clock. ``engine/planner.py`` reads the facts from the node (balances,
prices, energy estimates, blacklist answers) and hands them to these functions.

Why fee_limit ignores staked energy: java-tron caps the TOTAL energy of a contract call at
``fee_limit / energy_price``, staked energy included, so a fee_limit sized only for the
burned part would end in OUT_OF_ENERGY. The TRX the wallet must hold, on the other hand, is
only the part staked energy does not cover (plus the margin).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from tronpay.kit.money import Asset, Sun, TokenUnits
from tronpay.tron.address import ZERO_ADDRESS, to_bytes

# The assets by their short names (members of the one Asset enum, equal to their strings).
USDT: Final = Asset.USDT
TRX: Final = Asset.TRX
_NO_SUN: Final = Sun(0)
_NO_TOKEN_UNITS: Final = TokenUnits(0)

# Upper bounds of a signed transaction's bandwidth (serialized size + java-tron's 64-byte
# result allowance). Measured sizes: TRX transfer ~270 bytes, TRC20 transfer with fee_limit
# ~345 bytes; a memo adds its own length.
TRX_TX_BYTES = 300
TRC20_TX_BYTES = 420


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
    # the TRX the payout would burn is above the asset's max_fee_per_payout: stake short
    INSUFFICIENT_ENERGY = "insufficient_energy"
    # ... and the part above it is not energy (bandwidth, activation, memo fee)
    FEE_ABOVE_MAX = "fee_above_max"


class FailReason(enum.StrEnum):
    DESTINATION_BLACKLISTED = "destination_blacklisted"
    DESTINATION_IS_HOT_WALLET = "destination_is_hot_wallet"
    DESTINATION_IS_ZERO_ADDRESS = "destination_is_zero_address"
    DESTINATION_IS_TOKEN_CONTRACT = "destination_is_token_contract"  # noqa: S105 - a reason
    DESTINATION_IS_CONTRACT = "destination_is_contract"  # TRX: the chain refuses it
    UNSUPPORTED_ASSET = "unsupported_asset"


@dataclass(frozen=True)
class FeePolicy:
    """fee_limit = energy * price * margin_percent / 100, capped by max_fee_limit_sun.

    ``max_fee_sun``: per asset, the most TRX (sun) one payout may be expected to burn (energy
    stake does not cover, bandwidth burn, activation, memo fee); a payout above it waits
    (``insufficient_energy``). An asset missing from it burns what it must."""

    margin_percent: int = 120
    retry_margin_percent: int = 200  # after an OUT_OF_ENERGY receipt (one re-attempt)
    max_fee_limit_sun: int = 100_000_000  # 100 TRX
    concurrency: int = 16  # parallel node reads while planning
    max_fee_sun: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.margin_percent < 100 or self.retry_margin_percent < self.margin_percent:
            raise ValueError("margins must be >= 100 and retry >= normal")
        if self.max_fee_limit_sun <= 0:
            raise ValueError("max_fee_limit_sun must be positive")
        if any(v < 0 for v in self.max_fee_sun.values()):
            raise ValueError("max_fee_sun values must be >= 0")


@dataclass(frozen=True)
class Reserved:
    """What live (signed, not yet included) attempts may still take from the wallet: their
    token amounts, their TRX amounts plus fee_limits, and their bandwidth."""

    trx_sun: Sun = _NO_SUN
    token_units: TokenUnits = _NO_TOKEN_UNITS
    tx_count: int = 0
    trx_transfers: int = 0
    fee_limit_sun: Sun = _NO_SUN  # part of trx_sun; also counts against staked energy


@dataclass(frozen=True)
class WalletReads:
    """The hot wallet as the node reports it, before live attempts are taken off."""

    balance_sun: Sun
    token_units: TokenUnits
    energy_available: int
    bandwidth_available: int
    energy_price_sun: Sun
    bandwidth_price_sun: Sun
    activation_fee_sun: Sun
    blacklisted: bool
    memo_fee_sun: Sun = _NO_SUN  # getMemoFee: burned by a transaction that carries a memo
    # the free part of bandwidth_available (None: not known apart, one pool)
    free_bandwidth_available: int | None = None


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
    energy_price_sun: Sun
    fee_limit_sun: Sun
    bandwidth_bytes: int
    bandwidth_price_sun: Sun
    bandwidth_burn_sun: Sun
    activation_fee_sun: Sun
    expected_fee_sun: Sun
    trx_required_sun: Sun
    token_units: TokenUnits
    capped: bool  # fee_limit hit the configured maximum (still >= the estimate)
    memo_fee_sun: Sun = _NO_SUN

    @property
    def energy_burned(self) -> int:
        """The energy stake does not cover: paid by burning TRX at ``energy_price_sun``."""
        return self.energy_needed - self.energy_from_stake


@dataclass(frozen=True)
class WalletState:
    """The hot wallet as the planner sees it: balances net of live attempts, and prices."""

    address: str
    trx_sun: Sun
    token_units: TokenUnits
    energy: int
    bandwidth: int
    energy_price_sun: Sun
    bandwidth_price_sun: Sun
    activation_fee_sun: Sun  # TRX transfer to an account that does not exist yet
    blacklisted: bool
    memo_fee_sun: Sun = _NO_SUN
    # the free part of ``bandwidth`` (None: one pool). java-tron takes a transaction's bytes
    # whole from the staked bandwidth, else whole from the free bandwidth, else burns them all:
    # the two pools never add up for one transaction.
    free_bandwidth: int | None = None

    def bandwidth_pool(self, tx_bytes: int) -> str | None:
        """Which bandwidth pays for ``tx_bytes`` (``staked``, ``free``), None: burned."""
        if self.free_bandwidth is None:
            return "staked" if self.bandwidth >= tx_bytes else None
        if self.bandwidth - self.free_bandwidth >= tx_bytes:
            return "staked"
        return "free" if self.free_bandwidth >= tx_bytes else None

    def spend(self, quote: Quote) -> WalletState:
        energy_used = min(self.energy, quote.energy_from_stake)
        pool = self.bandwidth_pool(quote.bandwidth_bytes) if quote.bandwidth_burn_sun == 0 else None
        bw_used = quote.bandwidth_bytes if pool is not None else 0
        free = self.free_bandwidth
        if pool == "free" and free is not None:
            free -= bw_used
        return replace(
            self,
            trx_sun=Sun(self.trx_sun - quote.trx_required_sun),
            token_units=TokenUnits(self.token_units - quote.token_units),
            energy=self.energy - energy_used,
            bandwidth=self.bandwidth - bw_used,
            free_bandwidth=free,
        )


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
class Recipient:
    """What the node said about a recipient. ``new_holder`` None: not looked up;
    ``estimate_error``: the energy estimate failed (``energy`` is then 0); ``contract``: the
    account is a smart contract (a TRX transfer to it is refused by the chain)."""

    exists: bool
    blacklisted: bool
    new_holder: bool | None
    energy: int
    estimate_error: str | None = None
    contract: bool = False


@dataclass(frozen=True)
class EnergyEstimate:
    """The energy of a USDT transfer, or why the node could not estimate it."""

    energy: int
    error: str | None = None


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
class Decided:
    """One payout's plan item and the wallet left for the payouts after it."""

    item: PlanItem
    wallet: WalletState


def percent(value: int, pct: int) -> int:
    """``value * pct / 100`` rounded up (integers only)."""
    return -(-value * pct // 100)


def same_address(a: str, b: str) -> bool:
    """Whether two addresses (base58 or hex) are the same account; False if one is invalid."""
    try:
        return to_bytes(a) == to_bytes(b)
    except ValueError:
        return False


def wallet_state(address: str, reads: WalletReads, reserved: Reserved) -> WalletState:
    """The wallet net of ``reserved``: live attempts' amounts, fee_limits and bandwidth.

    Bandwidth the live attempts need beyond the free bandwidth is burned as TRX; each live
    TRX transfer may pay an activation fee; a fee_limit may use staked energy.
    """
    bw_reserved = reserved.tx_count * TRC20_TX_BYTES
    bw_burn = max(0, bw_reserved - reads.bandwidth_available) * reads.bandwidth_price_sun
    free_bw = reads.free_bandwidth_available
    if free_bw is not None:
        # live attempts take the staked bandwidth first, then the free one
        free_bw = min(max(0, free_bw), reads.bandwidth_available)
        staked_bw = reads.bandwidth_available - free_bw
        free_bw = max(0, free_bw - max(0, bw_reserved - staked_bw))
    return WalletState(
        address=address,
        trx_sun=Sun(
            reads.balance_sun
            - reserved.trx_sun
            - bw_burn
            - reserved.trx_transfers * reads.activation_fee_sun
        ),
        token_units=TokenUnits(reads.token_units - reserved.token_units),
        energy=max(
            0,
            reads.energy_available - reserved.fee_limit_sun // max(1, reads.energy_price_sun),
        ),
        bandwidth=max(0, reads.bandwidth_available - bw_reserved),
        energy_price_sun=reads.energy_price_sun,
        bandwidth_price_sun=reads.bandwidth_price_sun,
        activation_fee_sun=reads.activation_fee_sun,
        blacklisted=reads.blacklisted,
        memo_fee_sun=reads.memo_fee_sun,
        free_bandwidth=free_bw,
    )


def price(req: PayoutRequest, rcpt: Recipient, wallet: WalletState, policy: FeePolicy) -> Quote:
    """The cost of ``req`` to ``rcpt`` from ``wallet``: fee_limit (the estimate with the
    margin, capped by ``policy.max_fee_limit_sun``), the TRX to hold and the expected burn."""
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
    bw_burn = 0 if wallet.bandwidth_pool(tx_bytes) else tx_bytes * wallet.bandwidth_price_sun
    memo_fee = wallet.memo_fee_sun if req.memo_bytes else 0
    return Quote(
        asset=req.asset,
        to_address=req.to_address,
        amount=req.amount,
        recipient_exists=rcpt.exists,
        new_token_holder=rcpt.new_holder,
        energy_needed=energy,
        energy_from_stake=from_stake,
        energy_price_sun=wallet.energy_price_sun,
        fee_limit_sun=Sun(fee_limit),
        bandwidth_bytes=tx_bytes,
        bandwidth_price_sun=wallet.bandwidth_price_sun,
        bandwidth_burn_sun=Sun(bw_burn),
        activation_fee_sun=Sun(activation),
        expected_fee_sun=Sun(burn_energy + bw_burn + activation + memo_fee),
        trx_required_sun=Sun(energy_reserve + bw_burn + activation + memo_fee + trx_amount),
        token_units=TokenUnits(token_units),
        capped=wanted_limit > fee_limit,
        memo_fee_sun=Sun(memo_fee),
    )


def cannot_receive(
    req: PayoutRequest, *, hot_wallet: str, token_contract: str | None = None
) -> FailReason | None:
    """Why ``req``'s destination can never receive it, known without asking the node: the
    hot wallet itself, the zero (burn) address, or for USDT the token contract itself (the
    tokens would be lost). A TRX transfer to any contract is refused too, but that needs the
    node (``Recipient.contract``)."""
    if same_address(req.to_address, hot_wallet):
        return FailReason.DESTINATION_IS_HOT_WALLET
    if same_address(req.to_address, ZERO_ADDRESS):
        return FailReason.DESTINATION_IS_ZERO_ADDRESS
    if (
        req.asset == USDT
        and token_contract is not None
        and same_address(req.to_address, token_contract)
    ):
        return FailReason.DESTINATION_IS_TOKEN_CONTRACT
    return None


def probe_needed(
    req: PayoutRequest,
    wallet: WalletState,
    *,
    hot_wallet: str,
    token_contract: str | None = None,
) -> bool:
    """Whether planning ``req`` needs node reads about its recipient at all."""
    if req.asset not in (USDT, TRX):
        return False
    if cannot_receive(req, hot_wallet=hot_wallet, token_contract=token_contract) is not None:
        return False
    if wallet.blacklisted and req.asset == USDT:
        return False
    # a USDT amount above the balance would make the estimate revert; blocked anyway
    return not (req.asset == USDT and req.amount > wallet.token_units)


def decide(
    req: PayoutRequest,
    rcpt: Recipient | None,
    wallet: WalletState,
    policy: FeePolicy,
    *,
    hot_wallet: str,
    token_contract: str | None = None,
) -> Decided:
    """SEND, BLOCK or FAIL one payout (``rcpt`` None: not probed) from ``wallet``."""
    if req.asset not in (USDT, TRX):
        return Decided(_fail(req, FailReason.UNSUPPORTED_ASSET), wallet)
    refused = cannot_receive(req, hot_wallet=hot_wallet, token_contract=token_contract)
    if refused is not None:
        return Decided(_fail(req, refused), wallet)
    if req.asset == USDT and wallet.blacklisted:
        return Decided(_block(req, BlockReason.HOT_WALLET_BLACKLISTED), wallet)
    if rcpt is None:  # USDT short before the estimate
        return Decided(_block(req, BlockReason.INSUFFICIENT_TOKEN), wallet)
    if rcpt.blacklisted:
        return Decided(_fail(req, FailReason.DESTINATION_BLACKLISTED), wallet)
    if req.asset == TRX and rcpt.contract:
        return Decided(_fail(req, FailReason.DESTINATION_IS_CONTRACT), wallet)
    if rcpt.estimate_error is not None:
        return Decided(_block(req, BlockReason.ESTIMATE_FAILED), wallet)
    quote = price(req, rcpt, wallet, policy)
    if req.asset == USDT:
        if quote.fee_limit_sun < quote.energy_needed * quote.energy_price_sun:
            return Decided(_block(req, BlockReason.FEE_LIMIT_CAP, quote), wallet)
        if quote.token_units > wallet.token_units:
            return Decided(_block(req, BlockReason.INSUFFICIENT_TOKEN, quote), wallet)
    over = over_max_fee(quote, policy)
    if over is not None:
        return Decided(_block(req, over, quote), wallet)
    if quote.trx_required_sun > wallet.trx_sun:
        return Decided(_block(req, BlockReason.INSUFFICIENT_TRX, quote), wallet)
    return Decided(PlanItem(req.payout_id, Decision.SEND, quote=quote), wallet.spend(quote))


def over_max_fee(quote: Quote, policy: FeePolicy) -> BlockReason | None:
    """Why ``quote`` may not be sent under the asset's ``max_fee_per_payout``, or None.

    ``insufficient_energy`` when staked energy would bring the burn within the maximum (it
    recovers over 24 h, or more stake arrives), ``fee_above_max`` when even full stake would
    not (bandwidth, activation or memo fee alone are above it)."""
    cap = policy.max_fee_sun.get(quote.asset)
    if cap is None or quote.expected_fee_sun <= cap:
        return None
    burn_without_energy = quote.expected_fee_sun - quote.energy_burned * quote.energy_price_sun
    if quote.energy_burned > 0 and burn_without_energy <= cap:
        return BlockReason.INSUFFICIENT_ENERGY
    return BlockReason.FEE_ABOVE_MAX


def decide_all(
    requests: Sequence[PayoutRequest],
    recipients: Sequence[Recipient | None],
    wallet: WalletState,
    policy: FeePolicy,
    *,
    hot_wallet: str,
    token_contract: str | None = None,
) -> Plan:
    """Decide ``requests`` in order, spending a running copy of ``wallet`` so the payouts
    sent together fit together."""
    items: list[PlanItem] = []
    running = wallet
    for req, rcpt in zip(requests, recipients, strict=True):
        decided = decide(
            req, rcpt, running, policy, hot_wallet=hot_wallet, token_contract=token_contract
        )
        items.append(decided.item)
        running = decided.wallet
    return Plan(items=tuple(items), wallet_before=wallet, wallet_after=running)


def worst_case_hurts(item: PlanItem) -> bool:
    """A USDT payout the worst-case energy blocked that a precise class might let through."""
    return (
        item.decision is Decision.BLOCK
        and item.quote is not None
        and item.quote.asset == USDT
        and item.reason
        in (
            BlockReason.FEE_LIMIT_CAP,
            BlockReason.INSUFFICIENT_TRX,
            BlockReason.INSUFFICIENT_ENERGY,
        )
    )


def _block(req: PayoutRequest, reason: BlockReason, quote: Quote | None = None) -> PlanItem:
    return PlanItem(req.payout_id, Decision.BLOCK, quote=quote, reason=reason)


def _fail(req: PayoutRequest, reason: FailReason) -> PlanItem:
    return PlanItem(req.payout_id, Decision.FAIL, reason=reason)
