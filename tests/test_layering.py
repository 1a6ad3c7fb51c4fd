"""Import layering, checked on the AST of every module (no import is executed).

- ``tronpay.tron`` and ``tronpay.signer`` are pure: no web framework, no database, no HTTP
  client (except the node client's ``_client.py`` and its httpx transport ``_httpx.py`` in
  ``tronpay/tron/node/``, which may use httpx), and nothing
  from tronpay outside tron, signer, errors and kit.
- ``tron_devnet`` never imports ``tronpay``; ``tronpay`` never imports ``tron_devnet`` except
  the CLI package and the ``serve --devnet`` launcher ``tronpay/devnet_runner.py``.
- ``tronpay.api`` is the generic HTTP layer: it imports no domain package (domains import
  it), only api, errors, kit and the database plumbing.
- ``tronpay.payouts`` never imports the engine (nor the composition roots that do): what it
  needs from there (the fee quoter) is injected at start-up.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PURE_PACKAGES = ("tronpay/tron", "tronpay/signer")
FORBIDDEN_IN_PURE = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "httpx",
    "uvicorn",
    "asyncpg",
    "aiosqlite",
)
ALLOWED_TRONPAY_IN_PURE = ("tronpay.tron", "tronpay.signer", "tronpay.errors", "tronpay.kit")
HTTPX_ALLOWED = {"tronpay/tron/node/_client.py", "tronpay/tron/node/_httpx.py"}
DEVNET_ALLOWED = ("tronpay/cli/", "tronpay/devnet_runner.py")
ALLOWED_TRONPAY_IN_API = (
    "tronpay.api",
    "tronpay.errors",
    "tronpay.kit",
    "tronpay.config",  # the service's settings (the server limits read them), not a domain
    "tronpay.db.base",
    "tronpay.db.session",
    "tronpay.db.types",
)
FORBIDDEN_IN_PAYOUTS = ("tronpay.engine", "tronpay.runtime", "tronpay.app", "tronpay.cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> Iterator[str]:
    """Absolute names of everything a module imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield module
            for alias in node.names:  # "from tronpay import db" imports tronpay.db
                yield f"{module}.{alias.name}"


def dynamic_imports(path: Path) -> list[str]:
    """Calls that import by name at run time (``importlib.import_module``, ``__import__``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in {"import_module", "__import__"}:
            found.append(f"{path.name}:{node.lineno}")
    return found


def _is(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _files(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (SRC / package).rglob("*.py"))


def pure_violations(path: Path) -> list[str]:
    relative = path.relative_to(SRC).as_posix()
    problems = []
    for name in imported_modules(path):
        top = name.split(".")[0]
        if top in FORBIDDEN_IN_PURE and not (top == "httpx" and relative in HTTPX_ALLOWED):
            problems.append(name)
        if top == "tron_devnet":
            problems.append(name)
        if (
            top == "tronpay"
            and name != "tronpay"
            and not any(_is(name, allowed) for allowed in ALLOWED_TRONPAY_IN_PURE)
        ):
            problems.append(name)
    return problems


def api_violations(path: Path) -> list[str]:
    """What a module of ``tronpay.api`` imports from tronpay beyond the generic layers."""
    return [
        name
        for name in imported_modules(path)
        if _is(name, "tronpay")
        and name != "tronpay"
        and not any(_is(name, allowed) for allowed in ALLOWED_TRONPAY_IN_API)
    ]


def payouts_violations(path: Path) -> list[str]:
    return [
        name
        for name in imported_modules(path)
        if any(_is(name, forbidden) for forbidden in FORBIDDEN_IN_PAYOUTS)
    ]


PURE_FILES = _files(*PURE_PACKAGES)
API_FILES = _files("tronpay/api")
PAYOUTS_FILES = _files("tronpay/payouts")


def test_pure_packages_exist() -> None:
    names = {p.relative_to(SRC).as_posix() for p in PURE_FILES}
    assert "tronpay/tron/transaction.py" in names
    assert "tronpay/signer/local.py" in names


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda p: p.relative_to(SRC).as_posix())
def test_pure_layers_import_nothing_forbidden(path: Path) -> None:
    assert pure_violations(path) == []
    assert dynamic_imports(path) == []  # would slip past the static check


@pytest.mark.parametrize("path", API_FILES, ids=lambda p: p.relative_to(SRC).as_posix())
def test_api_imports_no_domain_package(path: Path) -> None:
    assert api_violations(path) == []
    assert dynamic_imports(path) == []


@pytest.mark.parametrize("path", PAYOUTS_FILES, ids=lambda p: p.relative_to(SRC).as_posix())
def test_payouts_never_import_the_engine(path: Path) -> None:
    assert payouts_violations(path) == []
    assert dynamic_imports(path) == []


def test_layered_packages_exist() -> None:
    api = {p.relative_to(SRC).as_posix() for p in API_FILES}
    payouts = {p.relative_to(SRC).as_posix() for p in PAYOUTS_FILES}
    assert "tronpay/api/idempotency.py" in api
    assert "tronpay/payouts/endpoints.py" in payouts


def test_devnet_never_imports_tronpay() -> None:
    offenders = {
        path.relative_to(SRC).as_posix(): name
        for path in _files("tron_devnet")
        for name in imported_modules(path)
        if _is(name, "tronpay")
    }
    assert offenders == {}


def test_tronpay_imports_devnet_only_from_the_launchers() -> None:
    offenders = {}
    for path in _files("tronpay"):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith(DEVNET_ALLOWED):
            continue
        for name in imported_modules(path):
            if _is(name, "tron_devnet"):
                offenders[relative] = name
    assert offenders == {}


# ---------------------------------------------------------------- the checker itself


def _write(tmp_path: Path, relative: str, source: str) -> Path:
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


def test_checker_catches_dynamic_imports(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.py", "import importlib\nm = importlib.import_module('fastapi')\n")
    assert dynamic_imports(path) == ["x.py:2"]
    path = _write(tmp_path, "y.py", "m = __import__('sqlalchemy')\n")
    assert dynamic_imports(path) == ["y.py:1"]


@pytest.mark.parametrize(
    ("relative", "source", "expected"),
    [
        ("tronpay/tron/x.py", "import fastapi\n", ["fastapi"]),
        ("tronpay/tron/x.py", "from sqlalchemy.orm import Session\n", ["sqlalchemy.orm"]),
        ("tronpay/signer/x.py", "import httpx\n", ["httpx"]),
        ("tronpay/tron/node/_httpx.py", "import httpx\n", []),
        ("tronpay/tron/node/_http.py", "import httpx\n", ["httpx"]),
        ("tronpay/tron/x.py", "from tronpay.db import models\n", ["tronpay.db"]),
        ("tronpay/tron/x.py", "from tronpay import db\n", ["tronpay.db"]),
        ("tronpay/tron/x.py", "from ..api import app\n", ["tronpay.api"]),
        ("tronpay/tron/x.py", "from . import address\n", []),
        ("tronpay/signer/x.py", "from tronpay.errors import TronpayError\n", []),
        ("tronpay/signer/x.py", "from tronpay.kit.money import Sun\n", []),
        ("tronpay/tron/x.py", "def f():\n    import starlette\n", ["starlette"]),
        ("tronpay/tron/x.py", "import tron_devnet.cli\n", ["tron_devnet.cli"]),
    ],
)
def test_checker_catches_forbidden_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relative: str, source: str, expected: list[str]
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    path = _write(tmp_path, relative, source)
    found = pure_violations(path)
    for name in expected:
        assert name in found
    if not expected:
        assert found == []


@pytest.mark.parametrize(
    ("relative", "source", "expected"),
    [
        (
            "tronpay/api/x.py",
            "from tronpay.payouts.states import Actor\n",
            ["tronpay.payouts.states"],
        ),
        ("tronpay/api/x.py", "from tronpay import auth\n", ["tronpay.auth"]),
        ("tronpay/api/x.py", "from ..engine import worker\n", ["tronpay.engine"]),
        ("tronpay/api/x.py", "from tronpay.db.models import Base\n", ["tronpay.db.models"]),
        ("tronpay/api/x.py", "from tronpay.db.session import SessionDep\n", []),
        ("tronpay/api/x.py", "from tronpay.errors import Conflict\n", []),
        ("tronpay/api/x.py", "from . import problems\n", []),
    ],
)
def test_checker_catches_domain_imports_in_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relative: str, source: str, expected: list[str]
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    found = api_violations(_write(tmp_path, relative, source))
    for name in expected:
        assert name in found
    if not expected:
        assert found == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from tronpay.engine.planner import Planner\n", ["tronpay.engine.planner"]),
        ("from tronpay import engine\n", ["tronpay.engine"]),
        ("from ..runtime import ChainRuntime\n", ["tronpay.runtime"]),
        ("def f():\n    from tronpay.engine import worker\n", ["tronpay.engine.worker"]),
        ("from tronpay.payouts.quote import Quoter\n", []),
        ("from tronpay.api.readiness import NotReady\n", []),
    ],
)
def test_checker_catches_engine_imports_in_payouts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, expected: list[str]
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    found = payouts_violations(_write(tmp_path, "tronpay/payouts/x.py", source))
    for name in expected:
        assert name in found
    if not expected:
        assert found == []
