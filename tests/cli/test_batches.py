"""``tronpay batches ...``: local CSV checks, the upload, the re-import, following a batch."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli.conftest import RECIPIENT, Service, run


def test_every_bad_row_is_shown_with_its_line_and_nothing_is_uploaded(
    service: Service, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "to,amount,asset,reference\n"
        f"{RECIPIENT},1,USDT,ok-1\n"
        "Tnope,1,USDT,bad-2\n"
        f"{RECIPIENT},1.1234567,USDT,bad-3\n"
        f"{RECIPIENT},2,EUR,bad-4\n"
        f"{RECIPIENT},3,USDT,ok-1\n"
    )
    result = run(["batches", "import", str(bad)], service.env)
    assert result.returncode == 2
    assert "bad.csv:3: invalid_address_" in result.stderr
    assert "bad.csv:4: invalid_amount" in result.stderr
    assert "bad.csv:5: enum" in result.stderr
    assert "bad.csv:6: duplicate_reference" in result.stderr
    assert "bad.csv:2" not in result.stderr
    assert "4 problem(s) in bad.csv; nothing was uploaded" in result.stderr
    listed = json.loads(
        run(["payouts", "list", "--reference", "ok-1", "--json"], service.env).stdout
    )
    assert listed["items"] == []


def test_import_follows_the_batch_and_a_reimport_says_so(service: Service, tmp_path: Path) -> None:
    good = tmp_path / "march.csv"
    good.write_text(
        "to,amount,asset,reference,memo\n"
        f"{RECIPIENT},1.5,USDT,march-1,thanks\n"
        f"{RECIPIENT},2,USDT,march-2,\n"
        f"{RECIPIENT},3,TRX,march-3,\n"
    )
    imported = run(["batches", "import", str(good), "--interval", "0.2"], service.env)
    assert imported.returncode == 0, imported.stderr
    batch_id = re.search(r"as batch (ba_[0-9A-Z]+): 3 payouts", imported.stderr)
    assert batch_id, imported.stderr
    assert "3 payouts: 3 finalized, 0 failed, 0 cancelled" in imported.stdout
    assert re.search(r"finalized\W+USDT\W+2\W+3\.5\W", imported.stdout), imported.stdout
    assert re.search(r"finalized\W+TRX\W+1\W+3\W", imported.stdout), imported.stdout
    assert "paid: 3 TRX, 3.5 USDT" in imported.stdout

    again = run(["batches", "import", str(good), "--no-follow", "--json"], service.env)
    assert again.returncode == 0, again.stderr
    assert f"this file was already imported as batch {batch_id.group(1)} (imported at " in (
        again.stderr
    )
    assert json.loads(again.stdout)["id"] == batch_id.group(1)

    shown = json.loads(run(["batches", "show", batch_id.group(1), "--json"], service.env).stdout)
    assert shown["item_count"] == 3
    assert {s["status"] for s in shown["summary"]} == {"finalized"}
    human = run(["batches", "show", batch_id.group(1)], service.env)
    assert f"Batch {batch_id.group(1)}" in human.stdout
    watched = run(["batches", "watch", batch_id.group(1)], service.env)
    assert watched.returncode == 0, watched.stderr
    assert "3 payouts: 3 finalized, 0 failed, 0 cancelled" in watched.stdout

    listed = json.loads(run(["batches", "list", "--json"], service.env).stdout)
    assert batch_id.group(1) in [b["id"] for b in listed["items"]]
    assert run(["batches", "list"], service.env).stdout.count(batch_id.group(1)) == 1
    missing = run(["batches", "show", "ba_nope"], service.env)
    assert missing.returncode == 3
