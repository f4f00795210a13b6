"""Reading the user's TOML files (mapping, fee schedule) with exact numbers and clear errors."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from payrecon._sniff import refuse_binary
from payrecon.errors import InputError, Problem

#: Largest TOML file read: a mapping or a fee schedule is a few kilobytes; a bigger file is
#: something else, and reading it whole would only cost memory.
MAX_TOML_BYTES: Final = 1 << 20


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """Parse ``path``; numbers with a fraction become ``Decimal`` (a fee rate is money's kin).

    A missing file, binary data, text that is not UTF-8, a file over :data:`MAX_TOML_BYTES`
    or broken TOML is an ``InputError`` naming the file, ``what`` it was for and, where it
    applies, the row.
    """
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_TOML_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"{path}: cannot read the {what} ({reason})") from None
    refuse_binary(path, what, data[:8192])
    if len(data) > MAX_TOML_BYTES:
        raise InputError(f"{path}: larger than {MAX_TOML_BYTES // 1024} KB: not a {what}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        problem = Problem(str(path), row, None, f"not UTF-8 text (byte {exc.start})")
        raise InputError(f"{path}: cannot decode the {what}", [problem]) from None
    try:
        return tomllib.loads(text.removeprefix("\ufeff"), parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
