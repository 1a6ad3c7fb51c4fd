"""The ``tronpay`` command line. Each command group lives in its own module and
registers itself on the root app through ``register(app)``."""

from __future__ import annotations

import typer

from tronpay.cli import access, engine, keys, service, wallet

app = typer.Typer(no_args_is_help=True, help="tronpay: the TRON Payment System API.")

for _module in (service, engine, keys, access, wallet):
    _module.register(app)


def main() -> None:
    app()
