"""The recurring reconciliation on the sandbox, over loopback HTTP: consecutive runs and their
changes, a status regression, --fail-on new, the balance tie-out with a planted gap, and
confirmed matches."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from payrecon.cli import main
from payrecon.sandbox import Sandbox, SandboxConfig, running
from payrecon.statuses import conform, write_statuses

SEED_HEADER = "id_payout,amount,currency,status,fee_amount,created_at,processed_at,is_test\n"


def seed_line(pid: str, amount: str, status: str, day: str = "2026-11-10") -> str:
    processed = "" if status == "PROCESSING" else f"{day}T09:05:00Z"
    return f"{pid},{amount},EUR,{status},1.00,{day}T09:00:00Z,{processed},false\n"


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Sandbox]:
    """An empty sandbox named by the environment; the working directory a fresh folder."""
    with running(SandboxConfig(final_after=0.2)) as sandbox:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("PAYRECON_BASE_URL", sandbox.base_url)
        monkeypatch.setenv("PAYRECON_MERCHANT_CODE", sandbox.merchant_code)
        monkeypatch.setenv("PAYRECON_SECRET", sandbox.secret)
        yield sandbox


def seed(sb: Sandbox, path: Path, lines: list[str]) -> None:
    path.write_text(SEED_HEADER + "".join(lines))
    sb.seed(path)


def write_ledger(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A plain ledger: id, amount, status (EUR, one date)."""
    text = "id_payout,amount,currency,status,date\n"
    text += "".join(f"{pid},{amount},EUR,{status},2026-11-10\n" for pid, amount, status in rows)
    path.write_text(text)
    return path


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def reconcile(ledger: Path, out: str, *args: str) -> int:
    return main(["reconcile", str(ledger), "--out", out, "--no-progress", *args])


def test_three_runs_new_changed_resolved_still_open_and_a_regression(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(
        sb,
        tmp_path / "seed.csv",
        [
            seed_line("R-1", "100.00", "SUCCESS"),
            seed_line("R-2", "200.00", "SUCCESS"),
            seed_line("R-3", "300.00", "SUCCESS"),
            seed_line("R-4", "400.00", "SUCCESS"),
            seed_line("R-5", "500.00", "SUCCESS"),
            seed_line("R-6", "600.00", "PROCESSING"),
        ],
    )
    ledger = tmp_path / "payouts.csv"
    write_ledger(
        ledger,
        [
            ("R-1", "100.00", "SUCCESS"),
            ("R-2", "210.00", "SUCCESS"),  # amount off: fixed by the next morning
            ("R-3", "300.00", "FAILED"),  # wrong status; tomorrow a wrong amount instead
            ("R-4", "400.00", "SUCCESS"),
            ("R-5", "500.00", "SUCCESS"),
            ("R-6", "600.00", "PROCESSING"),
        ],
    )
    # -- day 1: the first run of this name, everything open is new
    assert reconcile(ledger, "day1", "--fail-on", "new") == 4
    day1 = read(Path("day1/changes.csv")).set_index("id_payout")
    assert day1["change"].to_dict() == {"R-3": "new", "R-2": "new"}
    assert "first run of this name 'payouts.csv'" in capsys.readouterr().out

    # -- overnight: R-1 turns FAILED on the platform; the books are corrected and moved on
    seed(sb, tmp_path / "reversal.csv", [seed_line("R-1", "100.00", "FAILED")])
    write_ledger(
        ledger,
        [
            ("R-1", "100.00", "SUCCESS"),
            ("R-2", "200.00", "SUCCESS"),
            ("R-3", "310.00", "SUCCESS"),
            ("R-4", "401.00", "SUCCESS"),
            ("R-5", "500.00", "SUCCESS"),
            ("R-6", "600.00", "PROCESSING"),
        ],
    )
    code = reconcile(ledger, "day2", "--refresh", "--fail-on", "new:status_regressed")
    assert code == 4
    err = capsys.readouterr().err
    assert "--fail-on: found new:status_regressed=1" in err
    day2 = read(Path("day2/changes.csv")).set_index("id_payout")
    assert day2["change"].to_dict() == {
        "R-1": "new",
        "R-4": "new",
        "R-3": "changed",
        "R-2": "resolved",
    }
    assert day2.loc["R-3", "category_before"] == "status_mismatch"
    assert day2.loc["R-3", "category_now"] == "amount_mismatch"
    assert day2.loc["R-2", "category_now"] == "matched"
    assert day2.loc["R-3", "runs_open"] == "2"
    assert day2.loc["R-3", "open_since"] == day1.loc["R-3", "open_since"]
    rows = read(Path("day2/rows.csv")).set_index("id_payout")
    assert rows.loc["R-1", "issues"] == "status_mismatch;status_regressed"
    history = rows.loc["R-1", "status_history"]
    assert history.startswith("SUCCESS (seen 20") and " -> FAILED (seen 20" in history
    html = Path("day2/report.html").read_text()
    assert html.index("Since the last run") < html.index("By category")
    assert html.index('id="regressions"') < html.index("By category")
    first_exception = html.index('<tr class="row-', html.index('class="exceptions"'))
    assert "R-1" in html[first_exception : first_exception + 200]  # regressions first

    # -- day 3: nothing moved; nothing new, so --fail-on new passes
    assert reconcile(ledger, "day3", "--fail-on", "new,new:amount_mismatch") == 0
    day3 = read(Path("day3/changes.csv")).set_index("id_payout")
    assert set(day3["change"]) == {"still_open"}
    assert day3["runs_open"].to_dict() == {"R-1": "2", "R-3": "3", "R-4": "2"}
    assert day3.loc["R-3", "open_since"] == day1.loc["R-3", "open_since"]
    out = capsys.readouterr().out
    assert "new=0, changed=0, resolved=0, still_open=3" in out.splitlines()[-1]


def test_fail_on_new_needs_the_run_history(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = write_ledger(tmp_path / "l.csv", [("R-1", "1.00", "SUCCESS")])
    assert reconcile(ledger, "o", "--no-store", "--fail-on", "new") == 2
    assert "compares with the last run kept in the store" in capsys.readouterr().err
    assert reconcile(ledger, "o", "--fail-on", "new:bogus") == 2
    assert "unknown word(s) 'new:bogus'" in capsys.readouterr().err
    assert reconcile(ledger, "o", "--match-window", "-1") == 2
    assert not Path("o").exists()


def test_the_tie_out_finds_payouts_in_flight_that_nobody_named(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = sb.client()
    account = {"accountName": "Test Account", "accountNumber": "1234"}
    for pid, amount in (("T-1", "1099"), ("T-2", "2099"), ("T-3", "3099")):  # stay PROCESSING
        client.create_payout(
            pid, amount=Decimal(amount), currency="IDR", account=account, operator="BNK_000"
        )
    ledger = tmp_path / "l.csv"
    ledger.write_text("id_payout,amount,currency\nT-1,1099,IDR\n")
    assert reconcile(ledger, "o") == 0
    tie = read(Path("o/balances.csv")).set_index("currency")
    assert tie.loc["IDR", "platform_pending_payout_amount"] == "6297"
    assert tie.loc["IDR", "processing_seen_amount"] == "1099"
    assert tie.loc["IDR", "processing_seen_count"] == "1"
    assert tie.loc["IDR", "gap"] == "5198"  # T-2 and T-3: in flight, named by nobody
    assert "neither the ledger nor --ids" in tie.loc["IDR", "note"]
    assert tie.loc["EUR", "gap"] == "0.00"
    assert "balance tie-out: gaps in IDR 5198" in capsys.readouterr().out
    assert 'id="balance-IDR"' in Path("o/report.html").read_text()
    # named by --ids, they are seen: no gap, and they show up as missing_in_ledger instead
    ids = tmp_path / "ids.txt"
    ids.write_text("T-2\nT-3\n")
    assert reconcile(ledger, "o2", "--ids", str(ids)) == 0
    assert read(Path("o2/balances.csv")).set_index("currency").loc["IDR", "gap"] == "0"
    # the balances token named that one call and nothing else
    assert ["GET /balances"] in sb.stats().token_operations


def _statuses_file(path: Path, rows: list[dict[str, object]]) -> Path:
    base = {"status": "SUCCESS", "currency": "EUR", "http_status": 200, "error": ""}
    full = [{**base, "created_at": "2026-11-10T09:00:00Z", "is_test": False, **r} for r in rows]
    write_statuses(conform(pd.DataFrame(full)), path)
    return path


def test_suggestions_then_confirmed_matches_count_as_matched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    ledger = tmp_path / "l.csv"
    ledger.write_text(
        "id_payout,amount,currency,date\n"
        "PO 17,120.00,EUR,2026-11-10\n"  # a typo: breaks the id rule
        "BATCH,300.00,EUR,2026-11-10\n"  # one booking for two payouts
        "PO-1,10.00,EUR,2026-11-10\n"
    )
    d = Decimal
    statuses = _statuses_file(
        tmp_path / "statuses.csv",
        [
            {"id_payout": "PO 17", "error": "invalid_id", "http_status": None, "status": None},
            {"id_payout": "BATCH", "error": "invalid_id", "http_status": None, "status": None},
            {"id_payout": "PO-1", "amount": d("10.00"), "fee_amount": d("1")},
            {"id_payout": "PO-17", "amount": d("120.00"), "fee_amount": d("1")},
            {"id_payout": "A", "amount": d("100.00"), "fee_amount": d("1")},
            {"id_payout": "B", "amount": d("200.00"), "fee_amount": d("1")},
        ],
    )
    args = ["--statuses", str(statuses), "--no-progress"]
    assert reconcile(ledger, "o1", *args) == 0
    sug = read(Path("o1/suggestions.csv")).set_index("source_row")
    assert sug["suggested_id_payout"].to_dict() == {"2": "PO-17", "3": "A;B"}
    before = read(Path("o1/rows.csv"))
    assert (before["category"] == "missing_in_ledger").sum() == 3

    # the analyst keeps both suggestions, and one stale line from an older export
    confirmed = tmp_path / "confirmed.csv"
    text = Path("o1/suggestions.csv").read_text()
    confirmed.write_text(text + "99,OLD 1,fetch_error,5.00,EUR,,PO-1,,,,,,\n")
    assert reconcile(ledger, "o2", *args, "--confirmed", str(confirmed)) == 0
    err = capsys.readouterr().err  # a note on the run: stderr, beside the results
    assert "confirmed matches: 2 applied, 1 stale" in err
    assert "the ledger has no row 99" in err
    rows = read(Path("o2/rows.csv")).set_index("source_row")
    assert rows.loc["2", "id_payout"] == "PO-17" and rows.loc["2", "category"] == "matched"
    assert rows.loc["3", "id_payout"] == "A+B" and rows.loc["3", "category"] == "matched"
    assert rows.loc["3", "platform_amount"] == "300.00"
    assert "missing_in_ledger" not in set(rows["category"])
    assert read(Path("o2/suggestions.csv")).empty


def test_a_bad_confirmed_file_is_refused_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    confirmed = tmp_path / "c.csv"
    confirmed.write_text("source_row,id_payout\n2,PO-1\nx,PO-2\n3,PO 3\n")
    ledger = tmp_path / "l.csv"
    ledger.write_text("id_payout,amount\nPO-1,1\n")
    statuses = _statuses_file(tmp_path / "s.csv", [{"id_payout": "PO-1", "amount": Decimal(1)}])
    code = reconcile(
        ledger, str(tmp_path / "o"), "--statuses", str(statuses), "--confirmed", str(confirmed)
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "row 3, column 'source_row': not a row number: 'x'" in err
    assert "row 4, column 'id_payout': not a payout id: 'PO 3'" in err


def test_statuses_runs_are_tracked_with_a_run_name(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--statuses alone keeps no history; with --run-name it uses the store fetch made."""
    ledger = write_ledger(tmp_path / "l.csv", [("R-9", "9.00", "SUCCESS")])
    statuses = tmp_path / "s.csv"
    assert main(["fetch", str(ledger), "--out", str(statuses), "--no-progress"]) == 0
    assert reconcile(ledger, "a", "--statuses", str(statuses)) == 0
    assert not Path("a/changes.csv").exists()
    assert reconcile(ledger, "b", "--statuses", str(statuses), "--run-name", "daily") == 0
    assert read(Path("b/changes.csv"))["change"].tolist() == ["new"]  # missing_on_platform
    assert reconcile(ledger, "c", "--statuses", str(statuses), "--run-name", "daily") == 0
    assert read(Path("c/changes.csv"))["change"].tolist() == ["still_open"]
    code = reconcile(
        ledger, "d", "--statuses", str(statuses), "--run-name", "x", "--store", "none.db"
    )
    assert code == 2 and "no store at none.db" in capsys.readouterr().err
