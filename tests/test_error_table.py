"""Every ``TronpayError`` subclass against the error tables in docs/api.md.

Each module under ``tronpay`` is imported, every subclass of ``TronpayError`` is collected
(recursively), and its ``(code, status, title)`` must be the row for its code; every row must
name a code that some error class raises. Classes that share a code (a base and a private
subclass) must therefore agree with the one row too.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic_core.core_schema import ErrorType

import tronpay
from tronpay.errors import TronpayError

API_DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
TABLE_HEADER = "| status | code | title | when |"
_ROW = re.compile(r"^\| (?P<status>\d{3}) \| `(?P<code>[a-z_]+)` \| (?P<title>[^|]+?) \| [^|]+ \|$")


@dataclass(frozen=True)
class Documented:
    code: str
    status: int
    title: str


def _subclasses(cls: type[TronpayError]) -> Iterator[type[TronpayError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def tronpay_errors() -> list[type[TronpayError]]:
    for module in pkgutil.walk_packages(tronpay.__path__, "tronpay."):
        importlib.import_module(module.name)
    found = {TronpayError, *_subclasses(TronpayError)}
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def table_rows(header: str) -> Iterator[str]:
    """The data rows of every table in docs/api.md whose header line is ``header``."""
    in_table = False
    for line in API_DOC.read_text().splitlines():
        if line == header:
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and not line.startswith("|---"):
            yield line


def documented_errors() -> dict[str, Documented]:
    """The rows of every ``status | code | title | when`` table in docs/api.md, by code."""
    rows: dict[str, Documented] = {}
    for line in table_rows(TABLE_HEADER):
        match = _ROW.match(line)
        assert match is not None, f"docs/api.md error row not in the table's form: {line}"
        code = match["code"]
        assert code not in rows, f"docs/api.md lists {code} twice"
        rows[code] = Documented(code, int(match["status"]), match["title"])
    return rows


def test_the_walk_finds_errors_of_every_kind() -> None:
    names = {cls.__qualname__ for cls in tronpay_errors()}
    # One from the root, the API layer, auth, a service, the pure packages and start-up.
    expected = {
        "TronpayError",
        "PayloadTooLarge",
        "InvalidToken",
        "PayoutNotFound",
        "DecodeError",
        "KeystoreError",
        "ConfigError",
    }
    assert expected <= names


def test_documented_rows_parse() -> None:
    rows = documented_errors()
    assert rows["internal_error"] == Documented("internal_error", 500, "Internal error")
    assert rows["missing_token"].status == 401


def test_every_error_matches_its_row_in_docs_api() -> None:
    rows = documented_errors()
    mismatches = []
    for cls in tronpay_errors():
        actual = Documented(cls.code, cls.status, cls.title)
        if rows.get(cls.code) != actual:
            mismatches.append(
                f"{cls.__module__}.{cls.__qualname__}: {actual} vs docs {rows.get(cls.code)}"
            )
    assert mismatches == []


def test_every_documented_code_is_an_error_class() -> None:
    raised = {cls.code for cls in tronpay_errors()}
    assert sorted(set(documented_errors()) - raised) == []


# -- validation error types (``errors[].type`` of a 422 validation_error) ------------------

VALIDATION_HEADER = "| type | when |"
_TYPE_ROW = re.compile(r"^\| `(?P<type>[a-z_]+)` \| [^|]+ \|$")
SRC = Path(tronpay.__file__).resolve().parent


def documented_validation_types() -> set[str]:
    """The rows of the Validation error types table in docs/api.md."""
    types: set[str] = set()
    for line in table_rows(VALIDATION_HEADER):
        match = _TYPE_ROW.match(line)
        assert match is not None, f"docs/api.md validation type row not in form: {line}"
        assert match["type"] not in types, f"docs/api.md lists {match['type']} twice"
        types.add(match["type"])
    return types


def custom_validation_types() -> set[str]:
    """Every ``PydanticCustomError("type", ...)`` in tronpay's source."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "PydanticCustomError"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def test_every_custom_validation_type_is_documented() -> None:
    custom = custom_validation_types()
    assert {"invalid_address", "invalid_amount", "memo_too_long"} <= custom  # the walk works
    assert sorted(custom - documented_validation_types()) == []


def test_every_documented_validation_type_exists() -> None:
    builtin = set(typing.get_args(ErrorType))
    assert sorted(documented_validation_types() - builtin - custom_validation_types()) == []


def test_invalid_amount_is_one_type_and_not_a_top_level_code() -> None:
    # An amount is refused as a validation_error whose errors[].type is invalid_amount (like
    # an address); the row for the code says so, and the code is never the response's code.
    row = documented_errors()["invalid_amount"]
    assert (row.status, row.title) == (422, "The amount is not valid")
    assert "invalid_amount" in documented_validation_types()
    text = API_DOC.read_text()
    assert "the API reports it as `validation_error` with `errors[].type` `invalid_amount`" in text
