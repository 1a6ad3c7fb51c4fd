"""``AppState``: what ``create_app`` puts on ``app.state``, as one typed object.

Every attribute is given when the app is built (``create_app``), so a handler never meets a
missing one. It is still a Starlette ``State`` (attribute access), so the generic layers that
read one attribute (``db.session`` the sessionmaker, ``auth.dependencies`` the verifier) work
on any app. Handlers of the domains get it with ``app_state(request.app)``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.datastructures import State

from tronpay.api.readiness import ReadinessRegistry
from tronpay.auth import JWTVerifier
from tronpay.config import Settings
from tronpay.engine.health import EngineHealth
from tronpay.observability.scrape import DatabaseGauges
from tronpay.payouts.quote import Quoter
from tronpay.payouts.service import PayoutContext
from tronpay.payouts.writer import PayoutWriter
from tronpay.policy import PolicyService
from tronpay.startup import ChainRuntime


class AppState(State):
    """The app's state. ``payout_writer`` may be replaced (tests install a lingering one);
    ``payout_fast_lane = False`` turns the create fast lane off; ``metrics`` computes the
    gauges of a scrape; the chain runtime sets ``engine_task`` when the engine runs in this
    process, and the engine reports its progress to ``engine_health`` (``/ready`` reads it)."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    jwt_verifier: JWTVerifier
    policy: PolicyService
    readiness: ReadinessRegistry
    chain: ChainRuntime
    payout_context: PayoutContext
    payout_writer: PayoutWriter
    quoter: Quoter | None
    metrics: DatabaseGauges
    payout_fast_lane: bool
    with_engine: bool
    engine_task: asyncio.Task[None] | None
    engine_health: EngineHealth

    def __init__(
        self,
        *,
        settings: Settings,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        jwt_verifier: JWTVerifier,
        policy: PolicyService,
        readiness: ReadinessRegistry,
        chain: ChainRuntime,
        payout_context: PayoutContext,
        payout_writer: PayoutWriter,
        quoter: Quoter | None,
        metrics: DatabaseGauges,
        with_engine: bool,
        engine_health: EngineHealth | None = None,
    ) -> None:
        super().__init__(
            {
                "settings": settings,
                "engine": engine,
                "sessionmaker": sessionmaker,
                "jwt_verifier": jwt_verifier,
                "policy": policy,
                "readiness": readiness,
                "chain": chain,
                "payout_context": payout_context,
                "payout_writer": payout_writer,
                "quoter": quoter,
                "metrics": metrics,
                "payout_fast_lane": True,
                "with_engine": with_engine,
                "engine_task": None,
                "engine_health": engine_health or EngineHealth(),
            }
        )


def app_state(app: Any) -> AppState:
    """The typed state of an app built by ``create_app``."""
    state = app.state
    if not isinstance(state, AppState):
        raise TypeError("this app was not built by tronpay.app.create_app")
    return state
