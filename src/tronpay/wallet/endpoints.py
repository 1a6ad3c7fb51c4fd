"""``GET /v1/wallet`` (scope ``wallet:read``): the hot wallet now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from tronpay.api.readiness import NotReady
from tronpay.api.responses import AUTH_ERRORS, problem
from tronpay.auth import Principal, Scope
from tronpay.auth.dependencies import require_scopes
from tronpay.db.session import ReadSessionDep
from tronpay.state import app_state
from tronpay.wallet.schemas import WalletOut
from tronpay.wallet.service import WalletService

router = APIRouter(prefix="/v1/wallet", tags=["wallet"])

WalletReader = Annotated[Principal, Depends(require_scopes(Scope.WALLET_READ))]


def wallet_service(request: Request) -> WalletService:
    runtime = app_state(request.app).chain
    if runtime.hot_wallet is None:
        raise NotReady("the wallet view needs a node and a hot wallet address")
    return WalletService(
        runtime.node, hot_wallet=runtime.hot_wallet, token_contract=runtime.token_contract
    )


@router.get(
    "",
    response_model=WalletOut,
    summary="The hot wallet: balances, energy and bandwidth, stake, unstakes, runway",
    responses={
        **AUTH_ERRORS,
        502: problem("A node gave an answer that cannot be used", "node_rejected", 502),
        503: problem("No node answers or no hot wallet is configured", "not_ready", 503),
    },
)
async def get_wallet(
    request: Request, _principal: WalletReader, session: ReadSessionDep
) -> WalletOut:
    service = wallet_service(request)
    return WalletOut.of(await service.view(session))
