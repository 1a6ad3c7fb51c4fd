"""``tronpay batches import|list|show|watch`` over the HTTP API.

``import`` checks the CSV locally first with the service's own parser (every bad row with
its line number and reason, nothing sent), uploads it with the file's SHA-256 as the
idempotency key (importing the same file again returns the first batch, and says so), then
follows the batch with a progress bar until every payout has ended.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tronpay.cli.client import (
    DEFAULT_API_URL,
    EXIT_CODES_HELP,
    TERMINAL,
    USAGE,
    Api,
    ApiError,
    ApiUrl,
    AsJson,
    Token,
    dash,
    err,
    fail,
    out,
    page_params,
    print_json,
    print_page,
    report,
)

batches_app = typer.Typer(
    no_args_is_help=True, help="Batches, through the HTTP API.", epilog=EXIT_CODES_HELP
)

MAX_ROWS: Final = 10_000

BatchId = Annotated[str, typer.Argument(help="The batch's id (ba_...).")]
Interval = Annotated[float, typer.Option(min=0.2, help="Seconds between polls.")]
Timeout = Annotated[float, typer.Option(min=1.0, help="Give up after this many seconds.")]


def check_csv(content: bytes) -> list[tuple[int, str, str]]:
    """Every problem of a CSV batch as ``(line, reason, message)`` (empty: it is valid),
    found by the same parser the service runs."""
    # Lazy: the parser pulls in pydantic and the payout schemas; `--help` must stay fast.
    from tronpay.batches.parsing import parse_csv  # noqa: PLC0415

    parsed = parse_csv(content, max_rows=MAX_ROWS)
    return [(e.row, e.reason, e.message) for e in parsed.errors]


def _summary_table(batch: dict[str, Any]) -> Table:
    table = Table("status", "asset", "count", "amount", title=f"Batch {batch['id']}")
    for s in sorted(batch["summary"], key=lambda s: (s["status"], s["asset"])):
        table.add_row(s["status"], s["asset"], str(s["count"]), s["amount"])
    return table


def _done(batch: dict[str, Any]) -> int:
    return sum(s["count"] for s in batch["summary"] if s["status"] in TERMINAL)


def progress_bar(console: Console) -> Progress:
    """The bar ``follow`` draws: the batch, a bar, ended/total and the time elapsed."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ended"),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
    )


def follow(api: Api, batch: dict[str, Any], interval: float, timeout: float) -> dict[str, Any]:
    """Poll the batch with a progress bar until every payout is terminal; the last read."""
    deadline = time.monotonic() + timeout
    total = batch["item_count"]
    with progress_bar(err) as progress:
        task = progress.add_task(f"batch {batch['id']}", total=total, completed=_done(batch))
        while _done(batch) < total:
            if time.monotonic() > deadline:
                fail(f"timed out after {timeout:g} s; {_done(batch)}/{total} ended", 1)
            time.sleep(interval)
            batch = api.call("GET", f"/v1/batches/{batch['id']}")
            progress.update(task, completed=_done(batch))
    return batch


def _final_summary(batch: dict[str, Any]) -> None:
    out.print(_summary_table(batch))
    counts = dict.fromkeys(("finalized", "failed", "cancelled"), 0)
    for s in batch["summary"]:
        if s["status"] in counts:
            counts[s["status"]] += s["count"]
    line = ", ".join(f"{n} {status}" for status, n in counts.items())
    out.print(f"{batch['item_count']} payouts: {line}", highlight=False)
    # One row per (status, asset): the finalized rows are the totals paid, per asset.
    paid = [
        f"{s['amount']} {s['asset']}"
        for s in sorted(batch["summary"], key=lambda s: s["asset"])
        if s["status"] == "finalized"
    ]
    out.print(f"paid: {', '.join(paid) or 'nothing'}", highlight=False)


@batches_app.command("import")
def batches_import(  # noqa: PLR0917 - typer options
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV: to,amount[,asset,reference,memo].",
        ),
    ],
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="Defaults to the file's SHA-256: importing the same file again replays."),
    ] = None,
    follow_batch: Annotated[
        bool,
        typer.Option("--follow/--no-follow", help="Follow the batch until every payout ended."),
    ] = True,
    interval: Interval = 2.0,
    timeout: Timeout = 3600.0,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Check a CSV locally, upload it as one all-or-nothing batch, and follow it.

    Every bad row is listed with its line number (the header is line 1) and nothing is sent.
    The summary at the end counts finalized, failed and cancelled payouts with their totals.
    """
    api = Api.of(api_url, token)
    content = file.read_bytes()
    problems = check_csv(content)
    if problems:
        for line, reason, message in problems:
            err.print(f"{file.name}:{line}: {reason}: {message}", highlight=False, markup=False)
        fail(f"{len(problems)} problem(s) in {file.name}; nothing was uploaded", USAGE)
    digest = hashlib.sha256(content).hexdigest()[:40]
    headers = {"Content-Type": "text/csv", "Idempotency-Key": idempotency_key or f"csv-{digest}"}
    try:
        response = api.send("POST", "/v1/batches", content=content, headers=headers)
    except ApiError as exc:
        report(exc)
    batch: dict[str, Any] = response.json()
    if response.headers.get("Idempotent-Replayed") == "true":
        err.print(
            f"this file was already imported as batch {batch['id']} "
            f"(imported at {batch['created_at']}); nothing new was created",
            highlight=False,
            markup=False,
        )
    else:
        err.print(
            f"imported {file.name} as batch {batch['id']}: {batch['item_count']} payouts",
            highlight=False,
            markup=False,
        )
    if follow_batch:
        batch = follow(api, batch, interval, timeout)
    if as_json:
        print_json(batch)
    elif follow_batch:
        _final_summary(batch)
    else:
        out.print(_summary_table(batch))


@batches_app.command("show")
def batches_show(
    batch_id: BatchId, api_url: ApiUrl = DEFAULT_API_URL, token: Token = "", as_json: AsJson = False
) -> None:
    """Show a batch's progress: count and sum per status and asset."""
    batch = Api.of(api_url, token).call("GET", f"/v1/batches/{batch_id}")
    if as_json:
        print_json(batch)
        return
    out.print(_summary_table(batch))
    out.print(
        f"{batch['item_count']} payouts, created by {batch['created_by']} at {batch['created_at']}",
        highlight=False,
    )


@batches_app.command("watch")
def batches_watch(  # noqa: PLR0917 - typer options
    batch_id: BatchId,
    interval: Interval = 2.0,
    timeout: Timeout = 3600.0,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """Follow a batch with a progress bar until every payout ended, then summarize it."""
    api = Api.of(api_url, token)
    batch = follow(api, api.call("GET", f"/v1/batches/{batch_id}"), interval, timeout)
    if as_json:
        print_json(batch)
    else:
        _final_summary(batch)


@batches_app.command("list")
def batches_list(
    limit: Annotated[int, typer.Option(min=1, max=500, help="Page size.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="The next page's cursor.")] = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = "",
    as_json: AsJson = False,
) -> None:
    """List batches, newest first, from the audit log's batch.create entries (the token
    needs audit:read; the API has no batch list of its own)."""
    params = page_params(limit, cursor, entity_type="batch", action="batch.create")
    page = Api.of(api_url, token).call("GET", "/v1/audit", params=params)
    items = [
        {
            "id": e["entity_id"],
            "item_count": (e.get("after") or {}).get("item_count"),
            "source": (e.get("after") or {}).get("source"),
            "created_by": e["principal"],
            "created_at": e["created_at"],
        }
        for e in page["items"]
    ]
    if as_json:
        print_json({"items": items, "next_cursor": page.get("next_cursor")})
        return
    table = Table("id", "payouts", "source", "created_by", "created_at")
    for b in items:
        table.add_row(
            b["id"], dash(b["item_count"]), dash(b["source"]), b["created_by"], b["created_at"]
        )
    print_page(table, page.get("next_cursor"))


def register(app: typer.Typer) -> None:
    """Add ``tronpay batches`` to the root app."""
    app.add_typer(batches_app, name="batches")
