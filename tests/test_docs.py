"""The documentation set: local links resolve, no doc points outside the repository, every
metric name a doc mentions is exported, docs/api.md has a section with a curl example for
every route of the OpenAPI document, and the scope tables list exactly the scopes of the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import tronpay.engine.metrics
import tronpay.observability.metrics  # noqa: F401 - registers the service's families
from tronpay.app import create_app
from tronpay.auth.scopes import KNOWN_SCOPES
from tronpay.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_ROUTE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/[^\s,`)]*)")
_FOREIGN = re.compile(r"\bDESIGN\b|\bFACTS\b|\.\./shared|/work/shared")
_METRIC = re.compile(r"\btronpay_[a-z_]+\b")
_SAMPLE_SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def _prose(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for line in _prose(page.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if match:
            slug = _slug(match.group(2).strip())
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_local_links_resolve(page: Path) -> None:
    broken = []
    for line in _prose(page.read_text(encoding="utf-8")):
        for target in _LINK.findall(line):
            if re.match(r"^[a-z]+:", target):
                continue  # https:, mailto:
            path_part, _, anchor = target.partition("#")
            linked = (page.parent / path_part).resolve() if path_part else page
            if not linked.exists():
                broken.append(f"{target}: no file {linked.relative_to(ROOT)}")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    assert broken == [], f"{page.name}: broken links {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_docs_refer_only_to_the_repository(page: Path) -> None:
    hits = [line for line in page.read_text(encoding="utf-8").splitlines() if _FOREIGN.search(line)]
    assert hits == [], f"{page.name} refers to documents outside the repository: {hits}"


def test_source_comments_refer_only_to_the_repository() -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "src").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _FOREIGN.search(line)
    ]
    assert hits == [], f"say it in docs/ instead: {hits}"


def _exported_families() -> set[str]:
    create_app(Settings())  # every module that registers a family is imported
    text = generate_latest(REGISTRY).decode()
    return {family.name for family in text_string_to_metric_families(text)}


def test_every_metric_a_doc_names_is_exported() -> None:
    families = _exported_families()
    assert "tronpay_payouts" in families
    assert "tronpay_engine_broadcasts" in families

    def exported(name: str) -> bool:
        if name in families:
            return True
        return any(
            name.endswith(suffix) and name.removesuffix(suffix) in families
            for suffix in _SAMPLE_SUFFIXES
        )

    unknown = {
        f"{page.name}: {name}"
        for page in PAGES
        for name in _METRIC.findall(page.read_text(encoding="utf-8"))
        if not exported(name)
    }
    assert unknown == set(), f"metric names no process exports: {sorted(unknown)}"


def _api_sections() -> dict[tuple[str, str], str]:
    """(METHOD, path with {} for parameters) -> the text of the docs/api.md section whose
    heading names it, up to the next heading."""
    sections: dict[tuple[str, str], str] = {}
    current: list[tuple[str, str]] = []
    fenced = False
    for line in (ROOT / "docs" / "api.md").read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading:
            current = [(m, _generic(p)) for m, p in _ROUTE.findall(heading.group(2))]
            for key in current:
                sections.setdefault(key, "")
            continue
        for key in current:
            sections[key] += line + "\n"
    return sections


def _generic(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def _routes() -> list[tuple[str, str]]:
    paths = create_app(Settings()).openapi()["paths"]
    return sorted(
        (method.upper(), _generic(path))
        for path, operations in paths.items()
        for method in operations
    )


def test_every_route_has_a_section_with_an_example() -> None:
    routes = _routes()
    assert ("POST", "/v1/payouts/quote") in routes
    sections = _api_sections()
    missing = [f"{m} {p}" for m, p in routes if (m, p) not in sections]
    assert missing == [], f"docs/api.md has no heading naming {missing}"
    without_example = [f"{m} {p}" for m, p in routes if "curl " not in sections[(m, p)]]
    assert without_example == [], f"docs/api.md sections without a curl example: {without_example}"


def test_api_doc_names_no_route_the_app_lacks() -> None:
    routes = set(_routes())
    stale = [f"{m} {p}" for m, p in _api_sections() if (m, p) not in routes]
    assert stale == [], f"docs/api.md documents routes the app does not have: {stale}"


def _table_scopes(page: str, header: str) -> set[str]:
    """The first-column codes of the markdown table under ``header`` in ``page``."""
    lines = (ROOT / "docs" / page).read_text(encoding="utf-8").splitlines()
    start = lines.index(header)
    scopes = set()
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        scopes.add(line.split("|")[1].strip().strip("`"))
    return scopes


@pytest.mark.parametrize(
    ("page", "header"),
    [("security.md", "| scope | grants |"), ("api.md", "| scope | operations |")],
)
def test_scope_tables_list_every_scope_of_the_code(page: str, header: str) -> None:
    assert _table_scopes(page, header) == set(KNOWN_SCOPES)
