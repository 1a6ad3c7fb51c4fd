"""Every kind of staking operation survives a SIGKILL of the engine between the commit of its
signed transaction and its broadcast, without a second transaction.

A real ``tronpay worker`` subprocess runs with ``TRONPAY_CRASH_AT=wallet_operation.signed``
(``tronpay.kit.crash``): it signs the queued operation, commits it as ``signed`` and kills
itself with SIGKILL before anything is sent. A fresh worker then finishes it from the
committed bytes. The devnet's ledger must show exactly one transaction of that type for the
operation (the committed txid), and the operation must be ``finalized`` after one attempt.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from node.support import DEMO_HEX, DEMO_KEY, USDT_HEX, addr, advance_time, ledger
from tron_devnet.genesis import demo_private_key
from tron_devnet.testing import DevnetHandle, mint, run_devnet
from tronpay.db.models import Base
from tronpay.db.session import (
    create_engine,
    create_sessionmaker,
    read_transaction,
    write_transaction,
)
from tronpay.engine.config import EngineConfig
from tronpay.engine.context import EngineContext
from tronpay.engine.planner import Planner
from tronpay.kit.clock import utcnow
from tronpay.kit.crash import CRASH_ENV, WALLET_OPERATION_SIGNED
from tronpay.kit.ids import new_id
from tronpay.signer.local import LocalSigner
from tronpay.tron.node import NodeClient
from tronpay.wallet.executor import OperationsRunner
from tronpay.wallet.models import OperationKind, WalletOperation
from tronpay.wallet.operations import Actor, OperationRequest, queue

pytestmark = pytest.mark.slow

TRX = 1_000_000
RECEIVER = addr(2000)
FINAL = ("finalized", "failed", "expired")
CONFIG = EngineConfig(
    tx_expiration_s=10, expiry_margin_s=1, rebroadcast_interval_s=0.2, node_timeout_s=2.0
)


@dataclass(frozen=True)
class Case:
    kind: OperationKind
    contract: str  # the devnet ledger's transaction type
    before: tuple[OperationRequest, ...]  # what must be on chain first
    wait_s: int = 0  # chain time to move forward after ``before``


STAKE_100 = OperationRequest(OperationKind.STAKE, "ENERGY", 100 * TRX)
UNSTAKE_50 = OperationRequest(OperationKind.UNSTAKE, "ENERGY", 50 * TRX)
CASES = {
    "stake": Case(OperationKind.STAKE, "FreezeBalanceV2Contract", ()),
    "unstake": Case(OperationKind.UNSTAKE, "UnfreezeBalanceV2Contract", (STAKE_100,)),
    "withdraw_unstaked": Case(
        OperationKind.WITHDRAW_UNSTAKED,
        "WithdrawExpireUnfreezeContract",
        (STAKE_100, UNSTAKE_50),
        wait_s=14 * 86_400 + 60,
    ),
    "cancel_unstakes": Case(
        OperationKind.CANCEL_UNSTAKES, "CancelAllUnfreezeV2Contract", (STAKE_100, UNSTAKE_50)
    ),
    "delegate": Case(OperationKind.DELEGATE, "DelegateResourceContract", (STAKE_100,)),
    "undelegate": Case(
        OperationKind.UNDELEGATE,
        "UnDelegateResourceContract",
        (
            STAKE_100,
            OperationRequest(OperationKind.DELEGATE, "ENERGY", 50 * TRX, receiver=RECEIVER),
        ),
    ),
}
THE_OPERATION = {
    OperationKind.STAKE: OperationRequest(OperationKind.STAKE, "ENERGY", 10 * TRX),
    OperationKind.UNSTAKE: OperationRequest(OperationKind.UNSTAKE, "ENERGY", 10 * TRX),
    OperationKind.WITHDRAW_UNSTAKED: OperationRequest(OperationKind.WITHDRAW_UNSTAKED),
    OperationKind.CANCEL_UNSTAKES: OperationRequest(OperationKind.CANCEL_UNSTAKES),
    OperationKind.DELEGATE: OperationRequest(
        OperationKind.DELEGATE, "ENERGY", 10 * TRX, receiver=RECEIVER
    ),
    OperationKind.UNDELEGATE: OperationRequest(
        OperationKind.UNDELEGATE, "ENERGY", 10 * TRX, receiver=RECEIVER
    ),
}


def _worker_env(db_url: str, node_url: str, key_file: Path, *, crash: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRONPAY_")}
    env.update(
        {
            "TRONPAY_ENV": "development",
            "TRONPAY_DATABASE_URL": db_url,
            "TRONPAY_NODE_URLS": node_url,
            "TRONPAY_NETWORK": "devnet",
            "TRONPAY_HOT_WALLET_KEY_FILE": str(key_file),
            "TRONPAY_ENGINE_TICK_S": "0.1",
            "TRONPAY_ENGINE_TX_EXPIRATION_S": "60",
            "TRONPAY_ENGINE_EXPIRY_MARGIN_S": "1",
            "TRONPAY_ENGINE_REBROADCAST_INTERVAL_S": "0.5",
            "TRONPAY_ENGINE_NODE_TIMEOUT_S": "2",
        }
    )
    if crash:
        env[CRASH_ENV] = WALLET_OPERATION_SIGNED
    return env


def _spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    code = "from tronpay.cli.engine import worker; worker()"
    with log.open("ab") as sink:
        return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=sink, stderr=sink)


async def _queue(maker: async_sessionmaker[AsyncSession], req: OperationRequest) -> str:
    async with write_transaction(maker) as session:
        op = await queue(
            session,
            req,
            actor=Actor("chaos", None),
            idempotency_key=new_id("key"),
            hot_wallet=DEMO_KEY.address,
            now=utcnow(),
        )
        return op.id


async def _load(maker: async_sessionmaker[AsyncSession], op_id: str) -> WalletOperation:
    async with read_transaction(maker) as session:
        op = await session.get(WalletOperation, op_id)
        assert op is not None
        session.expunge_all()
        return op


async def _wait_final(
    maker: async_sessionmaker[AsyncSession], op_id: str, timeout_s: float
) -> WalletOperation:
    deadline = time.monotonic() + timeout_s
    while True:
        op = await _load(maker, op_id)
        if op.status in FINAL or time.monotonic() > deadline:
            return op
        await asyncio.sleep(0.2)


async def _prepare(
    maker: async_sessionmaker[AsyncSession], devnet: DevnetHandle, case: Case
) -> None:
    """Put ``case.before`` on chain with the engine's operations step in this process."""
    async with NodeClient([devnet.url], timeout=httpx.Timeout(2.0, connect=1.0)) as node:
        signer = LocalSigner(DEMO_KEY)
        runner = OperationsRunner(
            EngineContext(
                sessionmaker=maker,
                node=node,
                planner=Planner(node, hot_wallet=signer.address, token_contract=USDT_HEX),
                signer=signer,
                token_contract=USDT_HEX,
                config=CONFIG,
                postgres=maker.kw["bind"].dialect.name == "postgresql",
            )
        )
        for req in case.before:
            op_id = await _queue(maker, req)
            for _ in range(100):
                await runner.step()
                if (await _load(maker, op_id)).status in FINAL:
                    break
                await asyncio.sleep(0.1)
            assert (await _load(maker, op_id)).status == "finalized", req
    if case.wait_s:
        await advance_time(devnet.url, case.wait_s)


async def _of_type(devnet: DevnetHandle, contract: str) -> list[str]:
    book = await ledger(devnet.url)
    return [
        t["txid"]
        for t in book["transactions"]
        if t["from"] == DEMO_HEX and t["type"] == contract and t["result"] == "SUCCESS"
    ]


@pytest.fixture
async def maker(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    db = create_engine(db_url)
    async with db.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield create_sessionmaker(db)
    await db.dispose()


@pytest.mark.parametrize("name", list(CASES))
async def test_sigkill_between_commit_and_broadcast_sends_one_transaction(
    name: str, db_url: str, maker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    case = CASES[name]
    key_file = tmp_path / "hot.key"
    key_file.write_text(demo_private_key().hex())
    key_file.chmod(0o600)
    log = tmp_path / "worker.log"
    with run_devnet(block_time_s=0.2, solidify_depth=2) as devnet:
        await mint(devnet.url, RECEIVER, trx_sun=TRX)
        await _prepare(maker, devnet, case)
        before = await _of_type(devnet, case.contract)
        op_id = await _queue(maker, THE_OPERATION[case.kind])

        crashing = _spawn(_worker_env(db_url, devnet.url, key_file, crash=True), log)
        try:
            code = await asyncio.to_thread(crashing.wait, 90)
        finally:
            if crashing.poll() is None:
                crashing.kill()
                crashing.wait(10)
        assert code == -signal.SIGKILL, log.read_text()[-3000:]
        signed = await _load(maker, op_id)
        assert signed.status == "signed"  # committed, then killed: nothing was sent
        assert signed.txid is not None
        await asyncio.sleep(1.0)  # a few blocks: the chain has not heard of it
        assert await _of_type(devnet, case.contract) == before

        fresh = _spawn(_worker_env(db_url, devnet.url, key_file, crash=False), log)
        try:
            done = await _wait_final(maker, op_id, timeout_s=90)
            fresh.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(fresh.wait, 30) == 0
        finally:
            if fresh.poll() is None:
                fresh.kill()
                fresh.wait(10)
        assert done.status == "finalized", (done.status, done.error, log.read_text()[-3000:])
        assert done.txid == signed.txid  # the committed bytes, not a new signature
        assert done.attempts == 1
        after = await _of_type(devnet, case.contract)
        assert after == [*before, signed.txid]  # exactly one transaction of that type
