"""Confirmed matches: a person's decision that a ledger row without a usable id is those payouts.

payrecon only ever *suggests* (:mod:`payrecon.core._suggestions`). A person confirms with a
CSV file, ``--confirmed FILE``, read at every run, which names a ledger row and its payout(s):

=====================  ===========================================================================
column                 meaning
=====================  ===========================================================================
``source_row``         the ledger row's line in the file (as in rows.csv and suggestions.csv)
``ledger_id``          the id the ledger row carries (for rows that have one)
``id_payout``          the payout id, or several separated by ``;`` when the row books their sum
                       (``suggested_id_payout`` is accepted as this column's name too)
=====================  ===========================================================================

At least one of ``source_row`` and ``ledger_id`` is needed; given both, both must fit the row.
``suggestions.csv`` itself is such a file: keep the lines you agree with, delete the others.
Lines without a payout id are skipped.

What a confirmation does: the ledger row is reconciled **as if it named the payout**, so it is
``matched`` when amount, currency and status agree (and any other category when they do not) and
the payout is no longer ``missing_in_ledger``. A row confirmed to several payouts is reconciled
against them together, under the id ``A+B`` (``+`` cannot occur in a platform id, so it never
collides with one): their amounts and fees summed, their status the common one (else the one
needing most attention: ``FAILED``, ``REFUSED``, ``PROCESSING``). rows.csv shows that id.

A confirmation that no longer fits (the ledger was exported again and its rows moved, the id is
gone) is not applied and is reported, so a stale file never silently matches the wrong row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from payrecon.errors import InputError, Problem
from payrecon.platform import FAILED, PROCESSING, REFUSED, SUCCESS, is_valid_id

#: Joins the payouts of a row confirmed to several (never part of a platform id).
GROUP_JOIN = "+"
ID_COLUMNS = ("id_payout", "suggested_id_payout")
#: The status a group shows when its payouts disagree: the one that needs most attention.
_STATUS_RANK = (FAILED, REFUSED, PROCESSING, SUCCESS)


@dataclass(frozen=True)
class Confirmation:
    """One line of the confirmed file."""

    line: int
    source_row: int | None
    ledger_id: str | None
    ids: tuple[str, ...]

    @property
    def target(self) -> str:
        """The id the ledger row is reconciled under: the payout's, or ``A+B`` for several."""
        return GROUP_JOIN.join(self.ids)

    def __str__(self) -> str:
        where = [f"row {self.source_row}"] if self.source_row is not None else []
        if self.ledger_id:
            where.append(f"ledger id {self.ledger_id!r}")
        return f"line {self.line} ({', '.join(where)} -> {';'.join(self.ids)})"


def read_confirmed(path: str | Path) -> list[Confirmation]:
    """The confirmations in ``path`` (see the module docstring).

    Raises
    ------
    InputError
        The file cannot be read, lacks the columns, or a line has a bad row number or payout id
        (each problem named by file, line and column).
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the confirmed file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: the confirmed file is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        names = [n.strip() for n in reader.fieldnames or []]
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    reader.fieldnames = names
    id_col = next((c for c in ID_COLUMNS if c in names), None)
    if id_col is None or not ({"source_row", "ledger_id"} & set(names)):
        raise InputError(
            f"{path}: the confirmed file needs an id_payout column and a source_row or "
            f"ledger_id column (columns: {', '.join(names) or 'none'})",
            [Problem(str(path), 1, None, "missing columns")],
        )
    out: list[Confirmation] = []
    problems: list[Problem] = []
    try:
        for rec in reader:
            line = reader.line_num
            raw_ids = (rec.get(id_col) or "").strip()
            if not raw_ids:
                continue
            ids = tuple(i.strip() for i in raw_ids.split(";") if i.strip())
            bad = [i for i in ids if not is_valid_id(i)]
            if bad:
                problems.append(
                    Problem(str(path), line, id_col, f"not a payout id: {bad[0][:60]!r}")
                )
                continue
            row_text = (rec.get("source_row") or "").strip()
            row: int | None = None
            if row_text:
                try:
                    row = int(row_text)
                except ValueError:
                    problems.append(
                        Problem(str(path), line, "source_row", f"not a row number: {row_text!r}")
                    )
                    continue
            ledger_id = (rec.get("ledger_id") or "").strip() or None
            if row is None and ledger_id is None:
                problems.append(Problem(str(path), line, None, "needs a source_row or a ledger_id"))
                continue
            out.append(Confirmation(line, row, ledger_id, tuple(dict.fromkeys(ids))))
    except csv.Error as exc:
        problems.append(Problem(str(path), reader.line_num, None, str(exc)))
    if problems:
        raise InputError(f"{path}: bad confirmed matches", problems)
    return out


@dataclass(frozen=True)
class Applied:
    """The ledger with confirmed rows renamed, the groups made, and what could not be applied."""

    ledger: pd.DataFrame
    groups: dict[str, tuple[str, ...]]
    applied: tuple[Confirmation, ...]
    stale: tuple[tuple[Confirmation, str], ...]


def apply_to_ledger(ledger: pd.DataFrame, confirmations: Sequence[Confirmation]) -> Applied:
    """Give each confirmed ledger row its payout id (or its group's ``A+B``).

    A confirmation fits when its ``source_row`` is a ledger row whose id is blank, unknown or
    the ``ledger_id`` given; or, without ``source_row``, when exactly one row carries
    ``ledger_id``. Those that do not fit are returned in ``stale``, with why.
    """
    if not confirmations:
        return Applied(ledger, {}, (), ())
    ids = ledger["id_payout"].astype("string").str.strip()
    rows = ledger["source_row"] if "source_row" in ledger.columns else None
    new_ids = ids.copy()
    groups: dict[str, tuple[str, ...]] = {}
    applied: list[Confirmation] = []
    stale: list[tuple[Confirmation, str]] = []
    for c in confirmations:
        if c.source_row is not None:
            if rows is None:
                stale.append((c, "the ledger has no source_row"))
                continue
            hit = (rows == c.source_row).to_numpy()
            if not hit.any():
                stale.append((c, f"the ledger has no row {c.source_row}"))
                continue
            if c.ledger_id is not None and (ids[hit].fillna("") != c.ledger_id).any():
                stale.append((c, f"row {c.source_row} no longer carries {c.ledger_id!r}"))
                continue
        else:
            hit = (ids == c.ledger_id).fillna(False).to_numpy()
            if hit.sum() != 1:
                stale.append((c, f"{int(hit.sum())} ledger rows carry {c.ledger_id!r}"))
                continue
        new_ids[hit] = c.target
        if len(c.ids) > 1:
            groups[c.target] = c.ids
        applied.append(c)
    out = ledger.copy()
    out["id_payout"] = new_ids.astype(ledger["id_payout"].dtype)
    out.attrs = dict(ledger.attrs)
    return Applied(out, groups, tuple(applied), tuple(stale))


def expand_ids(ids: Iterable[str], groups: Mapping[str, Sequence[str]]) -> list[str]:
    """``ids`` with each group id replaced by its payouts (what to fetch), order kept."""
    out: list[str] = []
    for i in ids:
        out.extend(groups.get(i, (i,)))
    return out


def group_statuses(statuses: pd.DataFrame, groups: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """The statuses table with each group's payouts replaced by one row under the group's id."""
    if not groups:
        return statuses
    from payrecon.statuses._table import conform

    members = {m for ms in groups.values() for m in ms}
    named = statuses["id_payout"].isin(list(members)).fillna(False).to_numpy(dtype=bool)
    part = statuses[named]
    latest = {  # a later row of an id wins, as in reconcile
        str(rec["id_payout"]): rec for rec in part.to_dict("records")
    }
    rows = [_group_row(gid, [latest.get(m) for m in ms]) for gid, ms in groups.items()]
    keep = statuses[~named]
    return pd.concat([keep, conform(pd.DataFrame(rows))], ignore_index=True)


def _common(values: Iterable[Any]) -> Any:
    got = {v for v in values if v is not None and not (isinstance(v, float) and pd.isna(v))}
    return got.pop() if len(got) == 1 else None


def _group_row(gid: str, parts: list[dict[str, Any] | None]) -> dict[str, Any]:
    """One statuses row standing for several payouts (see the module docstring)."""
    missing = [p for p in parts if p is None]
    got = [p for p in parts if p is not None]
    errors = [str(p.get("error") or "") for p in got]
    failed = next((e for e in errors if e), "not_fetched" if missing else "")
    row: dict[str, Any] = {"id_payout": gid, "error": failed}
    if failed:
        http = [p.get("http_status") for p in got if p.get("error")]
        row["http_status"] = http[0] if http else None
        return row

    def total(key: str) -> Decimal | None:
        values = [p.get(key) for p in got]
        amounts = [v for v in values if isinstance(v, Decimal)]
        return sum(amounts, Decimal(0)) if len(amounts) == len(values) else None

    statuses = [str(p.get("status") or "") for p in got]
    status = _common(statuses) or next(
        (s for s in _STATUS_RANK if s in statuses), statuses[0] if statuses else None
    )
    currency = _common(p.get("currency") for p in got)
    fee_currency = _common(p.get("fee_currency") for p in got)
    created: list[Any] = [p["created_at"] for p in got if pd.notna(p.get("created_at"))]
    processed: list[Any] = [p["processed_at"] for p in got if pd.notna(p.get("processed_at"))]
    row.update(
        status=status,
        amount=total("amount") if currency else None,
        currency=currency,
        fee_amount=total("fee_amount") if fee_currency else None,
        fee_currency=fee_currency,
        payment_method_code=_common(p.get("payment_method_code") for p in got),
        created_at=min(created) if created else None,
        processed_at=max(processed) if len(processed) == len(got) and processed else None,
        is_test=any(bool(p.get("is_test")) for p in got),
        failure_reason_code=next(
            (p.get("failure_reason_code") for p in got if p.get("failure_reason_code")), None
        ),
        http_status=200,
    )
    return row


__all__ = [
    "GROUP_JOIN",
    "Applied",
    "Confirmation",
    "apply_to_ledger",
    "expand_ids",
    "group_statuses",
    "read_confirmed",
]
