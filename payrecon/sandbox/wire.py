"""What goes on the wire: JSON with exact decimal numbers, the guide's timestamps, error bodies.

Amounts are ``Decimal`` inside the sandbox and must reach the client as the very same JSON number,
never through a binary float, so this module writes JSON itself: ``json.dumps`` for strings and
the text of each ``Decimal`` (``format(d, "f")``: no exponent) for numbers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_str = json.encoder.encode_basestring_ascii


def dumps(obj: Any) -> str:
    """JSON text of ``obj``; ``Decimal`` values are written as exact JSON numbers."""
    parts: list[str] = []
    _write(obj, parts)
    return "".join(parts)


def _write(obj: Any, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(_str(obj))
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif obj is None:
        out.append("null")
    elif isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"not a JSON number: {obj}")
        out.append(format(obj, "f"))
    elif isinstance(obj, int):
        out.append(str(obj))
    elif isinstance(obj, Mapping):
        out.append("{")
        first = True
        for key, value in obj.items():
            if not first:
                out.append(",")
            first = False
            out.append(_str(str(key)))
            out.append(":")
            _write(value, out)
        out.append("}")
    elif isinstance(obj, Sequence):
        out.append("[")
        for i, value in enumerate(obj):
            if i:
                out.append(",")
            _write(value, out)
        out.append("]")
    else:  # floats included: money must never pass through one
        raise TypeError(f"cannot write {type(obj).__name__} as sandbox JSON")


def timestamp(epoch: float) -> str:
    """The guide's form, ``2021-05-19T10:57:28.313Z``: UTC, milliseconds, a ``Z``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def basic_error(description: str) -> str:
    """``BasicError`` (400, 401, 403, 409, 410, 429, 500): ``{"description": ...}`` (§5.2)."""
    return dumps({"description": description})


def business_error(code: str, description: str, attr_code: str | None = None) -> str:
    """A 406 body: an array of ``{code, description, attrCode?}``, as the spec types it (§5.2)."""
    item: dict[str, str] = {"code": code, "description": description}
    if attr_code is not None:
        item["attrCode"] = attr_code
    return dumps([item])


class Refusal(Exception):
    """An error answer on its way out: HTTP status, JSON body text and any extra headers."""

    def __init__(self, status: int, body: str, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        super().__init__(f"{status} {body}")

    @classmethod
    def basic(cls, status: int, description: str, **headers: str) -> Refusal:
        return cls(status, basic_error(description), headers)

    @classmethod
    def business(cls, code: str, description: str, attr_code: str | None = None) -> Refusal:
        return cls(406, business_error(code, description, attr_code))
