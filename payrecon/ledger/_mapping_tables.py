"""The mapping file's settings tables checked: ``[parse]``, ``[rows]`` and ``[status_map]``.

Each table's step returns what it read and notes every mistake in a :class:`Mistakes`, so that
:func:`payrecon.ledger.mapping.mapping_from_dict` reports all of them at once. Unknown keys are
mistakes too: a typo such as ``thousand = "."`` would otherwise change every amount without a
word.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

from payrecon.errors import InputError, Problem

#: ``[rows]`` keys.
_ROWS_KEYS = {"keep", "id_pattern"}
#: ``[parse]`` keys.
_PARSE_KEYS = {
    "delimiter",
    "decimal",
    "thousands",
    "amount_sign",
    "date_format",
    "dayfirst",
    "encoding",
    "sheet",
    "header_row",
    "currency",
}


@dataclass
class Mistakes:
    """The mistakes found in one mapping file, each naming its key (``parse.decimal``)."""

    source: str
    problems: list[Problem] = field(default_factory=list)

    def __call__(self, where: str, msg: str) -> None:
        self.problems.append(Problem(self.source, None, where, msg))

    def raise_any(self) -> None:
        """Stop with every mistake noted so far, if there is one."""
        if self.problems:
            raise InputError(f"{self.source}: bad mapping", self.problems)


def parse_table(parse: dict[str, Any], bad: Mistakes) -> dict[str, Any]:
    """``[parse]``: the settings the reader would otherwise detect, each checked for what it
    must be (the marks, a known encoding, a currency code, a positive header row)."""
    for key in parse:
        if key not in _PARSE_KEYS:
            bad(
                f"parse.{key}",
                f"unknown setting (expected one of {', '.join(sorted(_PARSE_KEYS))})",
            )
    settings = _parse_texts(parse, bad)
    _check_marks(settings, bad)
    settings.update(_parse_switches(parse, bad))
    _check_encoding(settings, bad)
    _check_currency(settings, bad)
    if "header_row" in parse:
        hr = parse["header_row"]
        if not isinstance(hr, int) or isinstance(hr, bool) or hr < 1:
            bad("parse.header_row", "must be a positive integer")
        else:
            settings["header_row"] = hr
    return settings


def _parse_texts(parse: dict[str, Any], bad: Mistakes) -> dict[str, Any]:
    """The ``[parse]`` settings that are strings, those that are."""
    settings: dict[str, Any] = {}
    for key in ("delimiter", "decimal", "thousands", "date_format", "encoding", "currency"):
        if key in parse:
            if not isinstance(parse[key], str):
                bad(f"parse.{key}", "must be a string")
            else:
                settings[key] = parse[key]
    return settings


def _check_marks(settings: dict[str, Any], bad: Mistakes) -> None:
    """The delimiter is one character; the decimal and thousands marks are ones amounts use,
    and differ (``thousands = ""``: no grouping mark)."""
    if "delimiter" in settings and len(settings["delimiter"]) != 1:
        bad("parse.delimiter", "must be one character")
    if settings.get("decimal", ".") not in {".", ","}:
        bad("parse.decimal", "must be '.' or ','")
    if "thousands" in settings and settings["thousands"] not in {".", ",", " ", "'", ""}:
        bad("parse.thousands", "must be '.', ',', ' ', \"'\" or ''")
    if settings.get("thousands") == "":
        settings["thousands"] = None
    if settings.get("thousands") is not None and settings.get("thousands") == settings.get(
        "decimal"
    ):
        bad("parse.thousands", "must differ from the decimal mark")


def _parse_switches(parse: dict[str, Any], bad: Mistakes) -> dict[str, Any]:
    """``amount_sign``, ``dayfirst`` and ``sheet``: each one of a few allowed values."""
    settings: dict[str, Any] = {}
    if "amount_sign" in parse:
        if parse["amount_sign"] not in ("as_is", "abs", "negate"):
            bad("parse.amount_sign", "must be 'as_is', 'abs' or 'negate'")
        else:
            settings["amount_sign"] = parse["amount_sign"]
    if "dayfirst" in parse:
        if not isinstance(parse["dayfirst"], bool):
            bad("parse.dayfirst", "must be true or false")
        else:
            settings["dayfirst"] = parse["dayfirst"]
    if "sheet" in parse:
        if not isinstance(parse["sheet"], str | int) or isinstance(parse["sheet"], bool):
            bad("parse.sheet", "must be a sheet name or a 0-based index")
        else:
            settings["sheet"] = parse["sheet"]
    return settings


def _check_encoding(settings: dict[str, Any], bad: Mistakes) -> None:
    """An encoding Python knows, checked now rather than when the file is opened."""
    if settings.get("encoding") is not None:
        import codecs

        try:
            codecs.lookup(settings["encoding"])
        except LookupError:
            bad("parse.encoding", f"unknown encoding {settings['encoding']!r}")


def _check_currency(settings: dict[str, Any], bad: Mistakes) -> None:
    """The ledger's currency as its code (``€`` becomes ``EUR``); an unknown one is a mistake."""
    if "currency" in settings:
        from payrecon.currency import currency_of_token

        code = currency_of_token(settings["currency"])
        if code is None:
            bad("parse.currency", f"not a currency code: {settings['currency']!r}")
        else:
            settings["currency"] = code


def rows_table(
    rows: dict[str, Any], bad: Mistakes
) -> tuple[dict[str, tuple[str, ...]], str | None]:
    """``[rows]``: which rows are payouts (``keep``: column = values) and the ``id_pattern``
    that takes the id out of the id column's text, checked by the engine that will run it."""
    for key in rows:
        if key not in _ROWS_KEYS:
            bad(f"rows.{key}", f"unknown setting (expected one of {', '.join(sorted(_ROWS_KEYS))})")
    keep = _keep(rows["keep"], bad) if "keep" in rows else {}
    if "id_pattern" not in rows:
        return keep, None
    problem = _pattern_problem(rows["id_pattern"])
    if problem:
        bad("rows.id_pattern", problem)
        return keep, None
    return keep, rows["id_pattern"]


def _keep(keep: Any, bad: Mistakes) -> dict[str, tuple[str, ...]]:
    """``[rows] keep``: each column with the non-empty list of values (or one value) that mark
    payout rows."""
    if not isinstance(keep, MappingABC) or not keep:
        bad("rows.keep", 'must be a table of column = [values], e.g. { "Type" = ["Payout"] }')
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for col, values in keep.items():
        vals = [values] if isinstance(values, str) else values
        if not isinstance(vals, list) or not vals or not all(isinstance(v, str) for v in vals):
            bad(f"rows.keep.{col}", "must be a list of the values that mark payout rows")
        else:
            out[str(col)] = tuple(vals)
    return out


def status_map_table(status_map: dict[str, Any], bad: Mistakes) -> dict[str, Any]:
    """``[status_map]``: ledger words to platform statuses; words are compared trimmed and in
    any case, so two keys that fold to one word are a mistake, not a silent overwrite."""
    for word, status in status_map.items():
        if not isinstance(status, str) or not status.strip():
            bad(f"status_map.{word}", "must map to a platform status (a non-empty string)")
    folded: dict[str, str] = {}
    for word in status_map:
        key = word.strip().upper()
        if key in folded:
            bad(f"status_map.{word}", f"same word as {folded[key]!r} (words are case-insensitive)")
        folded[key] = word
    return status_map


def _pattern_problem(pattern: object) -> str | None:
    """Why ``pattern`` cannot serve as ``id_pattern`` (arrow's RE2 runs it), or ``None``."""
    if not isinstance(pattern, str) or not pattern:
        return "must be a regular expression (a non-empty string)"
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.extract_regex(pa.array(["x"]), f"(?P<id>{pattern})")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        return f"not a regular expression this reader can run: {exc}"
    return None


__all__ = ["Mistakes", "parse_table", "rows_table", "status_map_table"]
