"""Scheduled runs: dated output folders, failing a run on chosen categories, one line for the log.

A cron job or a CI step runs ``payrecon reconcile ... --dated --fail-on missing_on_platform,
status_mismatch``. It needs three things that an analyst at a terminal does not:

* an output folder per run that never overwrites an earlier one: ``OUT/2026-11-23T094512Z/``
  (the UTC time the run started; sorts by time, no ``:`` so it is a valid name everywhere);
* an exit code that fails the job when a chosen category appears (:data:`EXIT_FOUND`, 4: not 0,
  which means done, nor 2 (bad input) or 3 (platform unreachable), so the job can tell them apart),
  or only when something *new* appeared since the last run (``--fail-on new``, ``new:<word>``);
* one line at the end of the output for the log, with the counts and the report's path.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from payrecon.core.categories import CATEGORIES, EXCEPTION_FLAGS, FLAGS, QUIET
from payrecon.errors import InputError

if TYPE_CHECKING:
    from payrecon.core.result import Reconciliation

#: Exit code of a run that found a category named in ``--fail-on``.
from payrecon.errors import EXIT_FOUND

#: ``--fail-on exceptions``: any row that needs a person.
ANY_EXCEPTION = "exceptions"
#: ``--fail-on new``: any exception new since the last run; ``new:<word>``: a new one carrying
#: that category or flag.
NEW = "new"
FAIL_ON_WORDS = (*CATEGORIES, *EXCEPTION_FLAGS, ANY_EXCEPTION, NEW)
DATED_FORMAT = "%Y-%m-%dT%H%M%SZ"


def parse_fail_on(text: str | None) -> tuple[str, ...]:
    """``"missing_on_platform, status_mismatch"`` -> the words; an unknown word is an InputError.

    Accepted: the category words, the flags that make a row an exception
    (``fee_schedule_mismatch``, ``amount_precision``, ``test_payment``, ``status_regressed``),
    ``exceptions``, ``new`` and ``new:<category or flag>``.
    """
    if text is None:
        return ()
    words = tuple(dict.fromkeys(w.strip() for w in text.split(",") if w.strip()))
    new_words = (*CATEGORIES, *FLAGS)
    unknown = [
        w
        for w in words
        if w not in FAIL_ON_WORDS and not (w.startswith(f"{NEW}:") and _base(w) in new_words)
    ]
    if unknown:
        raise InputError(
            f"--fail-on: unknown word(s) {', '.join(repr(w) for w in unknown)}; "
            f"use any of {', '.join(FAIL_ON_WORDS)}, or new:<category or flag>"
        )
    if not words:
        raise InputError("--fail-on: name at least one category")
    return words


def _base(word: str) -> str:
    """``new:amount_mismatch`` -> ``amount_mismatch``; any other word as it is."""
    head, sep, tail = word.partition(":")
    return tail if sep and head == NEW else word


def needs_history(words: Iterable[str]) -> bool:
    """True when a ``--fail-on`` word reads the changes since the last run (``new...``)."""
    return any(w == NEW or w.startswith(f"{NEW}:") for w in words)


def found(rec: Reconciliation, words: Iterable[str]) -> dict[str, int]:
    """For each word of ``--fail-on`` that applies, how many rows it applies to.

    A category word counts rows whose category it is (the first that applies); a flag counts rows
    whose ``issues`` carry it; ``exceptions`` counts the exceptions; ``new`` the exceptions new
    since the last run, and ``new:<word>`` those of them carrying the word.
    """
    from payrecon.core._changes import new_count

    counts = {**rec.counts, **rec.flag_counts, ANY_EXCEPTION: len(rec.exceptions)}
    hits: dict[str, int] = {}
    for word in words:
        if word == NEW:
            n = new_count(rec)
        elif word.startswith(f"{NEW}:"):
            n = new_count(rec, _base(word))
        else:
            n = counts.get(word, 0)
        if n:
            hits[word] = n
    return hits


def dated_folder(out: Path, now: datetime | None = None) -> Path:
    """``out/YYYY-MM-DDTHHMMSSZ``: the run's own folder, named by its UTC start time."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return out / moment.strftime(DATED_FORMAT)


def log_line(rec: Reconciliation, *, report: Path | None = None, command: str = "reconcile") -> str:
    """One line for a log: rows, exceptions by category, the report's path.

    ``payrecon reconcile: 330 rows, 51 exceptions (duplicate_in_ledger=6, ...), report=...``
    """
    counts = {k: v for k, v in rec.counts.items() if v and k not in QUIET}
    rows = rec.rows
    flagged = rec.flag_counts
    counts.update({flag: flagged[flag] for flag in EXCEPTION_FLAGS if flagged[flag]})
    detail = ", ".join(f"{k}={v}" for k, v in counts.items())
    line = f"payrecon {command}: {len(rows)} rows, {len(rec.exceptions)} exceptions"
    if detail:
        line += f" ({detail})"
    quiet = ", ".join(f"{q}={rec.counts.get(q, 0)}" for q in QUIET)
    line += f", {quiet}"
    if rec.changes is not None:
        line += ", " + ", ".join(f"{k}={v}" for k, v in rec.change_counts.items())
    if report is not None:
        line += f", report={report}"
    return line


__all__ = [
    "ANY_EXCEPTION",
    "DATED_FORMAT",
    "EXIT_FOUND",
    "FAIL_ON_WORDS",
    "NEW",
    "dated_folder",
    "found",
    "log_line",
    "needs_history",
    "parse_fail_on",
]
