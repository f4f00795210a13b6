"""Reading the user's TOML files (mapping, fee schedule) with exact numbers and clear errors."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from payrecon.errors import InputError


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """Parse ``path``; numbers with a fraction become ``Decimal`` (a fee rate is money's kin).

    A missing file or broken TOML is an ``InputError`` naming the file and ``what`` it was for.
    """
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh, parse_float=Decimal)
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
