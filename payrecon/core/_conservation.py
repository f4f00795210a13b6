"""The conservation proof: every row and every unit of money that went in came out somewhere.

A reconciliation that loses a row, or counts one twice, looks exactly like one that does not: the
tables are just as tidy. So each run proves, from its own counts, that nothing fell between the
cracks:

* **rows read = ledger rows + rows set aside** (the reader's headings, totals, filtered rows);
* **ledger rows = the ledger rows of each category**, summed;
* **ledger money = the ledger money of each category**, per currency (amounts, and fees when the
  ledger has a fee column);
* **payouts asked of the platform = payouts answered + errors** (one per distinct id of the
  statuses table, errors by their word).

The left side of each equation is counted where the data comes in, the right side from the
categories given out, so a bug that drops, repeats or misfiles a row breaks an equation. A proof
that fails is never a finding about the data: it is payrecon's own fault, so it raises
:class:`~payrecon.errors.ConservationError` (exit code 5 on the command line) naming each equation
that did not add up, after the outputs are written for the investigation.

Pure: plain numbers in, a frozen :class:`Conservation` out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa

from payrecon.amounts import at_currency_scale
from payrecon.errors import ConservationError

Number = int | Decimal


@dataclass(frozen=True)
class Check:
    """One equation: ``left`` (what came in) must equal the sum of ``terms`` (what went out).

    Attributes
    ----------
    key
        A stable name: ``rows_read``, ``ledger_rows``, ``ledger_amount:EUR``, ``ledger_fee:EUR``,
        ``platform_payouts``.
    left_label, right_label
        The two sides in words, for the report.
    left
        What came in.
    terms
        What went out, part by part (``(category, n)``, ``(reason, n)``, ...), zeros left out.
    """

    key: str
    left_label: str
    left: Number
    right_label: str
    terms: tuple[tuple[str, Number], ...]

    @property
    def right(self) -> Number:
        total: Number = sum((v for _, v in self.terms), start=type(self.left)(0))
        return total

    @property
    def holds(self) -> bool:
        return self.left == self.right

    @property
    def currency(self) -> str | None:
        """The currency of a money check (``ledger_amount:EUR`` -> ``EUR``), else ``None``."""
        return self.key.partition(":")[2] or None

    def text(self, value: Number) -> str:
        """A number as the report shows it: money with its currency's decimals when exact."""
        if isinstance(value, Decimal):
            return format(at_currency_scale(value, self.currency), "f")
        return str(value)

    def terms_text(self) -> str:
        """``matched 280 + pending 30`` (``0`` when there are no terms)."""
        return " + ".join(f"{name} {self.text(value)}" for name, value in self.terms) or "0"

    def __str__(self) -> str:
        mark = "=" if self.holds else "!="
        return (
            f"{self.left_label} {self.text(self.left)} {mark} {self.right_label} "
            f"{self.text(self.right)} ({self.terms_text()})"
        )


@dataclass(frozen=True)
class Conservation:
    """The checks of one reconciliation, and whether they all hold."""

    checks: tuple[Check, ...]

    @property
    def holds(self) -> bool:
        return all(c.holds for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.holds)

    def verify(self) -> None:
        """Raise :class:`ConservationError` naming every equation that does not add up."""
        if not self.holds:
            raise ConservationError([str(c) for c in self.failures])

    def summary_rows(self) -> list[dict[str, Any]]:
        """The proof as rows of ``summary.csv`` (section ``conservation``): the left side in
        ``count`` (rows) or ``ledger_amount`` / ``ledger_fee`` (money), the right side's total
        in ``equals`` (exact text), ``holds``, and the parts in ``terms``."""
        out: list[dict[str, Any]] = []
        for c in self.checks:
            row: dict[str, Any] = {
                "section": "conservation",
                "key": c.key,
                "equals": c.text(c.right),
                "holds": c.holds,
                "terms": c.terms_text(),
            }
            if isinstance(c.left, Decimal):
                row["ledger_fee" if c.key.startswith("ledger_fee") else "ledger_amount"] = c.left
            else:
                row["count"] = c.left
            out.append(row)
        return out

    def report_rows(self) -> list[dict[str, str | bool]]:
        """Plain text per check, for the HTML report."""
        return [
            {
                "key": c.key,
                "left_label": c.left_label,
                "left": c.text(c.left),
                "right_label": c.right_label,
                "right": c.text(c.right),
                "terms": c.terms_text(),
                "holds": c.holds,
            }
            for c in self.checks
        ]

    def text(self) -> str:
        """One line per check, for a terminal."""
        head = "conservation proof holds" if self.holds else "conservation proof FAILS"
        return "\n".join([head, *(f"  {'ok' if c.holds else '!!'} {c}" for c in self.checks)])


def prove(
    *,
    ledger_rows: int,
    ledger_rows_by_category: Mapping[str, int],
    money_in: Mapping[str, Mapping[str, Decimal]],
    money_by_category: Mapping[str, Mapping[str, Mapping[str, Decimal]]],
    asked: int,
    answered: int,
    errors: Mapping[str, int],
    set_aside: Mapping[str, int] | None = None,
    rows_read: int | None = None,
) -> Conservation:
    """Build the checks from counts taken where data came in and where it went out.

    Parameters
    ----------
    ledger_rows
        Rows of the ledger table reconciled.
    ledger_rows_by_category
        Those rows by category (every category may appear; zeros are dropped).
    money_in
        ``{"amount": {currency: sum}, "fee": {...}}`` over the ledger rows as they came in
        (``fee`` only when the ledger has a fee column).
    money_by_category
        ``{"amount": {currency: {category: sum}}, ...}`` over the same rows, by category.
    asked, answered, errors
        Distinct ids of the statuses table; of them, those with a detail, and those with an error
        by its word (``not_found``, ``invalid_id``, ...).
    set_aside, rows_read
        The rows the ledger reader set aside, by reason, and the rows it read in all. Without
        ``rows_read`` the first equation is stated with the reader's count unknown (taken as
        ledger rows + set aside).
    """
    aside = {k: int(v) for k, v in (set_aside or {}).items() if v}
    read = ledger_rows + sum(aside.values()) if rows_read is None else int(rows_read)
    checks = [
        Check(
            "rows_read",
            "rows read" if rows_read is not None else "rows read (not counted by the reader)",
            read,
            "ledger rows + set aside",
            (("ledger rows", ledger_rows), *((f"set aside: {k}", v) for k, v in aside.items())),
        ),
        Check(
            "ledger_rows",
            "ledger rows",
            ledger_rows,
            "ledger rows by category",
            tuple((k, int(v)) for k, v in ledger_rows_by_category.items() if v),
        ),
    ]
    for kind in ("amount", "fee"):
        totals = money_in.get(kind)
        if totals is None:
            continue
        by_cat = money_by_category.get(kind, {})
        for cur in sorted(set(totals) | set(by_cat)):
            parts = by_cat.get(cur, {})
            checks.append(
                Check(
                    f"ledger_{kind}:{cur}",
                    f"ledger {kind}s in {cur}",
                    Decimal(totals.get(cur, Decimal(0))),
                    f"ledger {kind}s in {cur} by category",
                    tuple((k, Decimal(parts[k])) for k in _ordered(parts) if parts[k]),
                )
            )
    checks.append(
        Check(
            "platform_payouts",
            "payouts asked of the platform",
            int(asked),
            "answered + errors",
            (("answered", int(answered)), *((f"error {k}", int(v)) for k, v in errors.items())),
        )
    )
    return Conservation(tuple(checks))


def _ordered(keys: Mapping[str, object]) -> list[str]:
    """Category words in the order of :data:`~payrecon.core.categories.CATEGORIES`, others after."""
    from payrecon.core.categories import CATEGORIES

    rank = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(keys, key=lambda k: (rank.get(k, len(rank)), k))


#: Columns ``summary.csv`` gains for the proof (empty on the other sections).
SUMMARY_COLUMNS: tuple[str, ...] = ("equals", "holds", "terms")


def with_proof(summary: pd.DataFrame, proof: Conservation) -> pd.DataFrame:
    """``summary`` with the proof's rows appended (see :meth:`Conservation.summary_rows`) and the
    columns :data:`SUMMARY_COLUMNS` added, empty on the other sections. ``count`` becomes
    nullable: a money check has none."""
    from payrecon.statuses._table import MONEY, MONEY_TYPE, STRING

    rows = proof.summary_rows()
    n_before = len(summary)
    data: dict[str, pd.Series] = {}
    for col in summary.columns:
        values = [r.get(col) for r in rows]
        dtype = summary[col].dtype
        if col == "count":
            data[col] = pd.Series(values, dtype="Int64")
        elif dtype == MONEY:
            data[col] = pd.Series(pa.array(values, MONEY_TYPE), dtype=MONEY)
        else:
            data[col] = pd.Series(values, dtype=dtype)
    out = pd.concat(
        [summary.assign(count=summary["count"].astype("Int64")), pd.DataFrame(data)],
        ignore_index=True,
    )
    types: dict[str, Any] = {"equals": STRING, "holds": "boolean", "terms": STRING}
    for col, dtype in types.items():
        column: Sequence[Any] = [None] * n_before + [r[col] for r in rows]
        out[col] = pd.Series(column, dtype=dtype)
    return out


__all__ = ["SUMMARY_COLUMNS", "Check", "Conservation", "prove", "with_proof"]
