"""For any export, every line is accounted for and no money appears or disappears.

Hypothesis writes exports the way finance tools do (a preamble of titles and account lines,
blank lines, section headings, payouts with and without ids, totals, balances, a footer; any of
four delimiters, either decimal mark), and the reader must give back: every non-blank line but
the header as a ledger row or a row set aside, and the exact money of every transaction row.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payrecon.ledger import read_ledger, set_aside

HEADER = ["Booking date", "Payout ID", "Description", "Amount", "Currency"]

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2)
payout = st.tuples(st.just("payout"), st.integers(1, 10**6), money)
charge = st.tuples(st.just("charge"), st.just(0), money)
other = st.sampled_from(
    [
        ("total", "Total"),
        ("total", "TOTAL for account"),
        ("balance", "Opening balance"),
        ("balance", "Closing Balance"),
        ("section", "Payout account (EUR)"),
        ("blank", ""),
    ]
)
row = st.one_of(payout, payout, payout, charge, other)


def _amount(value: Decimal, decimal: str) -> str:
    whole, frac = f"{value:.2f}".split(".")
    groups = f"{int(whole):,}".replace(",", "." if decimal == "," else ",")
    return f"-{groups}{decimal}{frac}"


def _export(
    rows: list[tuple], delimiter: str, decimal: str, preamble: list[str], footer: bool
) -> tuple[str, list[tuple[str, Decimal]], int]:
    out = io.StringIO()
    for line in preamble:
        out.write(line + "\n")
    w = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    w.writerow(HEADER)
    txns: list[tuple[str, Decimal]] = []
    seen: set[int] = set()
    for r in rows:
        if r[0] == "payout":
            n = r[1]
            while n in seen:
                n += 1
            seen.add(n)
            pid = f"PO-{n:07d}"
            w.writerow(["03.11.2026", pid, f"Payout {n}", _amount(r[2], decimal), "EUR"])
            txns.append((pid, r[2]))
        elif r[0] == "charge":
            w.writerow(["03.11.2026", "", "Bank charge", _amount(r[2], decimal), "EUR"])
            txns.append(("", r[2]))
        elif r[0] == "blank":
            out.write("\n")
        elif r[0] == "section":
            w.writerow([r[1], "", "", "", ""])
        else:
            w.writerow(["", "", r[1], "", ""])
    if footer:
        out.write("\nExported by a bookkeeping tool\n")
    text = out.getvalue()
    non_blank = sum(1 for ln in text.split("\n") if ln.strip(delimiter + ' "').strip())
    return text, txns, non_blank


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(row, min_size=1, max_size=25).filter(
        lambda rs: any(r[0] == "payout" for r in rs)
    ),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    decimal=st.sampled_from([".", ","]),
    preamble=st.lists(
        st.sampled_from(["Payout bookings", "Account: 1200 Payouts", "", "Period: November"]),
        max_size=4,
    ),
    footer=st.booleans(),
)
def test_rows_and_money_are_conserved(
    tmp_path: Path,
    rows: list[tuple],
    delimiter: str,
    decimal: str,
    preamble: list[str],
    footer: bool,
) -> None:
    text, txns, non_blank = _export(rows, delimiter, decimal, preamble, footer)
    if decimal == "," and delimiter == ",":
        return  # unquoted decimal commas in a comma file are not a file any tool writes
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    ledger = read_ledger(path)
    aside = set_aside(ledger)
    # Every non-blank line is the header, a ledger row or a row set aside; none twice.
    assert len(ledger) + len(aside) == non_blank - 1
    lines = sorted([*ledger["source_row"].tolist(), *aside["source_row"].tolist()])
    assert len(set(lines)) == len(lines)
    # Every transaction is a ledger row with its exact money (payouts booked negative: magnitudes).
    got = [(i, Decimal(str(a))) for i, a in zip(ledger["id_payout"], ledger["amount"], strict=True)]
    assert got == txns
    assert sum((a for _, a in got), Decimal(0)) == sum((a for _, a in txns), Decimal(0))
    assert set(aside["reason"]) <= {"preamble", "total", "balance", "section", "footer"}
