"""``POST /v1/payouts/quote``: what a payout would cost now, with no side effects.

The quote comes from the same planner the engine uses (energy from the node's estimate for
this recipient, prices from the chain parameters, the hot wallet's staked energy), so what
it says is what the engine will put in the transaction's fee_limit.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from tronpay.api.responses import AUTH_ERRORS, VALIDATION_ERROR, problem
from tronpay.auth import Principal, Scope
from tronpay.auth.dependencies import require_scopes
from tronpay.engine.config import EngineConfig
from tronpay.engine.planner import Planner, Quote
from tronpay.errors import TronpayError
from tronpay.kit.money import format_amount, parse_amount
from tronpay.payouts.schemas import AmountText, Asset, TronAddress
from tronpay.payouts.service import check_recipient
from tronpay.runtime import ChainRuntime, NotReady

router = APIRouter(prefix="/v1/payouts", tags=["payouts"])


class QuoteUnavailable(TronpayError):
    code = "quote_unavailable"
    status = 409
    title = "The payout cannot be quoted now"


Reader = Annotated[Principal, Depends(require_scopes(Scope.PAYOUTS_READ))]


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
    energy_from_stake: int
    energy_price_sun: int
    bandwidth_bytes: int
    fee_limit: str = Field(description="TRX: the cap written into the transaction")
    expected_fee: str = Field(description="TRX the payout is expected to burn")
    trx_required: str = Field(description="TRX the hot wallet must hold for it (worst case)")
    fee_limit_capped: bool

    @classmethod
    def of(cls, quote: Quote) -> QuoteOut:
        return cls(
            asset=Asset(quote.asset),
            to=quote.to_address,
            amount=format_amount(quote.amount),
            recipient_exists=quote.recipient_exists,
            new_token_holder=quote.new_token_holder,
            energy_needed=quote.energy_needed,
            energy_from_stake=quote.energy_from_stake,
            energy_price_sun=quote.energy_price_sun,
            bandwidth_bytes=quote.bandwidth_bytes,
            fee_limit=format_amount(quote.fee_limit_sun),
            expected_fee=format_amount(quote.expected_fee_sun),
            trx_required=format_amount(quote.trx_required_sun),
            fee_limit_capped=quote.capped,
        )


@router.post(
    "/quote",
    response_model=QuoteOut,
    summary="Quote the fee and energy of a payout (no side effects)",
    responses={
        **AUTH_ERRORS,
        **VALIDATION_ERROR,
        409: problem("The hot wallet cannot fund even an estimate", "quote_unavailable", 409),
        503: problem("No node answers or no hot wallet is configured", "not_ready", 503),
    },
)
async def quote_payout(body: QuoteRequest, request: Request, principal: Reader) -> QuoteOut:
    runtime: ChainRuntime | None = getattr(request.app.state, "chain", None)
    if runtime is None or runtime.hot_wallet is None:
        raise NotReady("quotes need a node and a hot wallet address")
    check_recipient(
        body.to,
        runtime.hot_wallet,
        asset=body.asset.value,
        token_contract=runtime.token_contract,
    )
    planner = Planner(
        runtime.node,
        hot_wallet=runtime.hot_wallet,
        token_contract=runtime.token_contract,
        policy=EngineConfig.from_env().fee_policy(),
    )
    amount = parse_amount(body.amount)
    wallet = await planner.wallet_state()
    probe = amount
    if body.asset is Asset.USDT:
        # The energy of a transfer does not depend on its amount, but the node's estimate of a
        # transfer the wallet cannot fund reverts: estimate with what the wallet holds.
        probe = min(amount, wallet.token_units)
        if probe == 0:
            raise QuoteUnavailable("the hot wallet holds no USDT, so the node cannot estimate")
    quote = await planner.quote(body.asset.value, body.to, probe, wallet=wallet)
    return QuoteOut.of(replace(quote, amount=amount, token_units=amount if probe else 0))
