"""The conservation proof: it holds on every valid input, and a broken count fails it loudly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli_reconcile import offline

from payrecon.core import _assemble, reconcile
from payrecon.core._conservation import prove
from payrecon.errors import EXIT_PROOF, ConservationError
from payrecon.statuses import conform

D = Decimal
DATA = Path(__file__).resolve().parent.parent / "data"


def _proof(**kw: Any) -> Any:
    base: dict[str, Any] = {
        "ledger_rows": 3,
        "ledger_rows_by_category": {"matched": 2, "amount_mismatch": 1},
        "money_in": {"amount": {"EUR": D("30.00")}},
        "money_by_category": {"amount": {"EUR": {"matched": D("20"), "amount_mismatch": D("10")}}},
        "asked": 4,
        "answered": 3,
        "errors": {"not_found": 1},
    }
    return prove(**{**base, **kw})


def test_a_proof_that_adds_up_holds_and_says_how() -> None:
    proof = _proof(set_aside={"total": 2, "heading": 1}, rows_read=6)
    assert proof.holds
    proof.verify()  # no error
    text = proof.text()
    assert "rows read 6 = ledger rows + set aside 6" in text
    assert "set aside: total 2 + set aside: heading 1" in text
    assert "ledger amounts in EUR 30.00 = " in text and "matched 20.00" in text
    assert "payouts asked of the platform 4 = answered + errors 4" in text


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"rows_read": 7, "set_aside": {"total": 2}}, "rows read 7 != ledger rows + set aside 5"),
        ({"ledger_rows": 4}, "ledger rows 4 != ledger rows by category 3"),
        ({"money_in": {"amount": {"EUR": D("30.01")}}}, "ledger amounts in EUR 30.01 !="),
        ({"answered": 2}, "payouts asked of the platform 4 != answered + errors 3"),
    ],
)
def test_what_did_not_add_up_is_named(change: dict[str, Any], named: str) -> None:
    proof = _proof(**change)
    assert not proof.holds and len(proof.failures) == 1
    with pytest.raises(ConservationError, match="conservation proof failed") as err:
        proof.verify()
    assert named in str(err.value)
    assert err.value.exit_code == EXIT_PROOF == 5


# -- the property: never fails on valid inputs -----------------------------------------------

IDS = [f"P{i}" for i in range(7)] + ["bad id", ""]
money = st.decimals(min_value=D("0"), max_value=D("1000"), places=2)
ledger_row = st.fixed_dictionaries(
    {
        "id_payout": st.sampled_from(IDS),
        "amount": money,
        "currency": st.sampled_from(["EUR", "IDR", "USD", None]),
        "fee": st.one_of(st.none(), money),
        "status": st.sampled_from(["SUCCESS", "FAILED", "PROCESSING", None]),
    }
)
platform_row = st.fixed_dictionaries(
    {
        "id_payout": st.sampled_from([*IDS[:7], "Q1", "Q2"]),
        "error": st.sampled_from(["", "", "", "not_found", "timeout", "invalid_id"]),
        "amount": money,
        "currency": st.sampled_from(["EUR", "IDR"]),
        "fee_amount": st.one_of(st.none(), money),
        "status": st.sampled_from(["SUCCESS", "FAILED", "REFUSED", "PROCESSING"]),
    }
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lrows=st.lists(ledger_row, max_size=14),
    prows=st.lists(platform_row, max_size=12),
    extra=st.lists(st.sampled_from([*IDS[:7], "Q1", "Q3"]), max_size=4),
    aside=st.dictionaries(st.sampled_from(["heading", "total", "filtered"]), st.integers(0, 5)),
    has_fee=st.booleans(),
)
def test_the_proof_never_fails_on_valid_inputs(
    lrows: list[dict[str, Any]],
    prows: list[dict[str, Any]],
    extra: list[str],
    aside: dict[str, int],
    has_fee: bool,
) -> None:
    frame = pd.DataFrame(lrows, columns=["id_payout", "amount", "currency", "fee", "status"])
    frame["amount"] = pd.Series([r["amount"] for r in lrows], dtype=object)
    frame["fee"] = pd.Series([r["fee"] for r in lrows], dtype=object)
    frame["source_row"] = range(2, len(lrows) + 2)
    if not has_fee:
        frame = frame.drop(columns="fee")
    rows = []
    for p in prows:
        if p["error"]:
            rows.append({"id_payout": p["id_payout"], "error": p["error"]})
        else:
            rows.append({**p, "http_status": 200, "is_test": False})
    table = conform(pd.DataFrame(rows)) if rows else conform({"id_payout": []})
    read = len(lrows) + sum(aside.values())
    rec = reconcile(frame, table, ids=extra, set_aside=aside, rows_read=read)  # check=True
    assert rec.conservation is not None and rec.conservation.holds
    part = rec.summary[rec.summary["section"] == "conservation"]
    assert part["holds"].all()
    keys = set(part["key"])
    assert {"rows_read", "ledger_rows", "platform_payouts"} <= keys
    currencies = {k.split(":")[1] for k in keys if k.startswith("ledger_amount:")}
    ledger_rows = rec.rows[rec.rows["source_row"].notna()]
    keyed = ledger_rows["ledger_currency"].fillna(ledger_rows["platform_currency"])
    assert currencies == set(keyed.fillna("(unknown)"))
    assert any(k.startswith("ledger_fee:") for k in keys) == (has_fee and bool(lrows))


def test_summary_csv_carries_the_proof(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert offline(DATA / "ledger.csv", out, "--mapping", str(DATA / "mapping.toml")) == 0
    summary = pd.read_csv(out / "summary.csv", dtype=str, keep_default_na=False)
    proof = summary[summary["section"] == "conservation"].set_index("key")
    assert proof.loc["ledger_rows", "count"] == proof.loc["ledger_rows", "equals"] == "40"
    assert proof.loc["ledger_amount:EUR", "ledger_amount"] == "3530.81"
    assert proof.loc["ledger_amount:EUR", "equals"] == "3530.81"
    assert set(proof["holds"]) == {"true"}
    assert proof.loc["platform_payouts", "terms"].startswith("answered 40 + error not_found 1")
    html = (out / "report.html").read_text()
    assert 'id="proof-ledger_rows"' in html and "nothing fell between the cracks" in html


def test_a_failing_proof_writes_the_outputs_then_exits_5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug planted in the sums (one EUR cent lost on the way in): the run still writes what
    it has for the investigation, then exits 5 naming the equation."""
    real = _assemble.summarise

    def lossy(*args: Any, **kw: Any) -> Any:
        frame, money_in, by_category = real(*args, **kw)
        money_in["amount"]["EUR"] -= D("0.01")
        return frame, money_in, by_category

    monkeypatch.setattr(_assemble, "summarise", lossy)
    out = tmp_path / "o"
    code = offline(DATA / "ledger.csv", out, "--mapping", str(DATA / "mapping.toml"))
    assert code == 5
    err = capsys.readouterr().err
    assert "conservation proof failed" in err and "ledger amounts in EUR 3530.80 !=" in err
    assert (out / "rows.csv").is_file() and (out / "summary.csv").is_file()
    with pytest.raises(ConservationError):  # and the library raises at once by default
        from payrecon.ledger import read_ledger
        from payrecon.statuses import read_statuses

        reconcile(
            read_ledger(DATA / "ledger.csv", DATA / "mapping.toml"),
            read_statuses(DATA / "statuses_sample.csv"),
        )
