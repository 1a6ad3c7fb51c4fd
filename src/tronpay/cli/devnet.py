"""``tronpay devnet reset``: put the local TRON devnet back to its genesis.

The devnet's ``/admin`` endpoints have no credentials of their own (the devnet is a local
play chain), so this command guards itself: it refuses unless the node answers
``GET /admin/state`` the way only tron_devnet does, and unless ``TRONPAY_NETWORK`` (when
set) is ``devnet``. A real TRON node has no ``/admin``; nothing is sent to one.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Final

import typer

from tronpay.cli.client import (
    API_ERROR,
    CONFLICT,
    EXIT_CODES_HELP,
    USAGE,
    AsJson,
    fail,
    out,
    print_json,
)

devnet_app = typer.Typer(
    no_args_is_help=True, help="The local TRON devnet.", epilog=EXIT_CODES_HELP
)

DEFAULT_NODE_URL: Final = "http://127.0.0.1:8091"


def _node_url(node_url: str | None) -> str:
    if node_url:
        return node_url.rstrip("/")
    urls = [u.strip() for u in os.environ.get("TRONPAY_NODE_URLS", "").split(",") if u.strip()]
    return (urls[0] if urls else DEFAULT_NODE_URL).rstrip("/")


def _devnet_state(url: str) -> dict[str, Any]:
    """The devnet's ``/admin/state``; exits 4 when the node is not a tron_devnet."""
    import httpx  # noqa: PLC0415 - lazy: keeps `tronpay --help` fast

    try:
        response = httpx.get(f"{url}/admin/state", timeout=10.0)
    except httpx.HTTPError as exc:
        fail(f"cannot reach the node at {url}: {type(exc).__name__}", API_ERROR)
    try:
        body = response.json() if response.status_code == 200 else None
    except ValueError:
        body = None
    if not isinstance(body, dict) or "block_time_s" not in body:
        fail(f"{url} is not a tron_devnet (no devnet /admin/state): refusing to reset it", CONFLICT)
    return body


@devnet_app.command("reset")
def devnet_reset(
    node_url: Annotated[
        str | None,
        typer.Option(
            "--node-url", help="The devnet (default: the first TRONPAY_NODE_URLS, else port 8091)."
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    as_json: AsJson = False,
) -> None:
    """Reset the devnet to genesis: every block, balance and transaction since is gone.

    Payouts a tronpay database remembers are not on the new chain: use a fresh data dir too.
    """
    network = os.environ.get("TRONPAY_NETWORK", "").strip().lower()
    if network and network != "devnet":
        fail(f"TRONPAY_NETWORK is {network}: devnet reset is for the local devnet only", USAGE)
    url = _node_url(node_url)
    state = _devnet_state(url)
    if not yes and not typer.confirm(
        f"reset the devnet at {url} (head block {state.get('head', '?')}) to genesis?"
    ):
        fail("not reset", USAGE)
    import httpx  # noqa: PLC0415 - lazy: keeps `tronpay --help` fast

    response = httpx.post(f"{url}/admin/reset", timeout=30.0)
    if response.status_code != 200:
        fail(
            f"the devnet refused the reset: HTTP {response.status_code} {response.text[:300]}",
            API_ERROR,
        )
    body = response.json()
    if as_json:
        print_json(body)
    else:
        out.print(
            f"devnet at {url} reset: head block {body['head']}, solidified {body['solidified']}",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``tronpay devnet`` to the root app."""
    app.add_typer(devnet_app, name="devnet")
