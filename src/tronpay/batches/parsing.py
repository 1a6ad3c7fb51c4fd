"""Turn a batch body (JSON items or CSV text) into validated rows, collecting EVERY error."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from tronpay.batches.schemas import CSV_COLUMNS, REQUIRED_CSV_COLUMNS, RowError
from tronpay.kit.money import MAX_BASE_UNITS, format_amount
from tronpay.payouts.schemas import PayoutCreate


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    items: list[PayoutCreate]
    rows: list[int]  # the row number of each item, for error messages
    errors: list[RowError]


def _pydantic_errors(row: int, exc: ValidationError) -> list[RowError]:
    out: list[RowError] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = error.get("loc", ())
        column = str(loc[0]) if loc else None
        ctx = error.get("ctx") or {}
        reason = ctx.get("reason") if isinstance(ctx.get("reason"), str) else None
        out.append(
            RowError(
                row=row,
                column=column,
                reason=f"invalid_address_{reason}" if reason else str(error.get("type")),
                message=str(error.get("msg")),
            )
        )
    return out


def _validate(raw_items: list[tuple[int, dict[str, Any]]], errors: list[RowError]) -> ParsedBatch:
    items: list[PayoutCreate] = []
    rows: list[int] = []
    seen: dict[str, int] = {}
    for row, raw in raw_items:
        try:
            item = PayoutCreate.model_validate(raw)
        except ValidationError as exc:
            errors.extend(_pydantic_errors(row, exc))
            continue
        if item.reference is not None:
            first = seen.setdefault(item.reference, row)
            if first != row:
                errors.append(
                    RowError(
                        row=row,
                        column="reference",
                        reason="duplicate_reference",
                        message=f"reference repeats row {first}",
                    )
                )
                continue
        items.append(item)
        rows.append(row)
    errors.extend(_total_errors(items))
    return ParsedBatch(items=items, rows=rows, errors=errors)


def _total_errors(items: list[PayoutCreate]) -> list[RowError]:
    """A batch's total per asset must fit the 64-bit amount column: its summary sums it."""
    totals: dict[str, int] = {}
    for item in items:
        totals[item.asset.value] = totals.get(item.asset.value, 0) + item.amount_units
    return [
        RowError(
            row=0,
            column="amount",
            reason="batch_total_too_large",
            message=f"the batch's {asset} total is larger than {format_amount(MAX_BASE_UNITS)}",
        )
        for asset, total in sorted(totals.items())
        if total > MAX_BASE_UNITS
    ]


def parse_json(body: bytes, *, max_rows: int) -> ParsedBatch:
    try:
        document = json.loads(body)
    except RecursionError:
        return ParsedBatch(
            [],
            [],
            [
                RowError(
                    row=0,
                    column=None,
                    reason="malformed_json",
                    message="the body is not JSON this API accepts: it is nested too deeply",
                )
            ],
        )
    except (ValueError, UnicodeDecodeError) as exc:
        return ParsedBatch(
            [],
            [],
            [
                RowError(
                    row=0,
                    column=None,
                    reason="malformed_json",
                    message=f"the body is not JSON: {exc}"[:200],
                )
            ],
        )
    if not isinstance(document, dict) or set(document) != {"items"}:
        return ParsedBatch(
            [],
            [],
            [
                RowError(
                    row=0,
                    column=None,
                    reason="invalid_document",
                    message='the body must be {"items": [...]}',
                )
            ],
        )
    raw = document["items"]
    if not isinstance(raw, list):
        return ParsedBatch(
            [],
            [],
            [
                RowError(
                    row=0, column="items", reason="invalid_document", message="items must be a list"
                )
            ],
        )
    errors: list[RowError] = []
    if not raw:
        errors.append(
            RowError(row=0, column="items", reason="batch_empty", message="the batch has no items")
        )
    if len(raw) > max_rows:
        errors.append(
            RowError(
                row=0,
                column="items",
                reason="batch_too_large",
                message=f"a batch holds at most {max_rows} items",
            )
        )
        return ParsedBatch([], [], errors)
    pairs: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            errors.append(
                RowError(
                    row=index,
                    column=None,
                    reason="invalid_item",
                    message="each item must be an object",
                )
            )
            continue
        pairs.append((index, item))
    return _validate(pairs, errors)


def parse_csv(body: bytes, *, max_rows: int) -> ParsedBatch:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ParsedBatch(
            [],
            [],
            [RowError(row=0, column=None, reason="malformed_csv", message="the CSV must be UTF-8")],
        )
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    errors: list[RowError] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        header = None
        errors.append(RowError(row=1, column=None, reason="malformed_csv", message=str(exc)))
    if header is None:
        if not errors:
            errors.append(
                RowError(
                    row=1,
                    column=None,
                    reason="missing_header",
                    message="the CSV needs a header row: " + ",".join(CSV_COLUMNS),
                )
            )
        return ParsedBatch([], [], errors)
    columns = [name.strip().lower() for name in header]
    for name in columns:
        if name not in CSV_COLUMNS:
            errors.append(
                RowError(
                    row=1,
                    column=name[:50],
                    reason="unknown_column",
                    message="allowed columns: " + ",".join(CSV_COLUMNS),
                )
            )
    for name in REQUIRED_CSV_COLUMNS:
        if name not in columns:
            errors.append(
                RowError(
                    row=1,
                    column=name,
                    reason="missing_column",
                    message=f"the header must include {name!r}",
                )
            )
    if len(set(columns)) != len(columns):
        errors.append(
            RowError(
                row=1,
                column=None,
                reason="duplicate_column",
                message="a column appears twice in the header",
            )
        )
    if errors:
        return ParsedBatch([], [], errors)
    pairs: list[tuple[int, dict[str, Any]]] = []
    count = 0
    try:
        for fields in reader:
            line = reader.line_num
            if not fields or all(not field.strip() for field in fields):
                continue
            count += 1
            if count > max_rows:
                return ParsedBatch(
                    [],
                    [],
                    [
                        RowError(
                            row=line,
                            column=None,
                            reason="batch_too_large",
                            message=f"a batch holds at most {max_rows} rows",
                        )
                    ],
                )
            if len(fields) != len(columns):
                errors.append(
                    RowError(
                        row=line,
                        column=None,
                        reason="wrong_field_count",
                        message=f"expected {len(columns)} fields, got {len(fields)}",
                    )
                )
                continue
            pairs.append((line, {c: v for c, v in zip(columns, fields, strict=True) if v != ""}))
    except csv.Error as exc:
        errors.append(
            RowError(row=reader.line_num, column=None, reason="malformed_csv", message=str(exc))
        )
        return ParsedBatch([], [], errors)
    if count == 0:
        errors.append(
            RowError(row=0, column=None, reason="batch_empty", message="the batch has no rows")
        )
    return _validate(pairs, errors)
