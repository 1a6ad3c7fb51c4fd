"""Engine settings (env prefix ``TRONPAY_ENGINE_``). Kept beside the engine so the shared
``Settings`` stays small; ``EngineConfig.from_env()`` reads them."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tronpay.engine.health import DEFAULT_STALL_AFTER_S
from tronpay.engine.planner import FeePolicy


class EngineConfig(BaseSettings):
    """How the payout engine paces itself. Times in seconds, money in sun."""

    model_config = SettingsConfigDict(env_prefix="TRONPAY_ENGINE_", extra="ignore", frozen=True)

    batch_size: int = Field(
        default=200, ge=1, le=10_000, description="payouts claimed, planned and signed per round"
    )
    broadcast_concurrency: int = Field(
        default=32, ge=1, le=512, description="broadcasts in flight at once"
    )
    read_concurrency: int = Field(
        default=16, ge=1, le=256, description="node reads in flight at once (planning, lookups)"
    )
    tick_s: float = Field(default=0.5, gt=0, description="pause between rounds with nothing to do")
    tx_expiration_s: int = Field(
        default=60,
        ge=5,
        le=86_000,
        description="a signed transaction's expiration, after its reference block",
    )
    expiry_margin_s: int = Field(
        default=60,
        ge=0,
        description=(
            "seconds past a transaction's expiration that the solidified head must also pass "
            "(every block up to there read) before its attempt can be proven dead"
        ),
    )
    rebroadcast_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="resend an unclear attempt this often (an accepted one six times as rarely)",
    )
    blocked_retry_s: float = Field(
        default=10.0, ge=0, description="plan a blocked payout again after this long"
    )
    reconcile_interval_s: float = Field(
        default=60.0, gt=0, description="how often finalized payouts are checked against the chain"
    )
    fee_margin_percent: int = Field(
        default=120, ge=100, description="fee_limit = estimated energy cost times this percent"
    )
    fee_retry_margin_percent: int = Field(
        default=200, ge=100, description="the margin of the one re-attempt after OUT_OF_ENERGY"
    )
    max_fee_limit_sun: int = Field(
        default=100_000_000,
        gt=0,
        description="cap on any fee_limit, in sun; a payout needing more is blocked",
    )
    node_timeout_s: float = Field(default=10.0, gt=0, description="time limit of one node request")
    max_follow_blocks_per_tick: int = Field(
        default=200, ge=1, description="blocks the receipt follower reads per round at most"
    )
    stall_after_s: float = Field(
        default=DEFAULT_STALL_AFTER_S,
        gt=0,
        description=(
            "a step failing (or hanging) this long is reported: `engine.stalled`, `/ready` 503"
        ),
    )

    @classmethod
    def from_env(cls) -> EngineConfig:
        return cls()

    def fee_policy(self, max_fee_sun: Mapping[str, int] | None = None) -> FeePolicy:
        """The planner's fee policy; ``max_fee_sun``: the policy file's ``max_fee_per_payout``
        per asset (``PolicyConfig.max_fees()``)."""
        return FeePolicy(
            margin_percent=self.fee_margin_percent,
            retry_margin_percent=max(self.fee_retry_margin_percent, self.fee_margin_percent),
            max_fee_limit_sun=self.max_fee_limit_sun,
            concurrency=self.read_concurrency,
            max_fee_sun=dict(max_fee_sun or {}),
        )
