"""Checking where a command will write, before it does any work (or calls the platform).

A fetch that learns only after an hour of calls that its ``--out`` cannot be written has lost
the hour (with ``--no-store``, everything). So each command checks its outputs first: the
nearest folder that exists on the way is a folder, a file can be created in it (tried for
real, so read-only mounts and full disks show too, whoever runs it), and the path is not the
wrong kind of thing (a folder where a file goes, a file where a folder goes). Then it writes
files whole or not at all (:func:`write_whole`), so a run killed while writing leaves the
previous file in place.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from payrecon.errors import InputError


def check_output_file(path: Path, option: str) -> None:
    """Fail now, naming ``option``, when a file cannot be written at ``path``."""
    if path.is_dir():
        raise InputError(f"{option} {path}: is a folder; name a file")
    _check_folder(path.parent if str(path.parent) else Path("."), option, path)
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{option} {path}: the file exists and cannot be written")


def check_output_folder(path: Path, option: str) -> None:
    """Fail now, naming ``option``, when files cannot be written in the folder ``path``."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path}: is a file; name a folder (it is not overwritten)")
    _check_folder(path, option, path)


def _check_folder(folder: Path, option: str, shown: Path) -> None:
    """The folder can be made (its nearest existing ancestor is a folder we can write in),
    or is there and writable. Nothing is left behind: a run that fails later on a bad input
    leaves no empty folder."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{option} {shown}: {existing} is a file")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".payrecon-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"{option} {shown}: cannot write in {existing} ({reason})") from None


def write_whole(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` to a file beside ``path``, then put it in ``path``'s place at once: an
    interrupted write leaves ``path`` as it was, never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


__all__ = ["check_output_file", "check_output_folder", "write_whole"]
