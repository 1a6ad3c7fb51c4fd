"""``tronpay payouts create|list|show|cancel|approve|retry|watch|quote`` over the HTTP API.

Human output is a table; ``--json`` prints the API's JSON. ``watch`` prints every state a
payout passes, read from the payout's audit entries when the token may read the audit log
(``audit:read``), so a state passed between two polls is shown too.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

import typer
from rich.table import Table

from tronpay.cli.client import (
    DEFAULT_API_URL,
    EXIT_CODES_HELP,
    TERMINAL,
    Api,
    ApiError,
    ApiUrl,
    AsJson,
    Token,
    dash,
    fail,
    field_table,
    out,
    page_params,
    print_json,
    print_page,
    report,
)

payouts_app = typer.Typer(
    no_args_is_help=True,
    help="Payouts, through the HTTP API.",
    epilog=EXIT_CODES_HELP,
)

BLOCK_TIME_S: Final = 3

PayoutId = Annotated[str, typer.Argument(help="The payout's id (po_...).")]

_FIELDS: Final = (
    "id",
    "status",
    "asset",
    "amount",
    "to",
    "reference",
    "memo",
    "blocked_reason",
    "failure_reason",
    "batch_id",
    "created_by",
    "approved_by",
    "txid",
    "fee_limit",
    "fee_paid",
    "energy_used",
    "energy_from_stake",
    "energy_burned",
    "confirmations",
    "confirmations_required",
    "created_at",
    "updated_at",
)


def payout_table(payout: dict[str, Any], title: str | None = None) -> Table:
    """One payout as a two-column table (fields the API did not send are left out)."""
    table = field_table(((name, payout[name]) for name in _FIELDS if name in payout), title)
    if payout.get("metadata"):
        table.add_row("metadata", str(payout["metadata"]))
    return table


def _show(payout: dict[str, Any], as_json: bool, title: str | None = None) -> None:
    if as_json:
        print_json(payout)
    else:
        out.print(payout_table(payout, title))


@payouts_app.command("create")
def payouts_create(
    *,
    to: Annotated[str, typer.Option("--to", help="Recipient T... address.")],
    amount: Annotated[str, typer.Option("--amount", help='Decimal string, e.g. "12.5".')],
    asset: Annotated[str, typer.Option(help="USDT or TRX.")] = "USDT",
    reference: Annotated[str | None, typer.Option(help="Your unique reference.")] = None,
    memo: Annotated[str | None, typer.Option(help="Carried by the transaction.")] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="Defaults to a new random key; reuse one to retry safely."),
    ] = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Create one payout."""
    api = Api.of(api_url, token)
    body: dict[str, Any] = {"to": to, "amount": amount, "asset": asset}
    if reference is not None:
        body["reference"] = reference
    if memo is not None:
        body["memo"] = memo
    key = idempotency_key or str(uuid.uuid4())
    try:
        response = api.send("POST", "/v1/payouts", json_body=body, headers={"Idempotency-Key": key})
    except ApiError as exc:
        report(exc)
    payout = response.json()
    replayed = response.headers.get("Idempotent-Replayed") == "true"
    title = "Payout (replayed: created before with this key)" if replayed else "Payout created"
    _show(payout, as_json, title)


@payouts_app.command("list")
def payouts_list(
    *,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Only this recipient.")] = None,
    batch_id: Annotated[str | None, typer.Option(help="Only this batch.")] = None,
    reference: Annotated[str | None, typer.Option(help="Only this reference.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Page size.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="The next page's cursor.")] = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """List payouts, newest first (one page; the next page's cursor is printed)."""
    api = Api.of(api_url, token)
    params = page_params(
        limit, cursor, status=status, to=to, batch_id=batch_id, reference=reference
    )
    page = api.call("GET", "/v1/payouts", params=params)
    if as_json:
        print_json(page)
        return
    table = Table("id", "status", "asset", "amount", "to", "reference", "created_at")
    for p in page["items"]:
        table.add_row(
            p["id"], p["status"], p["asset"], p["amount"], p["to"], dash(p["reference"]),
            p["created_at"],
        )  # fmt: skip
    print_page(table, page.get("next_cursor"))


@payouts_app.command("show")
def payouts_show(
    payout_id: PayoutId,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Show one payout."""
    _show(Api.of(api_url, token).call("GET", f"/v1/payouts/{payout_id}"), as_json)


@payouts_app.command("cancel")
def payouts_cancel(
    payout_id: PayoutId,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Cancel a payout that was not submitted yet (pending_approval or queued)."""
    payout = Api.of(api_url, token).call("POST", f"/v1/payouts/{payout_id}/cancel")
    _show(payout, as_json, "Payout cancelled")


@payouts_app.command("approve")
def payouts_approve(
    payout_id: PayoutId,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Approve a payout waiting for a second person (needs payouts:approve)."""
    payout = Api.of(api_url, token).call("POST", f"/v1/payouts/{payout_id}/approve")
    _show(payout, as_json, "Payout approved")


@payouts_app.command("retry")
def payouts_retry(
    payout_id: PayoutId,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Queue a failed payout again (the API's retry: the same payout, the policy checked
    again; it never creates a second payout)."""
    payout = Api.of(api_url, token).call("POST", f"/v1/payouts/{payout_id}/retry")
    _show(payout, as_json, f"Payout queued again: {payout['status']}")


@payouts_app.command("quote")
def payouts_quote(
    *,
    to: Annotated[str, typer.Option("--to", help="Recipient T... address.")],
    amount: Annotated[str, typer.Option("--amount", help='Decimal string, e.g. "12.5".')],
    asset: Annotated[str, typer.Option(help="USDT or TRX.")] = "USDT",
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """What a payout would cost now (energy, fee cap, expected fee); creates nothing."""
    body = {"to": to, "amount": amount, "asset": asset}
    quote = Api.of(api_url, token).call("POST", "/v1/payouts/quote", json_body=body)
    if as_json:
        print_json(quote)
        return
    out.print(field_table(quote.items(), "Quote"))


# -- watch ----------------------------------------------------------------------------------


@dataclass
class Watcher:
    """Prints each state of one payout once, oldest first."""

    api: Api
    payout_id: str
    history: bool = True  # False once the token turns out not to read the audit log
    seen_seq: int = 0
    last_status: str | None = None
    last_confirmations: int | None = None
    printed: list[str] = field(default_factory=list)

    def emit(self, line: str) -> None:
        self.printed.append(line)
        out.print(line, highlight=False, markup=False)

    def _history(self) -> list[dict[str, Any]]:
        """The payout's audit entries newer than the last one printed, oldest first."""
        params = {"entity_type": "payout", "entity_id": self.payout_id, "limit": 500}
        try:
            page = self.api.send("GET", "/v1/audit", params=params).json()
        except ApiError as exc:
            if exc.status in {401, 403}:
                self.history = False
                self.emit(
                    "(this token cannot read the audit log: states are shown as polled; "
                    "a token with audit:read shows every one)"
                )
                return []
            report(exc)
        entries = [e for e in page["items"] if e["seq"] > self.seen_seq]
        return sorted(entries, key=lambda e: e["seq"])

    def step(self) -> dict[str, Any]:
        """Read the payout (and its new history), print what changed; the payout."""
        try:
            payout: dict[str, Any] = self.api.send("GET", f"/v1/payouts/{self.payout_id}").json()
        except ApiError as exc:
            report(exc)
        # The history is read after the payout, so it holds every state the payout row
        # showed (an audit entry is written with its change): with a history, it alone
        # prints states, and a row that is a moment older never repeats one.
        entries = self._history() if self.history else []
        if self.history:
            for entry in entries:
                self.seen_seq = entry["seq"]
                status = (entry.get("after") or {}).get("status")
                if status is None or status == self.last_status:
                    continue
                self.last_status = status
                self.emit(_state_line(entry["created_at"], status, entry["action"], entry))
        elif payout["status"] != self.last_status:
            self.last_status = payout["status"]
            self.emit(_state_line(payout["updated_at"], payout["status"], None, payout))
        self._confirmations(payout)
        if payout["status"] == "finalized" and payout.get("fee_paid") is not None:
            energy = payout.get("energy_used")
            used = "" if energy is None else f", {energy:,} energy"
            self.emit(f"  fee paid {payout['fee_paid']} TRX{used}")
        return payout

    def _confirmations(self, payout: dict[str, Any]) -> None:
        have, need = payout.get("confirmations"), payout.get("confirmations_required")
        if payout["status"] != "confirmed" or have is None or need is None:
            return
        if have == self.last_confirmations:
            return
        self.last_confirmations = have
        left = max(need - have, 0) * BLOCK_TIME_S
        self.emit(f"  confirmed {have}/{need}, about {left} s to finality")


def _when(at: str) -> str:
    """An API time to the second, in UTC: ``2026-12-03T12:48:51Z``."""
    return f"{at[:19]}Z" if len(at) >= 19 and at[10] == "T" else at


def _state_line(at: str, status: str, action: str | None, row: dict[str, Any]) -> str:
    after = row.get("after") if action else row
    after = after or {}
    parts = [_when(at), f"{status:<16}"]
    if after.get("txid"):
        parts.append(f"txid={after['txid']}")
    for reason in ("blocked_reason", "failure_reason"):
        if after.get(reason):
            parts.append(f"{reason}={after[reason]}")
    if action:
        parts.append(f"({action})")
    return "  ".join(parts)


@payouts_app.command("watch")
def payouts_watch(
    payout_id: PayoutId,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between polls.")] = 2.0,
    timeout: Annotated[
        float, typer.Option(min=1.0, help="Give up after this many seconds.")
    ] = 3600.0,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
) -> None:
    """Print every state a payout passes until it ends (finalized, failed, cancelled).

    With audit:read in the token, states passed between two polls are printed too, each with
    its time; while confirmed, the confirmations counted toward finality and the time left.
    Exits 0 when finalized, 1 when failed or cancelled, 1 on timeout.
    """
    watcher = Watcher(Api.of(api_url, token), payout_id)
    deadline = time.monotonic() + timeout
    while True:
        payout = watcher.step()
        if payout["status"] in TERMINAL:
            if payout["status"] != "finalized":
                raise typer.Exit(1)
            return
        if time.monotonic() > deadline:
            fail(f"timed out after {timeout:g} s; the payout is {payout['status']}", 1)
        time.sleep(interval)


def register(app: typer.Typer) -> None:
    """Add ``tronpay payouts`` to the root app."""
    app.add_typer(payouts_app, name="payouts")
