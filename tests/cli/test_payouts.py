"""``tronpay payouts ...`` against a real service and engine paying on a devnet."""

from __future__ import annotations

import json
import re

from tests.cli.conftest import RECIPIENT, SOLIDIFY_DEPTH, Service, run


def _create(service: Service, amount: str, *extra: str) -> dict[str, object]:
    created = run(
        ["payouts", "create", "--to", RECIPIENT, "--amount", amount, "--json", *extra],
        service.env,
    )
    assert created.returncode == 0, created.stderr
    body: dict[str, object] = json.loads(created.stdout)
    return body


def test_no_token_says_how_to_get_one_and_exits_2(service: Service) -> None:
    env = {k: v for k, v in service.env.items() if k != "TRONPAY_TOKEN"}
    for args in (["payouts", "list"], ["batches", "show", "ba_x"], ["webhooks", "list"]):
        result = run(args, env)
        assert result.returncode == 2, (args, result.stderr)
        assert "no API token: set TRONPAY_TOKEN or run `tronpay token …`" in result.stderr


def test_a_rejected_token_exits_2(service: Service) -> None:
    result = run(["payouts", "list"], {**service.env, "TRONPAY_TOKEN": "not-a-jwt"})
    assert result.returncode == 2
    assert "HTTP 401" in result.stderr


def test_watch_prints_every_state_and_the_confirmations(service: Service) -> None:
    payout = _create(service, "1.25", "--reference", "watch-1")
    watched = run(["payouts", "watch", str(payout["id"]), "--interval", "0.2"], service.env)
    assert watched.returncode == 0, watched.stderr
    lines = watched.stdout.splitlines()
    states = [line.split()[1] for line in lines if re.match(r"^\d{4}-\d\d-\d\d", line)]
    # Every state, in order, even those passed between two polls (from the audit log).
    assert states == ["queued", "submitted", "confirmed", "finalized"], watched.stdout
    assert "(payout.submit)" in watched.stdout
    assert re.search(r"^  fee paid \d+(\.\d+)? TRX, [\d,]+ energy$", watched.stdout, re.M)
    counted = [line for line in lines if "confirmed " in line and "/" in line]
    assert counted, watched.stdout
    required = SOLIDIFY_DEPTH + 1
    for line in counted:
        found = re.search(r"confirmed (\d+)/(\d+), about (\d+) s to finality", line)
        assert found, line
        have, need, left = map(int, found.groups())
        assert need == required
        assert 1 <= have <= need
        assert left == (need - have) * 3
    assert "\x1b[" not in watched.stdout  # not a terminal: no colour codes
    shown = run(["payouts", "show", str(payout["id"])], service.env)
    # How the energy was paid: a TRC20 transfer from an unstaked wallet burns all of it.
    assert re.search(r"\benergy_from_stake\s+│\s+0\s+│", shown.stdout, re.M), shown.stdout
    assert re.search(r"\benergy_burned\s+│\s+[1-9][\d,]*\s+│", shown.stdout, re.M), shown.stdout


def test_watch_without_audit_read_still_ends_and_says_why(service: Service) -> None:
    token = run(["token", "--sub", "ops", "--scope", "payouts:read payouts:write"], service.env)
    env = {**service.env, "TRONPAY_TOKEN": token.stdout.strip()}
    created = run(["payouts", "create", "--to", RECIPIENT, "--amount", "0.5", "--json"], env)
    payout_id = json.loads(created.stdout)["id"]
    watched = run(["payouts", "watch", payout_id, "--interval", "0.2"], env)
    assert watched.returncode == 0, watched.stderr
    assert "cannot read the audit log" in watched.stdout
    states = [line.split()[1] for line in watched.stdout.splitlines() if line[:2] == "20"]
    assert states[-1] == "finalized"
    assert len(states) == len(set(states))  # each state printed once


def test_create_show_list_for_humans_and_as_json(service: Service) -> None:
    human = run(
        ["payouts", "create", "--to", RECIPIENT, "--amount", "2", "--reference", "h-1",
         "--idempotency-key", "cli-h-1"],
        service.env,
    )  # fmt: skip
    assert human.returncode == 0, human.stderr
    assert "Payout created" in human.stdout
    payout_id = re.search(r"po_[0-9A-Z]+", human.stdout)
    assert payout_id, human.stdout
    again = run(
        ["payouts", "create", "--to", RECIPIENT, "--amount", "2", "--reference", "h-1",
         "--idempotency-key", "cli-h-1"],
        service.env,
    )  # fmt: skip
    assert "replayed: created before with this key" in again.stdout
    assert payout_id.group(0) in again.stdout

    shown = run(["payouts", "show", payout_id.group(0), "--json"], service.env)
    assert json.loads(shown.stdout)["reference"] == "h-1"
    shown_human = run(["payouts", "show", payout_id.group(0)], service.env)
    assert "reference" in shown_human.stdout
    assert "h-1" in shown_human.stdout

    listed = json.loads(
        run(["payouts", "list", "--reference", "h-1", "--json"], service.env).stdout
    )
    assert [p["id"] for p in listed["items"]] == [payout_id.group(0)]
    # A second payout of this test's own, so one row of a page is one of several whatever
    # else the module's service holds.
    second = run(["payouts", "create", "--to", RECIPIENT, "--amount", "1"], service.env)
    assert second.returncode == 0, second.stderr
    table = run(["payouts", "list", "--limit", "1"], service.env)
    assert table.returncode == 0
    assert "next page: --cursor " in table.stdout  # one row of several: a next page


def test_exit_codes_not_found_conflict_and_validation(service: Service) -> None:
    missing = run(["payouts", "show", "po_nope"], service.env)
    assert missing.returncode == 3
    assert "HTTP 404" in missing.stderr

    bad = run(["payouts", "create", "--to", "Tnope", "--amount", "1"], service.env)
    assert bad.returncode == 1
    assert "validation_error" in bad.stderr

    payout = _create(service, "0.75")
    watched = run(["payouts", "watch", str(payout["id"]), "--interval", "0.2"], service.env)
    assert watched.returncode == 0, watched.stderr
    too_late = run(["payouts", "cancel", str(payout["id"])], service.env)
    assert too_late.returncode == 4
    assert "not_cancellable" in too_late.stderr
    not_failed = run(["payouts", "retry", str(payout["id"])], service.env)
    assert not_failed.returncode == 4
    assert "not_retryable" in not_failed.stderr
    self_approve = run(["payouts", "approve", str(payout["id"])], service.env)
    assert self_approve.returncode == 4


def test_cancel_before_submission(service: Service) -> None:
    over_limit = run(["payouts", "create", "--to", RECIPIENT, "--amount", "5000"], service.env)
    assert over_limit.returncode == 4  # refused by policy
    assert "policy_max_per_payout" in over_limit.stderr
    # Above the devnet policy's approval threshold: it waits in pending_approval.
    payout = _create(service, "600", "--reference", "big-1")
    assert payout["status"] == "pending_approval", payout
    cancelled = run(["payouts", "cancel", str(payout["id"])], service.env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert "Payout cancelled" in cancelled.stdout
    assert "cancelled" in cancelled.stdout


def test_quote_for_humans_and_as_json(service: Service) -> None:
    as_json = run(["payouts", "quote", "--to", RECIPIENT, "--amount", "3", "--json"], service.env)
    assert as_json.returncode == 0, as_json.stderr
    quote = json.loads(as_json.stdout)
    assert quote["energy_needed"] > 0
    human = run(["payouts", "quote", "--to", RECIPIENT, "--amount", "3"], service.env)
    assert "energy_needed" in human.stdout
    assert str(quote["energy_needed"]) in human.stdout
