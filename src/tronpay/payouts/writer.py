"""Group commit for ``POST /v1/payouts``: one writer task per process, many creates per commit.

(Longer than our ~600-line guide on purpose: the steps below are one transaction whose
fallbacks share its state; split across modules, the ordering that keeps replicas from
deadlocking would no longer be readable in one place.)

The request handler validates and decides everything it can without the database (body,
address, amount, hot wallet, request hash, the payout row and its 201 response) and hands a
``CreateIntent`` to ``PayoutWriter.submit``. ONE writer task drains the queue: it takes
whatever has arrived (up to ``max_group`` intents) and writes them in ONE write transaction:

1. idempotency: keys repeated inside the group are folded onto their first request (same
   body: the later ones replay its answer; different body: ``idempotency_key_reused``);
   then every key is claimed with ONE ``INSERT ... ON CONFLICT DO NOTHING RETURNING``: a
   key not returned was claimed by a committed request and is looked up (replay, or
   ``idempotency_key_reused``); on PostgreSQL a key another open transaction is claiming
   waits for it to end (keys go in key order, so two groups never wait in a cycle);
2. the payout rows, likewise with ONE ``INSERT ... ON CONFLICT DO NOTHING RETURNING id``:
   a row not inserted used a reference that is taken (``duplicate_reference``; references
   repeated inside the group are refused before) and its key claim is released again. Key
   and reference index entries are taken BEFORE the policy lock (the lock order of the
   one-at-a-time path: key and reference indexes, then the policy's asset locks, then the
   audit chain head, so no two paths wait on each other in a cycle);
3. the policy for the whole group, under one lock per asset (``check_and_reserve_many``);
   refused items have their claim and row deleted again in the same transaction; items
   whose destination's rolling sum reached its approval threshold become
   ``pending_approval`` (the row, the stored replay, the event and the answer);
4. outbox events (executemany) and the audit entries (``record_many``: one head lock);
5. commit, then every request gets its own answer (201, replay, or its 4xx error).

In the common case (new keys, free references) a group costs BEGIN, two inserts, the policy
lock and reservations, the outbox, the audit entries and COMMIT, whatever its size.

Per-item refusals are decided in Python, so one bad item never fails its neighbours. A
database error in the group (a deadlock between two replicas claiming the same keys in
another order, a lost connection) rolls the whole group back, and its items are written one
at a time through ``create_one`` (the claim-first path, ``write_one``). Nothing is
answered before its commit. A request whose client goes away is still written or not as a
whole (the handler awaits a shielded future); a retry with the same key replays it.
``stop`` drains the queue, then ends the task; after that (and before ``start``) ``submit``
writes one at a time in the caller's task.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tronpay.api import idempotency
from tronpay.api.idempotency import IdempotencyInProgress, IdempotencyKeyReused, StoredResponse
from tronpay.audit import AuditRecord, record_many
from tronpay.audit import record as audit_record
from tronpay.db.session import write_transaction
from tronpay.errors import TronpayError
from tronpay.kit.clock import utcnow
from tronpay.observability import metrics
from tronpay.payouts import repository
from tronpay.payouts.errors import DuplicateReference
from tronpay.payouts.events import emit, emit_many, outbox_row
from tronpay.payouts.states import Actor, PayoutStatus
from tronpay.policy import PolicyDecision, PolicyService, ReservationRequest

log = structlog.get_logger(__name__)

OPERATION: Final = "payouts.create"
DEFAULT_MAX_GROUP: Final = 256
DEFAULT_LINGER_S: Final = 0.002


@dataclass(frozen=True, slots=True)
class PreparedPayout:
    """A create request decided in full before anything is written (``prepare_payout``).

    ``row``: every column of the new ``payouts`` row (for a Core insert); ``body``: the 201
    response (``PayoutOut`` as JSON, built without pydantic on the hot path); ``snapshot``:
    what the outbox event and the audit entry carry (``row_snapshot``'s shape).
    """

    row: dict[str, Any]
    body: dict[str, Any]
    snapshot: dict[str, Any]

    @property
    def id(self) -> str:
        payout_id: str = self.row["id"]
        return payout_id

    def pending_approval(self) -> PreparedPayout:
        """This payout as one that waits for approval: the policy check found that the
        destination's rolling sum reaches its approval threshold, which ``prepare_payout``
        could not know before the totals were read. Only the status differs."""
        pending = PayoutStatus.PENDING_APPROVAL.value
        return PreparedPayout(
            row={**self.row, "status": pending},
            body={**self.body, "status": pending},
            snapshot={**self.snapshot, "status": pending},
        )


@dataclass(frozen=True, slots=True)
class CreateIntent:
    """One validated create request, ready to be written (its key is ``tenant``'s and
    ``subject``'s)."""

    tenant: str
    subject: str
    key: str
    fingerprint: str
    payout: PreparedPayout
    actor: Actor
    now: datetime


@dataclass(frozen=True, slots=True)
class CreateOutcome:
    """The answer to one create request: the response, or the error to raise."""

    status: int = 201
    body: dict[str, Any] | None = None
    replayed: bool = False
    error: TronpayError | None = None
    failure: BaseException | None = None

    @classmethod
    def refused(cls, error: TronpayError) -> CreateOutcome:
        return cls(status=error.status, error=error)

    @classmethod
    def replay(cls, stored: StoredResponse) -> CreateOutcome:
        return cls(status=stored.status, body=stored.body, replayed=True)

    def as_replay(self) -> CreateOutcome:
        """What a repeated request with the same key and body gets."""
        if self.error is not None or self.failure is not None:
            return self
        return CreateOutcome(status=self.status, body=self.body, replayed=True)


async def write_one(
    session: AsyncSession,
    policy: PolicyService,
    prepared: PreparedPayout,
    *,
    actor: Actor,
    now: datetime,
) -> PreparedPayout:
    """Write one prepared payout in the caller's transaction: row, outbox event, policy
    reservation and audit entry. Raises ``DuplicateReference`` or a ``PolicyViolation`` (the
    caller rolls back). Returns what was written: ``prepared``, or ``prepared`` as
    ``pending_approval`` when the destination's rolling sum reached its approval threshold
    (the row is switched in this transaction, before anything else saw it)."""
    row = prepared.row
    await repository.add(session, row)
    # The two serializing steps (the policy's per-asset lock, the audit chain head) come
    # last, so the locks are held for as short a time as possible before the commit.
    decision = await policy.check_and_reserve(
        session,
        payout_id=prepared.id,
        asset=row["asset"],
        destination=row["to_address"],
        amount=row["amount"],
        now=now,
    )
    pending = row["status"] == PayoutStatus.PENDING_APPROVAL.value
    if pending and not decision.needs_approval:
        raise RuntimeError("policy decision disagrees with its approval threshold")
    if decision.needs_approval and not pending:
        await repository.mark_pending_approval(session, [prepared.id])
        prepared = prepared.pending_approval()
        row = prepared.row
    await emit(
        session, topic="payout.created", entity_id=prepared.id, data=prepared.snapshot, now=now
    )
    await audit_record(
        session,
        action="payout.create",
        principal=actor.principal,
        request_id=actor.request_id,
        entity_type="payout",
        entity_id=prepared.id,
        before=None,
        after=prepared.snapshot,
        tenant=row["tenant"],
    )
    log.info("payout.created", payout_id=prepared.id, status=row["status"], asset=row["asset"])
    return prepared


async def create_one(
    sessionmaker: async_sessionmaker[AsyncSession], policy: PolicyService, intent: CreateIntent
) -> CreateOutcome:
    """Write one intent in its own transaction (claim first, then the work)."""
    try:
        async with write_transaction(sessionmaker) as session:
            stored = await idempotency.claim(
                session,
                tenant=intent.tenant,
                subject=intent.subject,
                key=intent.key,
                operation=OPERATION,
                fingerprint=intent.fingerprint,
                now=intent.now,
                response=StoredResponse(status=201, body=intent.payout.body),
            )
            if stored is not None:
                return CreateOutcome.replay(stored)
            written = await write_one(
                session, policy, intent.payout, actor=intent.actor, now=intent.now
            )
            if written is not intent.payout:  # sent for approval by the policy check
                await idempotency.store_response(
                    session,
                    tenant=intent.tenant,
                    subject=intent.subject,
                    key=intent.key,
                    status=201,
                    body=written.body,
                )
    except TronpayError as error:
        return CreateOutcome.refused(error)
    metrics.payouts_created(written.row["asset"])
    return CreateOutcome(status=201, body=written.body)


_Pending = tuple[CreateIntent, "asyncio.Future[CreateOutcome]"]


class PayoutWriter:
    """The group-commit writer of one process (see the module docstring)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        policy: PolicyService,
        *,
        max_group: int = DEFAULT_MAX_GROUP,
        linger_s: float = DEFAULT_LINGER_S,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._policy = policy
        self._max_group = max_group
        self._linger_s = linger_s
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._accepting = False
        self.groups_written = 0
        self.groups_retried = 0

    @property
    def running(self) -> bool:
        return self._accepting and self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the writer task on the running loop (the app lifespan calls this)."""
        if self._task is not None and not self._task.done():
            return
        self._queue = asyncio.Queue()
        self._accepting = True
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="tronpay.payouts.writer"
        )
        log.info("payouts.writer.started", max_group=self._max_group)

    async def stop(self) -> None:
        """Stop accepting, write everything already queued, then end the task."""
        task = self._task
        if task is None:
            return
        self._accepting = False
        self._queue.put_nowait(None)
        await task
        self._task = None
        log.info("payouts.writer.stopped", groups=self.groups_written)

    async def submit(self, intent: CreateIntent) -> CreateOutcome:
        """Queue ``intent`` and wait for its committed answer."""
        if not self.running:
            return await create_one(self._sessionmaker, self._policy, intent)
        future: asyncio.Future[CreateOutcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((intent, future))
        # Shielded: a caller that goes away does not cancel the write of its intent.
        return await asyncio.shield(future)

    # --- the writer task --------------------------------------------------------------------

    def _drain_into(self, group: list[_Pending]) -> bool:
        """Move queued intents into ``group`` (up to the maximum); True when told to stop."""
        while len(group) < self._max_group:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return False
            if item is None:
                return True
            group.append(item)
        return False

    async def _run(self) -> None:
        group: list[_Pending] = []
        try:
            while True:
                first = await self._queue.get()
                if first is None:
                    return
                group = [first]
                stopping = self._drain_into(group)
                if not stopping and self._linger_s > 0 and len(group) < self._max_group:
                    await asyncio.sleep(self._linger_s)
                    stopping = self._drain_into(group)
                await self._write(group)
                group = []
                if stopping:
                    # Everything submitted before ``stop`` was queued before its marker.
                    return
        finally:
            # Only reached with work left when the task is cancelled: never leave a request
            # waiting forever (its transaction, if any, was rolled back).
            self._accepting = False
            leftover = list(group)
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is not None:
                    leftover.append(item)
            for _, future in leftover:
                if not future.done():
                    future.set_result(
                        CreateOutcome(status=500, failure=RuntimeError("payout writer stopped"))
                    )

    async def _write(self, group: list[_Pending]) -> None:
        intents = [intent for intent, _ in group]
        try:
            outcomes = await self._write_group(intents)
        except DBAPIError as exc:
            # Another transaction took a key or reference meanwhile (or a deadlock): the group
            # was rolled back; write its items one at a time through the claim-first path.
            log.warning(
                "payouts.writer.group_retry",
                size=len(intents),
                error_type=type(exc.orig).__name__ if exc.orig is not None else "DBAPIError",
            )
            self.groups_retried += 1
            outcomes = [await self._one_safely(intent) for intent in intents]
        except Exception as exc:
            log.error(
                "payouts.writer.group_failed", size=len(intents), error_type=type(exc).__name__
            )
            outcomes = [CreateOutcome(status=500, failure=exc) for _ in intents]
        self.groups_written += 1
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)

    async def _one_safely(self, intent: CreateIntent) -> CreateOutcome:
        try:
            return await create_one(self._sessionmaker, self._policy, intent)
        except Exception as exc:
            return CreateOutcome(status=500, failure=exc)

    async def _write_group(self, intents: list[CreateIntent]) -> list[CreateOutcome]:
        outcomes: list[CreateOutcome | None] = [None] * len(intents)
        # 1a. keys repeated inside the group fold onto their first request.
        leaders: dict[tuple[str, str, str], int] = {}
        followers: list[tuple[int, int]] = []
        for index, intent in enumerate(intents):
            leader = leaders.setdefault((intent.tenant, intent.subject, intent.key), index)
            if leader == index:
                continue
            if intents[leader].fingerprint == intent.fingerprint:
                followers.append((index, leader))
            else:
                outcomes[index] = CreateOutcome.refused(
                    IdempotencyKeyReused(
                        "this Idempotency-Key was used for a different request; use a new key"
                    )
                )
        async with write_transaction(self._sessionmaker) as session:
            connection = await session.connection()
            # 1b. claim every key; keys claimed before get their replay or error.
            live = await self._claim(connection, intents, sorted(leaders.values()), outcomes)
            # 2. the payout rows; a reference used before (or earlier in the group) is refused.
            live = await self._insert_payouts(connection, intents, live, outcomes)
            if live:
                # 3. the policy for the whole group.
                live = await self._reserve(session, intents, live, outcomes)
                # 4. outbox events and audit entries for what was accepted.
                if live:
                    await emit_many(
                        session,
                        (
                            outbox_row(
                                "payout.created",
                                intents[i].payout.id,
                                intents[i].payout.snapshot,
                                intents[i].now,
                            )
                            for i in live
                        ),
                    )
                    await record_many(
                        session,
                        [
                            AuditRecord(
                                action="payout.create",
                                principal=intents[i].actor.principal,
                                request_id=intents[i].actor.request_id,
                                entity_type="payout",
                                entity_id=intents[i].payout.id,
                                after=intents[i].payout.snapshot,
                                tenant=intents[i].tenant,
                            )
                            for i in live
                        ],
                        now=utcnow(),
                    )
        # 5. committed: answer.
        created: dict[str, int] = {}
        for index in live:
            outcomes[index] = CreateOutcome(status=201, body=intents[index].payout.body)
            asset = intents[index].payout.row["asset"]
            created[asset] = created.get(asset, 0) + 1
        for asset, count in created.items():
            metrics.payouts_created(asset, count)
        for index, leader in followers:
            answer = outcomes[leader]
            if answer is not None:
                outcomes[index] = answer.as_replay()
        if live:
            log.info("payouts.writer.group", size=len(intents), created=len(live))
        return [
            outcome if outcome is not None else CreateOutcome(status=500, failure=RuntimeError())
            for outcome in outcomes
        ]

    @staticmethod
    def _claim_row(intent: CreateIntent) -> dict[str, Any]:
        return {
            "tenant": intent.tenant,
            "subject": intent.subject,
            "key": intent.key,
            "operation": OPERATION,
            "request_hash": intent.fingerprint,
            "response_status": 201,
            "response_body": intent.payout.body,
            "created_at": intent.now,
        }

    async def _claim(
        self,
        connection: Any,
        intents: list[CreateIntent],
        leaders: list[int],
        outcomes: list[CreateOutcome | None],
    ) -> list[int]:
        """Claim the keys of ``leaders``; return those claimed. The others were claimed by
        committed requests: they get that request's replay or an error."""
        # In key order: two replicas claiming the same keys wait for each other in one
        # order only, never in a cycle (a deadlock would fail both groups).
        rows = sorted((self._claim_row(intents[i]) for i in leaders), key=_claim_order)
        claimed = await idempotency.claim_many(connection, rows)
        live = [i for i in leaders if _key_of(intents[i]) in claimed]
        taken = [i for i in leaders if _key_of(intents[i]) not in claimed]
        by_subject: dict[tuple[str, str], list[int]] = {}
        for index in taken:
            by_subject.setdefault((intents[index].tenant, intents[index].subject), []).append(index)
        for (tenant, subject), indexes in by_subject.items():
            records = await idempotency.lookup_many(
                connection, tenant, subject, [intents[i].key for i in indexes]
            )
            for index in indexes:
                record = records.get(intents[index].key)
                if record is None:  # claimed and dropped again meanwhile: let the client retry
                    outcomes[index] = CreateOutcome.refused(
                        IdempotencyInProgress("retry in a moment")
                    )
                    continue
                try:
                    stored = idempotency.resolve(
                        record, operation=OPERATION, fingerprint=intents[index].fingerprint
                    )
                except TronpayError as error:
                    outcomes[index] = CreateOutcome.refused(error)
                else:
                    outcomes[index] = CreateOutcome.replay(stored)
        return live

    async def _insert_payouts(
        self,
        connection: Any,
        intents: list[CreateIntent],
        live: list[int],
        outcomes: list[CreateOutcome | None],
    ) -> list[int]:
        """Insert the payout rows of ``live``; return those inserted. A reference repeated
        in the group or used by a committed payout is refused, and its key released."""
        first: list[int] = []
        refused: list[int] = []
        seen: set[tuple[str, str]] = set()
        for index in live:
            row = intents[index].payout.row
            if row["reference"] is not None:
                pair = (row["tenant"], row["reference"])
                if pair in seen:
                    refused.append(index)
                    continue
                seen.add(pair)
            first.append(index)
        rows = sorted((intents[i].payout.row for i in first), key=_reference_order)
        inserted = await repository.add_new(connection, rows)
        kept: list[int] = []
        for index in first:
            if intents[index].payout.id in inserted:
                kept.append(index)
            else:
                refused.append(index)
        for index in refused:
            reference = intents[index].payout.row["reference"]
            if reference is None:  # only a reference can conflict: ids are random
                outcomes[index] = CreateOutcome(
                    status=500, failure=RuntimeError("payout id collision")
                )
                continue
            outcomes[index] = CreateOutcome.refused(
                DuplicateReference(f"reference {reference!r} is already used")
            )
        await self._release(connection, intents, refused)
        return kept

    @staticmethod
    async def _release(connection: Any, intents: list[CreateIntent], indexes: list[int]) -> None:
        """Drop the key claims of refused items (errors are not stored for replay)."""
        by_subject: dict[tuple[str, str], list[str]] = {}
        for index in indexes:
            intent = intents[index]
            by_subject.setdefault((intent.tenant, intent.subject), []).append(intent.key)
        for (tenant, subject), keys in by_subject.items():
            await idempotency.release_many(connection, tenant, subject, keys)

    async def _reserve(
        self,
        session: AsyncSession,
        intents: list[CreateIntent],
        live: list[int],
        outcomes: list[CreateOutcome | None],
    ) -> list[int]:
        decisions = await self._policy.check_and_reserve_many(
            session,
            [
                ReservationRequest(
                    payout_id=intents[i].payout.id,
                    asset=intents[i].payout.row["asset"],
                    destination=intents[i].payout.row["to_address"],
                    amount=intents[i].payout.row["amount"],
                )
                for i in live
            ],
            now=utcnow(),
            new_payouts=True,
        )
        accepted: list[int] = []
        refused: list[int] = []
        to_approve: list[int] = []
        for index, decision in zip(live, decisions, strict=True):
            if isinstance(decision, PolicyDecision):
                pending = intents[index].payout.row["status"] == PayoutStatus.PENDING_APPROVAL
                if pending and not decision.needs_approval:
                    raise RuntimeError("policy decision disagrees with its approval threshold")
                if decision.needs_approval and not pending:
                    to_approve.append(index)
                accepted.append(index)
            else:
                outcomes[index] = CreateOutcome.refused(decision)
                refused.append(index)
        if to_approve:
            # The destination's rolling sum reached its approval threshold: the row, the
            # stored replay, the event and the answer all say pending_approval.
            await repository.mark_pending_approval(
                session, [intents[index].payout.id for index in to_approve]
            )
            for index in to_approve:
                intent = intents[index]
                intents[index] = replace(intent, payout=intent.payout.pending_approval())
                await idempotency.store_response(
                    session,
                    tenant=intent.tenant,
                    subject=intent.subject,
                    key=intent.key,
                    status=201,
                    body=intents[index].payout.body,
                )
        if refused:
            connection = await session.connection()
            await self._release(connection, intents, refused)
            await repository.drop_new(connection, [intents[index].payout.id for index in refused])
        return accepted


def _key_of(intent: CreateIntent) -> tuple[str, str, str]:
    return intent.tenant, intent.subject, intent.key


def _claim_order(row: dict[str, Any]) -> tuple[str, str, str]:
    return row["tenant"], row["subject"], row["key"]


def _reference_order(row: dict[str, Any]) -> tuple[str, str]:
    return row["tenant"], row["reference"] or ""


def respond_headers(outcome: CreateOutcome) -> dict[str, str]:
    """Headers of a successful create answer (``Location``; replay marker)."""
    body = outcome.body or {}
    if outcome.replayed:
        return idempotency.replay_headers(StoredResponse(status=outcome.status, body=body))
    return {"Location": f"/v1/payouts/{body.get('id')}"}


__all__ = [
    "CreateIntent",
    "CreateOutcome",
    "PayoutWriter",
    "PreparedPayout",
    "create_one",
    "respond_headers",
    "write_one",
]
