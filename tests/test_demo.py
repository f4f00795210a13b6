"""payrecon demo: one command on a fresh checkout shows the whole product on the sandbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from payrecon.cli import run_demo
from payrecon.core.categories import CATEGORIES
from payrecon.errors import InputError

ROOT = Path(__file__).resolve().parent.parent


def test_demo_command_writes_the_report_with_every_category(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "payrecon", "demo", "--out", str(out)],
        cwd=tmp_path,  # not the repo: the demo finds data/ beside the package
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} >= {
        "report.html", "report.xlsx", "rows.csv", "summary.csv", "exceptions.csv", "set_aside.csv",
        "changes.csv", "suggestions.csv", "balances.csv",
    }  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    assert str((out / "report.html").resolve()) in proc.stdout  # it says where
    assert lines[-1].startswith("payrecon demo: ") and "report=" in lines[-1]

    rows = pd.read_csv(out / "rows.csv", dtype=str, keep_default_na=False)
    assert set(rows["category"]) == set(CATEGORIES)
    flags = {w for issues in rows["issues"] for w in issues.split(";")}
    assert {"fee_schedule_mismatch", "test_payment"} <= flags
    # the payouts created live went through: final ones by callback, one still PROCESSING
    live = rows.set_index("id_payout").loc[[f"PO-LIVE-000{n}" for n in range(1, 5)]]
    assert live["platform_status"].tolist() == ["SUCCESS", "SUCCESS", "FAILED", "PROCESSING"]
    assert "callbacks received" in proc.stdout and "3 callbacks received" in proc.stdout
    # every ledger row is there once
    # every non-blank line of the ledger is a ledger row, the header, or set aside with its reason
    text_lines = (ROOT / "data" / "demo_ledger.csv").read_text().splitlines()
    where = {ln.split(";")[2] if ";" in ln else ln: n for n, ln in enumerate(text_lines, 1)}
    aside = pd.read_csv(out / "set_aside.csv", dtype=str, keep_default_na=False)
    assert aside[["source_row", "reason"]].values.tolist() == [
        ["1", "preamble"],
        [str(where["Total"]), "total"],
        [str(where["Exported by LedgerPro 7.2"]), "footer"],
    ]
    non_blank = sum(1 for ln in text_lines if ln.strip())
    assert (rows["source_row"] != "").sum() == non_blank - 1 - len(aside)
    assert (rows["category"] == "no_payout_id").sum() == 2  # the bank's charges

    # the recurring run's plants (data/make_demo_data.py): yesterday, then today
    changes = pd.read_csv(out / "changes.csv", dtype=str, keep_default_na=False)
    by_change = changes.groupby("change")["id_payout"].apply(set).to_dict()
    assert {"PO-DEMO-0173", "PO-LIVE-0001"} <= by_change["new"]
    assert {"PO-DEMO-0242", "PO-DEMO-0188"} <= by_change["changed"]
    assert "PO-DEMO-0197" in by_change["resolved"] and by_change["still_open"]
    reversed_row = rows.set_index("id_payout").loc["PO-DEMO-0173"]
    assert reversed_row["issues"] == "status_mismatch;status_regressed"
    assert reversed_row["status_history"].startswith("SUCCESS (seen")
    suggested = pd.read_csv(out / "suggestions.csv", dtype=str, keep_default_na=False)
    pairs = dict(zip(suggested["ledger_id"], suggested["suggested_id_payout"], strict=True))
    assert pairs["PO-DEMO 0401"] == "PO-DEMO-0401" and pairs["PO-DEMO-0420"] == "PO-DEMO-0402"
    assert pairs["BATCH 18.11"] == "PO-DEMO-0403;PO-DEMO-0404"
    tie = pd.read_csv(out / "balances.csv", dtype=str).set_index("currency")
    assert tie.loc["IDR", "gap"] == "2500099" and (tie.drop("IDR")["gap"].astype(float) == 0).all()
    dups = rows[rows["id_payout"] == "PO-DEMO-0101"]
    assert dups["duplicate_role"].tolist() == ["extra", "kept"]
    summary = pd.read_csv(out / "summary.csv", dtype=str, keep_default_na=False)
    assert set(summary.loc[summary["section"] == "conservation", "holds"]) == {"true"}

    html = (out / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == 5 and "<script" not in html
    for anchor in ('id="since-last-run"', 'id="regressions"', 'id="suggestions"', 'id="tie-out"'):
        assert anchor in html
    assert 'id="proof-ledger_rows"' in html
    assert openpyxl.load_workbook(out / "report.xlsx").sheetnames[:3] == [
        "Summary", "Exceptions", "Rows",
    ]  # fmt: skip


def test_demo_without_its_data_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="demo data not found"):
        run_demo(tmp_path / "out", data_dir=tmp_path)
    assert not (tmp_path / "out").exists()
