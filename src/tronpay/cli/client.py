"""What every command that calls the HTTP API shares: the ``--api-url``, ``--token`` and
``--json`` options, the client, error rendering and the exit codes.

Exit codes (also in ``tronpay --help`` and docs/cli.md):

- 0: done.
- 1: the API refused the request or failed (validation error, server error, unreachable).
- 2: usage or configuration: a bad option, no token, a token the API does not accept.
- 3: not found (the id names nothing in your tenant).
- 4: conflict or refused by policy (a 409, a 403 other than the token's scope, a
  ``policy_*`` refusal).

httpx is imported inside the functions that send requests: ``tronpay --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Final, NoReturn

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from collections.abc import Iterable

    import httpx

OK: Final = 0
API_ERROR: Final = 1
USAGE: Final = 2
NOT_FOUND: Final = 3
CONFLICT: Final = 4

EXIT_CODES_HELP: Final = (
    "Exit codes: 0 done; 1 the API refused or failed; 2 usage or configuration (no or bad "
    "token); 3 not found; 4 conflict or refused by policy."
)

TOKEN_ENV: Final = "TRONPAY_TOKEN"  # noqa: S105 - a variable name, not a secret
API_URL_ENV: Final = "TRONPAY_API_URL"
DEFAULT_API_URL: Final = "http://127.0.0.1:8090"
TERMINAL: Final = frozenset({"finalized", "failed", "cancelled"})

# Auth problems are the caller's configuration (the token), not the operation.
_TOKEN_CODES: Final = frozenset(
    {"unauthorized", "invalid_token", "insufficient_scope", "tenant_forbidden"}
)


def console(*, stderr: bool = False) -> Console:
    """A console that never wraps or colours output for a pipe or a file: a script reading
    it finds every line whole (soft_wrap), and a terminal wraps it for the eye."""
    if sys.stdout.isatty() and not stderr:
        return Console(soft_wrap=True)
    if stderr and sys.stderr.isatty():
        return Console(stderr=True, soft_wrap=True)
    return Console(stderr=stderr, soft_wrap=True, width=1000, no_color=True, highlight=False)


out = console()
err = console(stderr=True)

ApiUrl = Annotated[
    str, typer.Option("--api-url", envvar=API_URL_ENV, help="The service's base URL.")
]
Token = Annotated[
    str,
    typer.Option(
        "--token",
        envvar=TOKEN_ENV,
        show_envvar=True,
        help="Bearer token (tronpay token prints one).",
    ),
]
AsJson = Annotated[
    bool, typer.Option("--json", help="Print the API's JSON instead of a table (for scripts).")
]


def fail(message: str, code: int = USAGE) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code``."""
    err.print(f"error: {message}", highlight=False, markup=False)
    raise typer.Exit(code)


def print_json(body: Any) -> None:
    """The API's JSON, one document, as it came (indented on a terminal)."""
    if out.is_terminal:
        out.print_json(json.dumps(body))
    else:
        sys.stdout.write(json.dumps(body) + "\n")
        sys.stdout.flush()


class ApiError(Exception):
    """An error answer of the API, with the exit code it maps to."""

    def __init__(self, status: int, code: str, detail: str, body: Any) -> None:
        super().__init__(f"HTTP {status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body

    @property
    def exit_code(self) -> int:
        if self.status == 401 or self.code in _TOKEN_CODES:
            return USAGE
        if self.status == 404:
            return NOT_FOUND
        if self.status in {403, 409} or self.code.startswith("policy_"):
            return CONFLICT
        return API_ERROR


@dataclass(frozen=True)
class Api:
    """One service: base URL and bearer token."""

    url: str
    token: str
    timeout_s: float = 30.0

    @classmethod
    def of(cls, url: str, token: str) -> Api:
        """The service to talk to; without a token, exit 2 saying how to get one."""
        if not token.strip():
            fail(f"no API token: set {TOKEN_ENV} or run `tronpay token …`", USAGE)
        return cls(url=url.rstrip("/"), token=token.strip())

    def _client(self) -> httpx.Client:
        import httpx  # noqa: PLC0415 - lazy: keeps `tronpay --help` fast

        headers = {"Accept": "application/json", "Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=self.timeout_s)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """The raw response; an error answer raises ``ApiError``, no answer exits 1."""
        import httpx  # noqa: PLC0415 - lazy: keeps `tronpay --help` fast

        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            with self._client() as http:
                response = http.request(
                    method, path, params=query, json=json_body, content=content, headers=headers
                )
        except httpx.HTTPError as exc:
            fail(f"cannot reach {self.url}: {type(exc).__name__}", API_ERROR)
        if response.status_code >= 400:
            try:
                body = response.json()
                code, detail = str(body.get("code")), str(body.get("detail"))
            except (ValueError, AttributeError):
                body, code, detail = None, "http_error", response.text[:500]
            raise ApiError(response.status_code, code, detail, body)
        return response

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a successful answer; an error answer is printed and exits."""
        try:
            response = self.send(method, path, **kwargs)
        except ApiError as exc:
            report(exc)
        return None if response.status_code == 204 else response.json()


def report(exc: ApiError) -> NoReturn:
    """Print an API error (with every listed problem) and exit with its code."""
    err.print(f"error: HTTP {exc.status} {exc.code}: {exc.detail}", highlight=False, markup=False)
    errors = exc.body.get("errors") if isinstance(exc.body, dict) else None
    for problem in (errors or [])[:50]:
        if isinstance(problem, dict):
            where = problem.get("row", problem.get("loc", ""))
            reason = problem.get("reason", problem.get("type", ""))
            message = problem.get("message", problem.get("msg", ""))
            err.print(f"  {where}: {reason}: {message}", highlight=False, markup=False)
    raise typer.Exit(exc.exit_code)


def page_params(limit: int, cursor: str | None, **filters: Any) -> dict[str, Any]:
    return {**filters, "limit": limit, "cursor": cursor}


def dash(value: Any) -> str:
    """A cell: ``-`` for nothing."""
    return "-" if value is None or value == "" else str(value)


def print_page(table: Table, next_cursor: str | None) -> None:
    """One page of a list for people: the table, then how to ask for the next page."""
    out.print(table)
    if next_cursor:
        out.print(f"next page: --cursor {next_cursor}", highlight=False)


def field_table(rows: Iterable[tuple[str, Any]], title: str | None = None) -> Table:
    """A record for people: one ``name | value`` row per field (``-`` for nothing)."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        table.add_row(name, dash(value))
    return table
