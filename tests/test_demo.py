"""payrecon demo: one command on a fresh checkout shows the whole product on the sandbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from payrecon.categories import CATEGORIES
from payrecon.demo import LIVE_PAYOUTS, run_demo
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
        "report.html", "report.xlsx", "rows.csv", "summary.csv", "exceptions.csv",
    }  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    assert str((out / "report.html").resolve()) in proc.stdout  # it says where
    assert lines[-1].startswith("payrecon demo: ") and "report=" in lines[-1]

    rows = pd.read_csv(out / "rows.csv", dtype=str, keep_default_na=False)
    assert set(rows["category"]) == set(CATEGORIES)
    flags = {w for issues in rows["issues"] for w in issues.split(";")}
    assert {"fee_schedule_mismatch", "test_payment"} <= flags
    # the payouts created live went through: final ones by callback, one still PROCESSING
    live = rows.set_index("id_payout").loc[[p[0] for p in LIVE_PAYOUTS]]
    assert live["platform_status"].tolist() == ["SUCCESS", "SUCCESS", "FAILED", "PROCESSING"]
    assert "callbacks received" in proc.stdout and "3 callbacks received" in proc.stdout
    # every ledger row is there once
    ledger_lines = (ROOT / "data" / "demo_ledger.csv").read_text().splitlines()
    assert (rows["source_row"] != "").sum() == len(ledger_lines) - 2  # title and header

    html = (out / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == 5 and "<script" not in html
    assert openpyxl.load_workbook(out / "report.xlsx").sheetnames[:3] == [
        "Summary", "Exceptions", "Rows",
    ]  # fmt: skip


def test_demo_without_its_data_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="demo data not found"):
        run_demo(tmp_path / "out", data_dir=tmp_path)
    assert not (tmp_path / "out").exists()
