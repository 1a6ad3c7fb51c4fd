"""CLI commands: ``tronpay token`` (a development JWT) and ``tronpay audit verify``."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from tronpay.audit import ChainVerification, chain_head, verify_chain
from tronpay.auth import ALL_SCOPES, AuthMisconfigured, mint_token
from tronpay.auth.keys import load_hs256_secret
from tronpay.auth.scopes import KNOWN_SCOPES
from tronpay.auth.tenancy import is_tenant_name
from tronpay.config import Settings
from tronpay.db.session import create_engine, create_sessionmaker, read_transaction
from tronpay.errors import TronpayError

audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _settings() -> Settings:
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
    """Walk the audit chain; exit 0 when intact, 1 at the first broken link."""
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


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("token")(token)
    app.add_typer(audit_app, name="audit")
