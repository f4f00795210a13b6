"""The notebooks: committed clean, and the scheduled report runs through papermill with parameters.

``make test`` also runs every notebook top to bottom with nbmake (``pytest --nbmake notebooks``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DATA = ROOT / "data"


def test_there_are_three_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_explore_payouts.ipynb", "02_reconcile_ledger.ipynb", "03_scheduled_report.ipynb",
    ]  # fmt: skip


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: a cell has outputs"
            assert cell.get("execution_count") is None, f"{path.name}: an execution count"


def test_scheduled_report_has_a_parameters_cell() -> None:
    nb = json.loads((ROOT / "notebooks" / "03_scheduled_report.ipynb").read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    source = "".join(tagged[0]["source"])
    for name in ("ledger", "mapping", "ids", "out_dir", "base_url"):
        assert f"\n{name} = " in f"\n{source}"


@pytest.mark.slow
def test_scheduled_report_through_papermill(tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    # a ledger of our own against the demo sandbox: one payout as booked, one the platform lacks,
    # one booked paid that FAILED
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(
        "id_payout,amount,currency,status\n"
        "PO-DEMO-0005,22000,INR,SUCCESS\n"
        "PO-NOT-THERE,10.00,USD,SUCCESS\n"
        "PO-DEMO-0139,7825015,IDR,SUCCESS\n"
    )
    ids = tmp_path / "ids.txt"
    ids.write_text("PO-DEMO-0132\n")  # on the platform, not in this ledger
    out = tmp_path / "report"
    executed = tmp_path / "run.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "03_scheduled_report.ipynb"),
        str(executed),
        parameters={"ledger": str(ledger), "ids": str(ids), "out_dir": str(out)},
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
    )
    rows = pd.read_csv(out / "rows.csv", dtype=str, keep_default_na=False).set_index("id_payout")
    assert rows["category"].to_dict() == {
        "PO-DEMO-0005": "matched",
        "PO-NOT-THERE": "missing_on_platform",
        "PO-DEMO-0139": "status_mismatch",
        "PO-DEMO-0132": "missing_in_ledger",
    }
    assert {p.name for p in out.iterdir()} >= {
        "report.html", "report.xlsx", "rows.csv", "summary.csv",
    }  # fmt: skip
    nb = json.loads(executed.read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and str(ledger) in "".join(injected[0]["source"])
    text = json.dumps(nb)
    assert "payrecon scheduled report: 4 rows, 3 exceptions" in text
