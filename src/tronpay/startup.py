"""Start-up wiring shared by the API process (``tronpay.runtime``) and the payout engine
(``tronpay.engine.worker``), written once: the hot wallet key, the node client and the token
decimals check; and ``ChainRuntime``, the API process's view of the chain.

The API process never needs the private key: it derives the hot wallet address once (from
``TRONPAY_HOT_WALLET_ADDRESS`` or by loading the configured key) and drops the key. The
engine loads its own signer with ``load_signer``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Final

import httpx

from tronpay.api.readiness import NotReady
from tronpay.config import Settings
from tronpay.errors import TronpayError
from tronpay.kit.clock import epoch_seconds
from tronpay.observability import metrics
from tronpay.signer import LocalSigner
from tronpay.signer.errors import SignerError
from tronpay.tron.node import NodeClient

TOKEN_DECIMALS: Final = 6
# A node whose head block is older than this is not in sync (mainnet makes a block every 3 s).
MAX_HEAD_AGE_S: Final = 60


def signer_configured(settings: Settings) -> bool:
    """A hot wallet key is configured: a hex key file, or a keystore and its passphrase."""
    return settings.hot_wallet_key_file is not None or (
        settings.keystore_file is not None and settings.keystore_passphrase_file is not None
    )


def load_signer(settings: Settings) -> LocalSigner | None:
    """The hot wallet signer from the hex key file or the encrypted keystore; ``None`` when
    neither is configured. A configured key that cannot be loaded raises ``SignerError``."""
    if settings.hot_wallet_key_file is not None:
        return LocalSigner.from_key_file(settings.hot_wallet_key_file)
    if settings.keystore_file is not None and settings.keystore_passphrase_file is not None:
        return LocalSigner.from_keystore(settings.keystore_file, settings.keystore_passphrase_file)
    return None


def hot_wallet_address(settings: Settings) -> str | None:
    """The configured hot wallet address, derived from the key when not given explicitly."""
    if settings.hot_wallet_address:
        return settings.hot_wallet_address
    signer = load_signer(settings)
    return signer.address if signer is not None else None


def node_client(
    settings: Settings,
    *,
    timeout: httpx.Timeout,
    read_rounds: int = 3,
    max_connections: int = 64,
) -> NodeClient:
    """A client for the configured nodes (with the TronGrid API key when one is set)."""
    return NodeClient(
        list(settings.effective_node_urls),
        api_key=settings.node_api_key(),
        timeout=timeout,
        read_rounds=read_rounds,
        max_connections=max_connections,
        observer=metrics.node_request,
    )


async def check_token_decimals(
    node: NodeClient, token: str, error: type[TronpayError] = NotReady
) -> None:
    """The token contract answers ``decimals() == 6``; ``error`` when it does not."""
    decimals = await node.token_decimals(token)
    if decimals != TOKEN_DECIMALS:
        raise error(f"token {token} has {decimals} decimals, expected {TOKEN_DECIMALS}")


@dataclass
class ChainRuntime:
    """The API process's view of the chain. ``aclose()`` at shutdown."""

    settings: Settings
    node: NodeClient
    token_contract: str
    hot_wallet: str | None
    _decimals_verified: bool = field(default=False, init=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ChainRuntime:
        """Build the runtime; a key that cannot be loaded is a configuration error."""
        token = settings.effective_token_contract
        if token is None:  # Settings.check_startup refuses this earlier
            raise NotReady("no token contract configured")
        try:
            wallet = hot_wallet_address(settings)
        except SignerError as exc:
            raise NotReady(f"hot wallet key: {exc}") from exc
        node = node_client(settings, timeout=httpx.Timeout(5.0, connect=2.0), read_rounds=1)
        return cls(settings, node, token, wallet)

    async def aclose(self) -> None:
        await self.node.aclose()

    async def check_node(self) -> dict[str, int]:
        """Some node answers and its head block is recent; every configured node's head is
        asked too, for the lag between them (``tronpay_node_head_lag_blocks``)."""
        head, heads = await asyncio.gather(self.node.now_block(), self.node.heads())
        age_s = epoch_seconds() - head.timestamp / 1000
        if age_s > MAX_HEAD_AGE_S:
            raise NotReady(f"node head block {head.number} is {int(age_s)} s old")
        metrics.node_heads(heads)
        known = [n for n in heads.values() if n is not None]
        best = max([head.number, *known])
        return {
            "head_block": head.number,
            "head_age_s": max(0, int(age_s)),
            "nodes": len(heads),
            "nodes_answering": len(known),
            "max_lag_blocks": best - min(known, default=best),
        }

    async def check_token(self) -> dict[str, int]:
        """The token contract answers decimals() == 6 (verified once, then remembered)."""
        if not self._decimals_verified:
            await check_token_decimals(self.node, self.token_contract)
            self._decimals_verified = True
        return {"decimals": TOKEN_DECIMALS}

    async def check_signer(self) -> dict[str, str]:
        """The hot wallet is known (its key loaded once at start)."""
        if self.hot_wallet is None:
            raise NotReady("no hot wallet configured")
        return {"hot_wallet": "loaded"}
