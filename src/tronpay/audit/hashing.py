"""Canonical form and hash of an audit entry.

hash = sha256(prev_hash_hex_ascii || canonical_json(entry)), where the canonical JSON holds
``seq``, ``created_at`` (UTC, microseconds, ``Z``), ``principal``, ``request_id``, ``action``,
``entity_type``, ``entity_id``, ``before`` and ``after`` (and ``tenant`` when it is not
``default``, so entries written before tenants existed keep their hashes), with sorted keys,
no whitespace and ASCII-only escapes. Including ``seq`` makes a reordering visible.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from tronpay.kit.clock import as_utc
from tronpay.kit.tenants import DEFAULT_TENANT


@functools.lru_cache(maxsize=256)
def format_timestamp(moment: datetime) -> str:
    # Cached: a batch writes thousands of entries with one timestamp (strftime is the
    # slowest step of hashing a small entry).
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"audit values must be JSON data, not {type(value).__name__}")


_PLAIN: frozenset[type] = frozenset({str, int, bool, type(None)})


def normalize(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A JSON-safe copy of ``data`` (datetimes, decimals, UUIDs, enums made plain)."""
    if data is None:
        return None
    if all(type(k) is str and type(v) in _PLAIN for k, v in data.items()):
        # Flat and already plain (a payout snapshot): the JSON round trip would be a copy.
        return dict(data)
    result: dict[str, Any] = json.loads(
        json.dumps(data, default=_json_default, allow_nan=False, ensure_ascii=False)
    )
    return result


def canonical_json(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    created_at: datetime,
    principal: str,
    request_id: str | None,
    action: str,
    entity_type: str,
    entity_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    tenant: str = DEFAULT_TENANT,
) -> str:
    fields: dict[str, Any] = {
        "seq": seq,
        "created_at": format_timestamp(created_at),
        "principal": principal,
        "request_id": request_id,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": before,
        "after": after,
    }
    if tenant != DEFAULT_TENANT:
        fields["tenant"] = tenant
    body = canonical_json(fields)
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(body)
    return digest.hexdigest()
