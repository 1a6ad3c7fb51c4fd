"""The ``tronpay`` command line. Each command group lives in its own module and
registers itself on the root app through ``register(app)``."""

from __future__ import annotations

import inspect

import typer

from tronpay.cli import (
    access,
    batches,
    devnet,
    engine,
    keys,
    payouts,
    service,
    wallet,
    webhooks,
)
from tronpay.cli.client import EXIT_CODES_HELP

app = typer.Typer(
    no_args_is_help=True,
    help="tronpay: pay out USDT-TRC20 and TRX on TRON. The API client commands read "
    f"TRONPAY_API_URL and TRONPAY_TOKEN. {EXIT_CODES_HELP}",
)

for _module in (service, engine, keys, access, wallet, payouts, batches, webhooks, devnet):
    _module.register(app)


def _one_line_summaries(typer_app: typer.Typer) -> None:
    """Give every command its docstring's first paragraph as one line for the command list
    (typer's rich help keeps the docstring's line breaks there)."""
    for info in typer_app.registered_commands:
        text = info.help or (info.callback.__doc__ if info.callback else None) or ""
        first = inspect.cleandoc(text).split("\n\n")[0]
        if info.short_help is None and first:
            info.short_help = " ".join(first.split())
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _one_line_summaries(group.typer_instance)


_one_line_summaries(app)


def main() -> None:
    app()
