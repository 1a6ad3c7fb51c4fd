"""The payout fee quote (``POST /v1/payouts/quote``): its request and response models, the
``FeeQuote`` result and the ``Quoter`` that computes it.

The payouts domain does not know how a quote is computed: start-up wiring (``tronpay.runtime``)
builds a ``Quoter`` once, over the same planner the engine uses (energy from the node's
estimate for this recipient, prices from the chain parameters, the hot wallet's staked
energy), so what a quote says is what the engine will put in the transaction's fee_limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from tronpay.kit.money import Asset, format_amount
from tronpay.payouts.schemas import AmountText, TronAddress


@dataclass(frozen=True, slots=True)
class FeeQuote:
    """What paying ``amount`` of ``asset`` to ``to_address`` costs now. Energy in energy units,
    TRX in sun, the amount in base units."""

    asset: str
    to_address: str
    amount: int
    recipient_exists: bool
    new_token_holder: bool | None
    energy_needed: int
    energy_from_stake: int
    energy_burned: int
    energy_price_sun: int
    bandwidth_bytes: int
    fee_limit_sun: int
    expected_fee_sun: int
    trx_required_sun: int
    capped: bool


class Quoter(Protocol):
    """Quotes one payout with no side effects. Raises ``QuoteUnavailable`` when the hot wallet
    cannot fund even an estimate, and the node client's errors when no node answers."""

    async def quote(self, asset: str, to_address: str, amount: int) -> FeeQuote: ...


class QuoteRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"to": "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8", "amount": "25", "asset": "USDT"}
            ]
        },
    )

    to: TronAddress
    amount: AmountText
    asset: Asset = Asset.USDT


class QuoteOut(BaseModel):
    """Energy in energy units; every TRX figure a decimal string (6 decimals)."""

    asset: Asset
    to: str
    amount: str
    recipient_exists: bool
    new_token_holder: bool | None = Field(description="USDT: the recipient holds no USDT yet")
    energy_needed: int
    energy_from_stake: int = Field(
        description="energy the hot wallet's staked or delegated energy is expected to pay for"
    )
    energy_burned: int = Field(description="energy expected to be paid for by burning TRX")
    energy_price_sun: int
    bandwidth_bytes: int
    fee_limit: str = Field(description="TRX: the cap written into the transaction")
    expected_fee: str = Field(
        description="TRX the payout is expected to burn: energy_burned x energy_price_sun, "
        "bandwidth beyond the free and staked bandwidth, activation and memo fees"
    )
    trx_required: str = Field(description="TRX the hot wallet must hold for it (worst case)")
    fee_limit_capped: bool

    @classmethod
    def of(cls, quote: FeeQuote) -> QuoteOut:
        return cls(
            asset=Asset(quote.asset),
            to=quote.to_address,
            amount=format_amount(quote.amount),
            recipient_exists=quote.recipient_exists,
            new_token_holder=quote.new_token_holder,
            energy_needed=quote.energy_needed,
            energy_from_stake=quote.energy_from_stake,
            energy_burned=quote.energy_burned,
            energy_price_sun=quote.energy_price_sun,
            bandwidth_bytes=quote.bandwidth_bytes,
            fee_limit=format_amount(quote.fee_limit_sun),
            expected_fee=format_amount(quote.expected_fee_sun),
            trx_required=format_amount(quote.trx_required_sun),
            fee_limit_capped=quote.capped,
        )
