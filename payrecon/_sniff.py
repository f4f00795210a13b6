"""Refusing a binary file early: a look at its first bytes before anything reads it whole.

A text input (ids, a statuses CSV, a TOML mapping) that holds NUL bytes is not text: an
image, an archive, a disk image, or a file of zeros. Reading such a file line by line or
parsing it whole can take all the memory there is (one "line" of 2 GB), so it is refused at
once, naming the file and where the first NUL is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from payrecon.errors import InputError, Problem

#: Bytes looked at: a text file has no NUL in its first few kilobytes; a binary one almost
#: always has.
SNIFF_BYTES: Final = 8192


def refuse_binary(path: Path, what: str, head: bytes | None = None) -> bytes:
    """The file's first bytes; :class:`InputError` when they hold a NUL byte (or a UTF-16 or
    UTF-32 byte-order mark: text, but not in an encoding payrecon reads here).

    ``head`` is those bytes when the caller read them already.
    """
    if head is None:
        try:
            with path.open("rb") as fh:
                head = fh.read(SNIFF_BYTES)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise InputError(f"{path}: cannot read the {what} ({reason})") from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path}: the {what} is UTF-16 (or UTF-32) text; save it as UTF-8")
    nul = head.find(b"\x00")
    if nul >= 0:
        row = head.count(b"\n", 0, nul) + 1
        problem = Problem(str(path), row, None, f"NUL byte at byte {nul}")
        raise InputError(f"{path}: binary data, not a {what}", [problem])
    return head


__all__ = ["SNIFF_BYTES", "refuse_binary"]
