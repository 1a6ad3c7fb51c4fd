"""CLI commands: ``tronpay token`` (a development JWT), ``tronpay audit verify`` (walks the
chain in the database) and ``tronpay audit tail`` (the latest entries, over the HTTP API).

The auth, audit, settings and database modules are imported inside the commands that use
them: ``tronpay --help`` must not pay for SQLAlchemy or pydantic-settings.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from tronpay.cli.client import (
    DEFAULT_API_URL,
    EXIT_CODES_HELP,
    Api,
    ApiUrl,
    AsJson,
    Token,
    out,
    print_json,
)

if TYPE_CHECKING:
    from tronpay.audit import ChainVerification
    from tronpay.config import Settings

audit_app = typer.Typer(
    no_args_is_help=True, help="The hash-chained audit log.", epilog=EXIT_CODES_HELP
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    from pydantic import ValidationError  # noqa: PLC0415 - lazy, see the module docstring

    from tronpay.config import Settings  # noqa: PLC0415

    try:
        return Settings()
    except ValidationError as exc:
        raise _fail(f"invalid configuration: {exc}") from exc


def token(
    sub: Annotated[str, typer.Option("--sub", help="the token's subject (who is calling)")],
    scope: Annotated[
        str,
        typer.Option(
            "--scope",
            help='space-separated scopes, e.g. "payouts:read payouts:write", "all" or "all admin"',
        ),
    ],
    ttl: Annotated[int, typer.Option("--ttl", min=1, max=31 * 86400, help="seconds")] = 3600,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant", help="the token's tenant (needs TRONPAY_JWT_TENANT_CLAIM to be set)"
        ),
    ] = None,
) -> None:
    """Print one development JWT signed with the configured HS256 secret.

    Needs TRONPAY_JWT_HS256_SECRET_FILE (in development mode the data dir's dev secret, the
    one `tronpay serve` uses, is created and used when nothing else is configured).
    """
    from tronpay.auth import AuthMisconfigured, mint_token  # noqa: PLC0415 - lazy
    from tronpay.auth.keys import load_hs256_secret  # noqa: PLC0415
    from tronpay.auth.scopes import KNOWN_SCOPES  # noqa: PLC0415
    from tronpay.auth.tenancy import is_tenant_name  # noqa: PLC0415

    settings = _settings()
    if settings.jwt_hs256_secret_file is None:
        settings = settings.with_dev_defaults()
    secret_file = settings.jwt_hs256_secret_file
    if secret_file is None:
        raise _fail(
            "no local HS256 secret is configured (TRONPAY_JWT_HS256_SECRET_FILE); "
            "tokens for RS256/ES256/JWKS setups come from your identity provider"
        )
    if settings.jwt_algorithms and "HS256" not in settings.jwt_algorithms:
        raise _fail("HS256 is not among TRONPAY_JWT_ALGORITHMS; the API would refuse the token")
    requested = scope.split()
    # "all": every scope of one tenant's clients; "all admin" adds acting in other tenants.
    scopes = sorted({name for item in requested for name in _expand(item)})
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if unknown or not scopes:
        raise _fail(
            f"unknown scope(s): {' '.join(unknown) or '(none given)'}; "
            f"known: {' '.join(sorted(KNOWN_SCOPES))}"
        )
    claim = settings.jwt_tenant_claim
    if tenant is not None and claim is None:
        raise _fail("--tenant needs TRONPAY_JWT_TENANT_CLAIM (the claim that carries it)")
    if claim is not None and tenant is None:
        raise _fail("TRONPAY_JWT_TENANT_CLAIM is set: name the token's tenant with --tenant")
    if tenant is not None and not is_tenant_name(tenant):
        raise _fail("a tenant is 1-64 letters, digits, '.', '_' or '-'")
    try:
        secret = load_hs256_secret(secret_file)
        jwt_text = mint_token(
            secret,
            sub=sub,
            scopes=scopes,
            ttl_s=ttl,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            extra_claims=None if claim is None else {claim: tenant},
        )
    except (AuthMisconfigured, ValueError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(jwt_text)


def _expand(scope: str) -> frozenset[str]:
    from tronpay.auth import ALL_SCOPES  # noqa: PLC0415 - lazy

    return ALL_SCOPES if scope == "all" else frozenset({scope})


def async_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite:///`` URLs and pick the async drivers."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


async def _verify(url: str) -> tuple[ChainVerification, tuple[int, str]]:
    from tronpay.audit import chain_head, verify_chain  # noqa: PLC0415 - lazy
    from tronpay.db.session import (  # noqa: PLC0415
        create_engine,
        create_sessionmaker,
        read_transaction,
    )

    engine = create_engine(url)
    try:
        async with read_transaction(create_sessionmaker(engine)) as session:
            return await verify_chain(session), await chain_head(session)
    finally:
        await engine.dispose()


@audit_app.command("verify")
def audit_verify(
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="default: TRONPAY_DATABASE_URL / the data dir"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Walk the audit chain in the database; exit 0 when intact, 1 at the first broken
    link."""
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415 - lazy

    from tronpay.errors import TronpayError  # noqa: PLC0415

    url = async_url(database_url or _settings().effective_database_url)
    try:
        result, (head_seq, head_hash) = asyncio.run(_verify(url))
    except (TronpayError, OSError, SQLAlchemyError) as exc:
        raise _fail(f"cannot read the audit log (has `tronpay db upgrade` run?): {exc}") from exc
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "checked": result.checked,
                    "first_broken": result.first_broken,
                    "reason": result.reason,
                    "head_seq": head_seq,
                    "head_hash": head_hash,
                }
            )
        )
    elif result.ok:
        typer.echo(f"OK: {result.checked} audit entries verified (head {head_seq} {head_hash})")
    else:
        typer.echo(
            f"BROKEN at entry {result.first_broken}: {result.reason} "
            f"({result.checked} entries before it verified)"
        )
    if not result.ok:
        raise typer.Exit(1)


def _audit_line(entry: dict[str, Any]) -> list[str]:
    after = entry.get("after") or {}
    status = after.get("status") if isinstance(after, dict) else None
    return [
        str(entry["seq"]),
        entry["created_at"],
        entry["principal"],
        entry["action"],
        f"{entry['entity_type']} {entry['entity_id']}",
        "-" if status is None else str(status),
    ]


def _print_entries(entries: list[dict[str, Any]], *, as_json: bool, header: bool) -> None:
    if as_json:
        for entry in entries:
            print_json(entry)
        return
    if not out.is_terminal:
        for entry in entries:
            out.print("  ".join(_audit_line(entry)), highlight=False, markup=False)
        return
    table = Table("seq", "at", "principal", "action", "entity", "status", show_header=header)
    for entry in entries:
        table.add_row(*_audit_line(entry))
    out.print(table)


@audit_app.command("tail")
def audit_tail(  # noqa: PLR0917 - typer options
    lines: Annotated[int, typer.Option("-n", "--lines", min=1, max=500, help="How many.")] = 20,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new entries as they come.")
    ] = False,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. payout.fail.")] = None,
    entity_type: Annotated[str | None, typer.Option(help="Only payout, batch, ...")] = None,
    entity_id: Annotated[str | None, typer.Option(help="Only this id.")] = None,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between polls.")] = 2.0,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Print the latest audit entries of your tenant, oldest first (needs audit:read).

    With --json, one JSON entry per line. With --follow, new entries are printed as they are
    appended, until Ctrl-C.
    """
    api = Api.of(api_url, token)
    filters = {"action": action, "entity_type": entity_type, "entity_id": entity_id}
    page = api.call("GET", "/v1/audit", params={**filters, "limit": lines})
    entries = sorted(page["items"], key=lambda e: e["seq"])
    _print_entries(entries, as_json=as_json, header=True)
    last = entries[-1]["seq"] if entries else 0
    while follow:
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return
        page = api.call("GET", "/v1/audit", params={**filters, "limit": 500})
        new = sorted((e for e in page["items"] if e["seq"] > last), key=lambda e: e["seq"])
        if new:
            _print_entries(new, as_json=as_json, header=False)
            last = new[-1]["seq"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("token")(token)
    app.add_typer(audit_app, name="audit")
