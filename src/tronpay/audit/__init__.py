"""Append-only, hash-chained audit log.

Public names: ``record``, ``record_many``, ``AuditRecord``, ``AuditAppend``, ``verify_chain``,
``ChainVerification``, ``chain_head``; the router is ``tronpay.audit.endpoints.router``.
"""

from tronpay.audit.service import (
    AuditAppend,
    AuditRecord,
    ChainVerification,
    record,
    record_many,
    verify_chain,
)
from tronpay.audit.service import head as chain_head

__all__ = [
    "AuditAppend",
    "AuditRecord",
    "ChainVerification",
    "chain_head",
    "record",
    "record_many",
    "verify_chain",
]
