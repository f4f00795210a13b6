"""Read a ledger export (CSV, Excel or Parquet) as finance tools write it into the ledger table.

The reader finds the header past any preamble, decodes the file's encoding, sets aside the rows
that are not transactions (each with its reason), and parses money exactly. The ledger table has
one row per transaction row of the file, in file order:

==================  ====================  ======================================================
column              dtype                 meaning
==================  ====================  ======================================================
``source_row``      int64                 the row's line in the file, 1-based, blank lines
                                          counted, as an editor shows it (Excel: the sheet row;
                                          Parquet: the 1-based index; a record spanning lines:
                                          the line it starts on)
``id_payout``       string                the payout id, trimmed (``[rows] id_pattern``: the
                                          first match in the cell); ``""`` where the row has
                                          money but no id (reconciled as ``no_payout_id``)
``amount``          decimal128(30, 8)     the amount, exact, after the sign convention
``currency``        string                ISO code, from the first place that names it
``fee``             decimal128(30, 8)     the fee, when the ledger has a fee column
``status``          string                the ledger's own status word, as written
``status_mapped``   string                that word through ``status_map``, upper-cased
``date``            datetime64[us, UTC]   the booking date (naive dates are taken as UTC)
``raw.<name>``      string                every original column, as text exactly as read
==================  ====================  ======================================================

Every other non-blank line is set aside (:func:`set_aside`), never dropped: rows read = ledger rows
+ rows set aside. ``ledger.attrs["payrecon"]`` records what was detected (encoding, delimiter,
header line, columns, decimal mark, date order, sign). A cell that cannot be read stops the load
with one :class:`~payrecon.errors.InputError` listing every bad cell by row and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from payrecon.errors import InputError
from payrecon.ledger._build import LEDGER_COLUMNS, RAW_PREFIX, SetAside, build
from payrecon.ledger._rows import REASONS
from payrecon.ledger._source import read_source
from payrecon.ledger.mapping import Mapping, load_mapping, mapping_from_dict


def as_mapping(mapping: str | Path | Mapping | dict[str, Any] | None) -> Mapping:
    """A :class:`Mapping` from a TOML path, a dict, a mapping, or ``None`` (detect everything)."""
    if mapping is None:
        return Mapping()
    if isinstance(mapping, Mapping):
        return mapping
    if isinstance(mapping, dict):
        return mapping_from_dict(mapping)
    return load_mapping(mapping)


def read_ledger(
    path: str | Path, mapping: str | Path | Mapping | dict[str, Any] | None = None
) -> pd.DataFrame:
    """Read a ledger export into the ledger table (see the module docstring for its columns).

    Parameters
    ----------
    path
        A ``.csv`` (or ``.txt``/``.tsv``: any delimiter), ``.xlsx`` or ``.parquet`` file.
    mapping
        A mapping TOML file, a :class:`~payrecon.ledger.mapping.Mapping`, the equivalent dict, or
        ``None`` to detect the header, the columns (by names in several languages, the id by its
        content) and the number habits.

    Raises
    ------
    InputError
        The file cannot be read, the mapping is bad, a required column is missing, or cells
        cannot be read (all of them listed by row and column).
    """
    path = Path(path)
    m = as_mapping(mapping)
    if not path.is_file():
        raise InputError(f"{path}: ledger file not found")
    return build(read_source(path, m), m, file=str(path))


def set_aside(ledger: pd.DataFrame) -> pd.DataFrame:
    """The rows of the file that are not ledger rows: ``source_row``, ``reason``, ``line``."""
    found = ledger_info(ledger).get("set_aside")
    return found.frame() if isinstance(found, SetAside) else SetAside((), (), ()).frame()


def set_aside_counts(ledger: pd.DataFrame) -> dict[str, int]:
    """Rows set aside by reason (empty for a hand-made ledger table)."""
    found = ledger_info(ledger).get("set_aside")
    return found.counts() if isinstance(found, SetAside) else {}


def ledger_info(ledger: pd.DataFrame) -> dict[str, Any]:
    """What ``read_ledger`` recorded about a ledger table (empty for a hand-made one)."""
    info = ledger.attrs.get("payrecon", {})
    return dict(info) if isinstance(info, dict) else {}


__all__ = [
    "LEDGER_COLUMNS",
    "RAW_PREFIX",
    "REASONS",
    "SetAside",
    "as_mapping",
    "ledger_info",
    "read_ledger",
    "set_aside",
    "set_aside_counts",
]
