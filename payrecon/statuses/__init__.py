"""The statuses table: one row per requested payout id, exact money, in input order.

``_table`` defines its columns and dtypes and the CSV/Parquet round trip (pandas), ``_csv`` parses
a statuses CSV with arrow alone (so the command can read it while pandas imports), ``_input``
checks a table the user names before anything reads it whole."""

from __future__ import annotations

from payrecon._lazy import lazy

#: public name -> the private module that defines it
_EXPORTS = {
    "read_statuses": "._table",
    "write_statuses": "._table",
    "statuses_frame": "._table",
    "conform": "._table",
}

__getattr__, __dir__ = lazy(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
