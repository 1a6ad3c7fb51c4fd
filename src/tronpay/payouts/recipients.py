"""Destinations that can never receive a payout, refused at the API (422).

Known without a node: the service's own hot wallet, the zero address
(``T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb``: nobody holds its key, what is sent there is burned)
and the configured token contract (USDT sent to it is accepted by the chain and lost; TRX
sent to it is refused, like TRX to any contract). Known only from a node: whether a TRX
destination is a smart contract, which java-tron refuses (``Cannot transfer TRX to a
smartContract``). ``ContractDirectory`` asks the node (``getaccount``: its type is
``Contract``) and remembers the answer; when no node answers the check is deferred to the
engine, which asks again and fails such a payout before signing it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import structlog

from tronpay.payouts.errors import (
    RecipientIsContract,
    RecipientIsHotWallet,
    RecipientIsTokenContract,
    RecipientIsZeroAddress,
)
from tronpay.tron.address import ZERO_ADDRESS, to_bytes
from tronpay.tron.node import NodeClient, NodeError

log = structlog.get_logger(__name__)

CONTRACT_TTL_S: Final = 24 * 3600.0  # a contract stays a contract
NOT_CONTRACT_TTL_S: Final = 600.0  # an address may be deployed to later (CREATE2)
NODE_DOWN_S: Final = 30.0  # after a failed question, defer without asking for this long
MAX_ENTRIES: Final = 100_000


def same_address(a: str, b: str) -> bool:
    """Whether two addresses (base58 or hex) are the same account; False if one is invalid."""
    try:
        return to_bytes(a) == to_bytes(b)
    except ValueError:
        return False


def refuse_known(
    to_address: str, asset: str | None, *, hot_wallet: str | None, token_contract: str | None
) -> None:
    """Raise when ``to_address`` can never receive ``asset`` (no node needed)."""
    if hot_wallet is not None and same_address(to_address, hot_wallet):
        raise RecipientIsHotWallet("the destination is the service's own hot wallet")
    if same_address(to_address, ZERO_ADDRESS):
        raise RecipientIsZeroAddress("the destination is the zero address")
    if token_contract is not None and same_address(to_address, token_contract):
        if asset == "TRX":
            raise RecipientIsContract("the destination is the token contract, a smart contract")
        raise RecipientIsTokenContract("the destination is the token contract itself")


@dataclass(frozen=True)
class _Answer:
    contract: bool
    until: float


class ContractDirectory:
    """Whether addresses are smart contracts, asked of a node and remembered."""

    def __init__(self, node: NodeClient, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._node = node
        self._clock = clock
        self._known: dict[str, _Answer] = {}
        self._down_until = float("-inf")

    async def is_contract(self, address: str) -> bool | None:
        """True or False as the node says; None when no node answered (decide later)."""
        now = self._clock()
        known = self._known.get(address)
        if known is not None and known.until > now:
            return known.contract
        if now < self._down_until:
            return None
        try:
            account = await self._node.account(address)
        except NodeError as exc:
            self._down_until = self._clock() + NODE_DOWN_S
            log.warning("payouts.recipient.contract_check_deferred", error=type(exc).__name__)
            return None
        ttl = CONTRACT_TTL_S if account.is_contract else NOT_CONTRACT_TTL_S
        if len(self._known) >= MAX_ENTRIES:
            self._known.clear()
        self._known[address] = _Answer(account.is_contract, self._clock() + ttl)
        return account.is_contract

    async def refuse_contract(self, to_address: str, asset: str) -> None:
        """Raise ``RecipientIsContract`` for TRX to an address the node knows as a contract."""
        if asset == "TRX" and await self.is_contract(to_address):
            raise RecipientIsContract("the destination is a smart contract")

    async def contracts_among(self, addresses: list[str], *, concurrency: int = 8) -> set[str]:
        """The addresses among ``addresses`` that the node knows as contracts."""
        sem = asyncio.Semaphore(concurrency)

        async def one(address: str) -> bool | None:
            async with sem:
                return await self.is_contract(address)

        distinct = list(dict.fromkeys(addresses))
        answers = await asyncio.gather(*(one(a) for a in distinct))
        return {a for a, contract in zip(distinct, answers, strict=True) if contract}
