"""Bytes to text: the encoding a finance tool wrote, found without guessing wrong in silence.

The order is the one that cannot mislead: a byte-order mark says what it is (UTF-8, UTF-16);
text that decodes as UTF-8 is UTF-8 (cp1252 text with accents almost never does); anything else
is cp1252, the Windows code page German banks and SAP write, or latin-1 where cp1252 leaves a
byte undefined. A file with NUL bytes and no UTF-16 mark is not text at all.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from payrecon.errors import InputError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Decoded:
    """A text file as UTF-8 bytes (what arrow's CSV reader reads) and what it was."""

    data: bytes  # UTF-8, no BOM
    encoding: str  # the encoding read: utf-8, utf-8-sig, utf-16, cp1252, latin-1, or the mapping's
    detected: bool  # False when the mapping named it


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes, *, file: str, encoding: str | None = None) -> Decoded:
    """``data`` as UTF-8 bytes; an :class:`InputError` names a wrong encoding and where it broke."""
    if encoding is not None:
        name = codecs.lookup(encoding).name
        if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        try:
            text = data.decode(name)
        except UnicodeDecodeError as exc:
            line = _line_of(data, exc.start)
            raise InputError(
                f"{file}: line {line} cannot be read as {encoding} (byte 0x{data[exc.start]:02X}); "
                "the file is in another encoding: drop [parse] encoding to detect it, or name "
                "the right one (e.g. cp1252, utf-16)"
            ) from None
        if name in {"utf-8", "utf_8"}:
            return Decoded(data, "utf-8", False)
        return Decoded(text.lstrip("\ufeff").encode("utf-8"), encoding, False)
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(name)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{file}: starts with a {name} byte-order mark but byte {exc.start} is not "
                    f"{name}: the file is damaged, or set [parse] encoding"
                ) from None
            return Decoded(text.lstrip("\ufeff").encode("utf-8"), name, True)
    nul = data.find(b"\x00", 0, 1 << 16)
    if nul >= 0:
        raise InputError(
            f"{file}: not a text file (a NUL byte at offset {nul}): a ledger is CSV, .xlsx or "
            '.parquet (UTF-16 text needs its byte-order mark, or [parse] encoding = "utf-16-le")'
        )
    if data.isascii():  # a machine export, nearly always: one fast scan, no decoding
        return Decoded(data, "utf-8", True)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return Decoded(data, "utf-8", True)
    try:
        text = data.decode("cp1252")
        name = "cp1252"
    except UnicodeDecodeError:
        text, name = data.decode("latin-1"), "latin-1"
    return Decoded(text.encode("utf-8"), name, True)


__all__ = ["Decoded", "decode"]
