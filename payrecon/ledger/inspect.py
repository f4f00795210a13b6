"""What the reader detected in a ledger export, said in words and written back as a mapping.

``payrecon inspect`` prints :func:`describe`; ``reconcile`` prints the short
:func:`detection_lines` of what it decided without being told. :func:`mapping_toml` turns the
detection into a mapping file to edit and pass back with ``--mapping``, so that a scheduled run
never depends on a guess.
"""

from __future__ import annotations

import json
from typing import Any

from payrecon.ledger._build import SetAside

_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", "": "none"}


def _q(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _key(name: str) -> str:
    return name if name.replace("_", "").replace("-", "").isalnum() and name.isascii() else _q(name)


def _delimiter_name(d: str) -> str:
    return _DELIMITER_NAMES.get(d, repr(d))


def detection_lines(info: dict[str, Any]) -> list[str]:
    """One line for each thing decided from the data rather than named by a mapping."""
    out: list[str] = []
    if not info:
        return out
    if info.get("detected"):
        used = ", ".join(f"{role} = {col!r}" for role, col in info["columns"].items())
        out.append(f"ledger columns found: {used}")
        if info.get("id_pattern"):
            out.append(f"ledger payout ids taken from the text by {info['id_pattern']!r}")
    if info.get("header_detected") and info.get("header_line", 1) > 1:
        out.append(f"ledger header found on line {info['header_line']}")
    if info.get("encoding_detected") and info.get("encoding") not in (None, "", "utf-8"):
        out.append(f"ledger read as {info['encoding']}")
    if info.get("decimal_detected") and info.get("decimal") == ",":
        out.append("ledger amounts read with a decimal comma")
    if info.get("sign_detected") and info.get("sign") == "abs":
        out.append("ledger books payouts as negative amounts: compared by magnitude")
    if info.get("dates_guessed"):
        out.append(
            f"ledger dates read {info.get('dates')} (both orders fit every date: "
            "set [parse] dayfirst to be sure)"
        )
    aside = info.get("set_aside")
    if isinstance(aside, SetAside) and len(aside):
        why = ", ".join(f"{k} {v:,}" for k, v in aside.counts().items())
        out.append(f"ledger rows set aside: {len(aside):,} ({why}); see set_aside.csv")
    return out


def describe(info: dict[str, Any], n_rows: int) -> str:
    """Everything the reader found, one fact a line, for ``payrecon inspect``."""

    def how(flag: str) -> str:
        return "detected" if info.get(flag) else "from the mapping"

    aside = info.get("set_aside")
    counts = aside.counts() if isinstance(aside, SetAside) else {}
    n_aside = sum(counts.values())
    cols = info.get("columns", {})
    lines = [
        f"file        {info.get('source')} ({info.get('kind')})",
        f"encoding    {info.get('encoding') or '-'} ({how('encoding_detected')})",
        f"delimiter   {_delimiter_name(info.get('delimiter', ''))}"
        f" ({'detected' if info.get('header_detected') else 'given or by the header'})",
        f"header      line {info.get('header_line')} ({how('header_detected')}): "
        + ", ".join(info.get("header", [])),
        "columns     "
        + ", ".join(f"{r} = {c!r}" for r, c in cols.items())
        + f" ({'found by name or content' if info.get('detected') else 'from the mapping'})",
    ]
    if info.get("id_pattern"):
        lines.append(f"id pattern  {info['id_pattern']!r}")
    if info.get("keep"):
        lines.append(f"keep        {info['keep']}")
    lines += [
        f"decimal     {info.get('decimal')!r} ({how('decimal_detected')})",
        f"dates       {info.get('dates', 'no date column')}"
        + (" (guessed: both orders fit)" if info.get("dates_guessed") else ""),
        f"sign        payouts booked {info.get('payouts_booked')}: amount_sign = "
        f"{info.get('sign')!r} ({how('sign_detected')})",
        f"currency    from {info.get('currency_from')}",
        f"rows        read {n_rows + n_aside:,} = ledger rows {n_rows:,} + set aside {n_aside:,}",
    ]
    lines += [f"  {k:<16} {v:>8,}" for k, v in counts.items()]
    return "\n".join(lines)


def mapping_toml(info: dict[str, Any]) -> str:
    """The detection as a mapping file, every key the reader decided written out."""
    out = [
        f"# Mapping for {info.get('source')}, written by payrecon inspect: edit it, then pass it",
        "# with --mapping so that every run reads the file the same way.",
        "",
        "[columns]",
    ]
    out += [f"{role} = {_q(col)}" for role, col in info.get("columns", {}).items()]
    out += ["", "[parse]"]
    if info.get("header_line"):
        out.append(f"header_row = {info['header_line']}")
    if info.get("kind") == "csv":
        out.append(f"encoding = {_q(info.get('encoding') or 'utf-8')}")
        out.append(f"delimiter = {_q(info.get('delimiter') or ',')}")
    out.append(f"decimal = {_q(info.get('decimal') or '.')}")
    if info.get("thousands"):
        out.append(f"thousands = {_q(info['thousands'])}")
    out.append(f"amount_sign = {_q(info.get('sign') or 'as_is')}")
    if info.get("dates") in ("day first", "month first"):
        out.append(f"dayfirst = {'true' if info['dates'] == 'day first' else 'false'}")
    if info.get("keep") or info.get("id_pattern"):
        out += ["", "[rows]"]
        if info.get("keep"):
            pairs = ", ".join(
                f"{_q(k)} = [{', '.join(_q(v) for v in vals)}]" for k, vals in info["keep"].items()
            )
            out.append(f"keep = {{ {pairs} }}")
        if info.get("id_pattern"):
            out.append(f"id_pattern = {_q(info['id_pattern'])}")
    out += [
        "",
        "[status_map]  # the ledger's status words -> SUCCESS, FAILED, REFUSED, PROCESSING",
        '# PAID = "SUCCESS"',
        "",
    ]
    return "\n".join(out)


__all__ = ["describe", "detection_lines", "mapping_toml"]
