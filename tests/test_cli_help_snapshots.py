"""Snapshots of what ``payrecon --help`` and each ``payrecon COMMAND --help`` print, and of the
OpenAPI document the sandbox serves, compared whole with files under tests/snapshots/.

The parser is built from one ``add_<command>_parser`` per command and the document from one
builder per operation and schema; moving those around must not change a byte of either. When a
change is intended, rewrite the files and review them like code::

    PAYRECON_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/test_cli_help_snapshots.py
    git diff tests/snapshots
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from payrecon.cli._main import main
from payrecon.sandbox.openapi import document_bytes

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("PAYRECON_UPDATE_SNAPSHOTS") == "1"
COMMANDS = ("fetch", "reconcile", "sandbox", "callbacks", "show", "inspect", "demo")


def matches_snapshot(name: str, text: str) -> bool:
    """``text`` equals tests/snapshots/``name`` (PAYRECON_UPDATE_SNAPSHOTS=1: becomes it)."""
    path = SNAPSHOTS / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8") == text


def help_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """What ``payrecon *argv --help`` prints; it exits 0 through argparse."""
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", ["", *COMMANDS], ids=["payrecon", *COMMANDS])
def test_help_is_as_recorded(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal's width
    text = help_text([command] if command else [], capsys)
    name = f"help_{command or 'payrecon'}.txt"
    assert matches_snapshot(name, text), f"tests/snapshots/{name} differs from --help"


def test_the_served_openapi_document_is_as_recorded() -> None:
    text = document_bytes().decode()
    assert matches_snapshot("openapi.json", text), "tests/snapshots/openapi.json differs"
