"""The engine's database operations. They only flush; the engine's step wrapper owns the
transaction (commit or roll back). Every payout state change goes through
``tronpay.payouts.states.transition`` (audit + outbox in the same transaction).

On PostgreSQL rows are locked (``FOR UPDATE``; ``SKIP LOCKED`` when claiming) so several
engines can share one database; on SQLite one engine runs and the single writer serializes.

Callers use the package (``from tronpay.engine import repository as repo``); the modules:

- ``_common``: the tables, ``ENGINE_ACTOR``, ``LIVE``, chunking, row reads for update;
- ``claims``: claim queued payouts, live reservations, block/fail, persist signed attempts;
- ``attempts``: live attempts, broadcast marks, node refusals, expiry of a dead attempt;
- ``receipts``: receipts (one and bulk), provisional failures, their settlement, orphans;
- ``finality``: finalize, an orphaned confirmation, finalized payouts for reconciliation.
"""

from tronpay.engine.repository._common import (
    BUG_PREFIX,
    DEAD_PREFIX,
    ENGINE_ACTOR,
    LIVE,
    OUT_OF_ENERGY,
    REJECTED_PREFIX,
)
from tronpay.engine.repository.attempts import (
    ExpiredAttempt,
    LiveAttempt,
    attempt_statuses,
    expire_attempt,
    live_attempts,
    live_txids,
    mark_broadcast,
    note_attempt_errors,
    recently_expired,
)
from tronpay.engine.repository.claims import (
    ClaimedPayout,
    block_payouts,
    claim_queued,
    fail_payouts,
    next_queued_recipients,
    persist_signed,
    reserved_by_live_attempts,
)
from tronpay.engine.repository.finality import (
    ConfirmedPayout,
    FinalizedPayout,
    confirmed_up_to,
    finalize,
    finalize_many,
    finalized_since,
    orphan_recovery_enabled,
    unconfirm_orphaned,
)
from tronpay.engine.repository.receipts import (
    ProvisionalFailure,
    ReceiptResult,
    alarm_expired_included,
    apply_receipt,
    apply_receipts_bulk,
    failure_recovery_enabled,
    failures_up_to,
    settle_failure,
    unfail_orphaned,
)

# Reached through this package by tests (``repo.transition``, ``repo.PayoutStatus``), as they
# were through the single module.
from tronpay.payouts.states import PayoutStatus, transition

__all__ = [
    "BUG_PREFIX",
    "DEAD_PREFIX",
    "ENGINE_ACTOR",
    "LIVE",
    "OUT_OF_ENERGY",
    "REJECTED_PREFIX",
    "ClaimedPayout",
    "ConfirmedPayout",
    "ExpiredAttempt",
    "FinalizedPayout",
    "LiveAttempt",
    "PayoutStatus",
    "ProvisionalFailure",
    "ReceiptResult",
    "alarm_expired_included",
    "apply_receipt",
    "apply_receipts_bulk",
    "attempt_statuses",
    "block_payouts",
    "claim_queued",
    "confirmed_up_to",
    "expire_attempt",
    "fail_payouts",
    "failure_recovery_enabled",
    "failures_up_to",
    "finalize",
    "finalize_many",
    "finalized_since",
    "live_attempts",
    "live_txids",
    "mark_broadcast",
    "next_queued_recipients",
    "note_attempt_errors",
    "orphan_recovery_enabled",
    "persist_signed",
    "recently_expired",
    "reserved_by_live_attempts",
    "settle_failure",
    "transition",
    "unconfirm_orphaned",
    "unfail_orphaned",
]
