"""The errors of the payouts domain (each with its stable ``code``, HTTP status and title)."""

from __future__ import annotations

from tronpay.errors import Conflict, Forbidden, NotFound, TronpayError, ValidationFailed
from tronpay.payouts.states import InvalidTransition


class PayoutNotFound(NotFound):
    code = "payout_not_found"
    title = "No such payout"


class DuplicateReference(Conflict):
    code = "duplicate_reference"
    title = "A payout with this reference already exists"


class RecipientIsHotWallet(ValidationFailed):
    code = "recipient_is_hot_wallet"
    title = "The hot wallet cannot pay itself"


class RecipientIsZeroAddress(ValidationFailed):
    code = "recipient_is_zero_address"
    title = "The zero address cannot receive a payout (it would be burned)"


class RecipientIsTokenContract(ValidationFailed):
    code = "recipient_is_token_contract"
    title = "The token contract cannot receive its own tokens (they would be lost)"


class RecipientIsContract(ValidationFailed):
    code = "recipient_is_contract"
    title = "A smart contract cannot receive TRX"


class ApproverIsCreator(Forbidden):
    code = "approver_is_creator"
    title = "The creator of a payout cannot approve it"


class ApproverFromOtherTenant(Forbidden):
    code = "approver_other_tenant"
    title = "Only a subject of the payout's own tenant can approve it"


class ApproverIsRetrier(Forbidden):
    code = "approver_is_retrier"
    title = "Whoever retried a payout cannot approve the retry"


class NotPendingApproval(InvalidTransition):
    code = "not_pending_approval"
    title = "The payout is not waiting for approval"


class NotCancellable(InvalidTransition):
    code = "not_cancellable"
    title = "The payout can no longer be cancelled"


class NotRetryable(InvalidTransition):
    code = "not_retryable"
    title = "Only a failed payout can be retried"


class QuoteUnavailable(TronpayError):
    code = "quote_unavailable"
    status = 409
    title = "The payout cannot be quoted now"
