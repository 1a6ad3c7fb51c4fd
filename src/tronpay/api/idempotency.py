"""Idempotency keys: the first response to ``(tenant, subject, Idempotency-Key)`` is stored in
the same transaction as the work it describes; a later request with the same key and the same body
gets that response again (``Idempotent-Replayed: true``), with a different body a 422
``idempotency_key_reused``.

The key is claimed first with ``INSERT ... ON CONFLICT DO NOTHING``: on PostgreSQL a
concurrent request with the same key waits on the unique index until the first commits (then
replays) or rolls back (then does the work itself); on SQLite writers are serialized. Errors
(4xx) are not stored: the transaction that would store them rolls back, so a corrected retry
with the same key is allowed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tronpay.api.models import IdempotencyRecord
from tronpay.db.session import insert_new, one_of
from tronpay.errors import Conflict, ValidationFailed
from tronpay.kit import jsontext
from tronpay.kit.chunking import chunked

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
_KEY_RE: Final = re.compile(r"^[\x21-\x7e]{1,255}$")
IDEMPOTENCY_TABLE: Table = IdempotencyRecord.__table__  # type: ignore[assignment]


class IdempotencyKeyMissing(ValidationFailed):
    code = "idempotency_key_missing"
    title = "The Idempotency-Key header is required"


class IdempotencyKeyInvalid(ValidationFailed):
    code = "idempotency_key_invalid"
    title = "The Idempotency-Key header is not valid"


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency_key_reused"
    title = "The Idempotency-Key was already used with a different request"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    title = "A request with this Idempotency-Key is still being processed"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What is stored for a key: its request and (once committed) its response."""

    operation: str
    request_hash: str
    stored: StoredResponse | None


_LOOKUP_COLUMNS = (
    IDEMPOTENCY_TABLE.c.key,
    IDEMPOTENCY_TABLE.c.operation,
    IDEMPOTENCY_TABLE.c.request_hash,
    IDEMPOTENCY_TABLE.c.response_status,
    IDEMPOTENCY_TABLE.c.response_body,
)


def replay_headers(stored: StoredResponse) -> dict[str, str]:
    """Headers of a replayed response (``Location`` for a replayed 201 with an ``id``)."""
    headers = {REPLAYED_HEADER: "true"}
    if stored.status == 201 and isinstance(stored.body.get("id"), str):
        headers["Location"] = f"/v1/payouts/{stored.body['id']}"
    return headers


def resolve(record: KeyRecord, *, operation: str, fingerprint: str) -> StoredResponse:
    """The stored response for a request whose key is already taken, or the error it gets."""
    if record.request_hash != fingerprint or record.operation != operation:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for a different request; use a new key"
        )
    if record.stored is None:
        raise IdempotencyInProgress("retry in a moment")
    return record.stored


async def lookup_many(
    connection: AsyncConnection, tenant: str, subject: str, keys: list[str]
) -> dict[str, KeyRecord]:
    """The committed records of ``subject`` in ``tenant`` for ``keys`` (one query per 500)."""
    found: dict[str, KeyRecord] = {}
    for chunk in chunked(keys):
        stmt = select(*_LOOKUP_COLUMNS).where(
            IDEMPOTENCY_TABLE.c.tenant == tenant,
            IDEMPOTENCY_TABLE.c.subject == subject,
            one_of(IDEMPOTENCY_TABLE.c.key, chunk, connection.dialect.name),
        )
        result = await connection.execute(stmt)
        for row in result:
            stored = (
                None
                if row.response_status is None or row.response_body is None
                else StoredResponse(status=row.response_status, body=row.response_body)
            )
            found[row.key] = KeyRecord(
                operation=row.operation, request_hash=row.request_hash, stored=stored
            )
    return found


async def claim_many(
    connection: AsyncConnection, rows: list[dict[str, Any]]
) -> set[tuple[str, str, str]]:
    """Claim many keys at once, each row with its response; return the ``(tenant, subject,
    key)`` triples claimed. A key claimed before is skipped (look it up with ``lookup_many``); one
    another open transaction is claiming waits for that transaction to end."""
    claimed = await insert_new(connection, IDEMPOTENCY_TABLE, rows, ["tenant", "subject", "key"])
    return {(str(tenant), str(subject), str(key)) for tenant, subject, key in claimed}


async def release_many(
    connection: AsyncConnection, tenant: str, subject: str, keys: list[str]
) -> None:
    """Drop claims made in this transaction whose work was refused (errors are not stored)."""
    table = IDEMPOTENCY_TABLE
    for chunk in chunked(keys):
        await connection.execute(
            table.delete().where(
                table.c.tenant == tenant,
                table.c.subject == subject,
                one_of(table.c.key, chunk, connection.dialect.name),
            )
        )


def check_key(key: str | None, *, required: bool) -> str | None:
    if key is None or key == "":
        if required:
            raise IdempotencyKeyMissing("send an Idempotency-Key header (e.g. a UUID)")
        return None
    if not _KEY_RE.fullmatch(key):  # fullmatch: "$" also matches before a final newline
        raise IdempotencyKeyInvalid("the key must be 1-255 printable ASCII characters")
    return key


def request_hash(operation: str, payload: Any) -> str:
    """The fingerprint of a request: SHA-256 of ``[operation, payload]`` as sorted, compact
    JSON (stored with the key: the same bytes in every release, see ``kit/jsontext``)."""
    return hashlib.sha256(jsontext.canonical_bytes([operation, payload])).hexdigest()


async def claim(
    session: AsyncSession,
    *,
    tenant: str,
    subject: str,
    key: str,
    operation: str,
    fingerprint: str,
    now: datetime,
    response: StoredResponse | None = None,
) -> StoredResponse | None:
    """Claim the key for this request (``None``: go ahead) or return the stored response.

    When the response is known before the work is done (``response``), it is stored with the
    claim and ``store_response`` is not needed; it only becomes visible with the commit.
    """
    values: dict[str, Any] = {
        "tenant": tenant,
        "subject": subject,
        "key": key,
        "operation": operation,
        "request_hash": fingerprint,
        "created_at": now,
    }
    if response is not None:
        values["response_status"] = response.status
        values["response_body"] = response.body
    connection = await session.connection()
    table = IDEMPOTENCY_TABLE
    if connection.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(table).values(values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(table).values(values).on_conflict_do_nothing()
    result = await connection.execute(stmt.returning(table.c.id))
    if result.first() is not None:
        return None
    record = (
        await connection.execute(
            select(
                table.c.operation,
                table.c.request_hash,
                table.c.response_status,
                table.c.response_body,
            ).where(table.c.tenant == tenant, table.c.subject == subject, table.c.key == key)
        )
    ).one()
    stored = (
        None
        if record.response_status is None or record.response_body is None
        else StoredResponse(status=record.response_status, body=record.response_body)
    )
    return resolve(
        KeyRecord(operation=record.operation, request_hash=record.request_hash, stored=stored),
        operation=operation,
        fingerprint=fingerprint,
    )


async def store_response(
    session: AsyncSession,
    *,
    tenant: str,
    subject: str,
    key: str,
    status: int,
    body: dict[str, Any],
) -> None:
    connection = await session.connection()
    table = IDEMPOTENCY_TABLE
    await connection.execute(
        update(table)
        .where(table.c.tenant == tenant, table.c.subject == subject, table.c.key == key)
        .values(response_status=status, response_body=body)
    )
