"""The payouts domain's ``Quoter`` over the engine's planner (built once at start-up by
``tronpay.runtime``), so a quote prices a payout exactly as the engine will."""

from __future__ import annotations

from tronpay.engine.planner import USDT, Planner
from tronpay.payouts.errors import QuoteUnavailable
from tronpay.payouts.quote import FeeQuote


class PlannerQuoter:
    """``Quoter`` of ``tronpay.payouts.quote``: the hot wallet's state, then one quote."""

    def __init__(self, planner: Planner) -> None:
        self._planner = planner

    async def quote(self, asset: str, to_address: str, amount: int) -> FeeQuote:
        wallet = await self._planner.wallet_state()
        probe = amount
        if asset == USDT:
            # The energy of a transfer does not depend on its amount, but the node's estimate
            # of a transfer the wallet cannot fund reverts: estimate with what the wallet holds.
            probe = min(amount, wallet.token_units)
            if probe == 0:
                raise QuoteUnavailable("the hot wallet holds no USDT, so the node cannot estimate")
        quote = await self._planner.quote(asset, to_address, probe, wallet=wallet)
        return FeeQuote(
            asset=quote.asset,
            to_address=quote.to_address,
            amount=amount,
            recipient_exists=quote.recipient_exists,
            new_token_holder=quote.new_token_holder,
            energy_needed=quote.energy_needed,
            energy_from_stake=quote.energy_from_stake,
            energy_burned=quote.energy_burned,
            energy_price_sun=quote.energy_price_sun,
            bandwidth_bytes=quote.bandwidth_bytes,
            fee_limit_sun=quote.fee_limit_sun,
            expected_fee_sun=quote.expected_fee_sun,
            trx_required_sun=quote.trx_required_sun,
            capped=quote.capped,
        )
