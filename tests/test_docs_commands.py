"""Every ``payrecon`` command line the README and docs/ show is one the real parser accepts.

Documentation goes stale when an option is renamed or dropped and nobody reruns the examples.
This test finds each command line shown in README.md and docs/*.md and parses it (never runs it)
with the parser ``payrecon.cli.build_parser`` builds, so a renamed option fails here, naming
the
file and line. It also checks that every relative link in those files points at a file that
exists.

Which lines count as commands: in ```sh / shell / bash / zsh / cron blocks, every line; in
```console blocks, only lines after a ``$`` prompt (the others are the command's output, which
may well start with ``payrecon fetch:``). A line is split as the shell would (comments dropped,
``\\`` continuations joined) into simple commands at ``&&``, ``||``, ``;``, ``|`` and ``&``;
redirections are dropped; a simple command whose program is ``payrecon`` (or a path ending in
``/payrecon``, such as ``.venv/bin/payrecon``) is parsed with nothing substituted.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from payrecon.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: Code block languages whose every line is a shell command.
SHELL_LANGS = frozenset({"sh", "shell", "bash", "zsh", "cron"})
#: Code block languages where only ``$``-prompted lines are commands.
PROMPT_LANGS = frozenset({"console"})
#: Tokens that end one simple command and start the next.
SEPARATORS = frozenset({"&&", "||", ";", "|", "&", ";;"})
FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


@dataclass(frozen=True)
class Shown:
    """One ``payrecon`` command as a page shows it."""

    path: Path
    line: int
    argv: tuple[str, ...]

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _logical_lines(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Join ``\\``-continued lines; each result keeps the number of its first line."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, text in lines:
        if pending is not None:
            pending = (pending[0], pending[1] + " " + text.strip())
        else:
            pending = (number, text)
        if pending[1].rstrip().endswith("\\"):
            pending = (pending[0], pending[1].rstrip()[:-1])
            continue
        out.append(pending)
        pending = None
    if pending is not None:
        out.append(pending)
    return out


def _command_lines(text: str) -> list[tuple[int, str]]:
    """The shell command lines of a Markdown text, with their 1-based line numbers."""
    lang: str | None = None
    block: list[tuple[int, str]] = []
    found: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        fence = FENCE.match(line)
        if fence and lang is None:
            lang = fence.group(2).lower()
            block = []
            continue
        if fence and lang is not None:
            if lang in PROMPT_LANGS:
                prompted: list[tuple[int, str]] = []
                for n, t in block:
                    if t.lstrip().startswith("$ "):
                        prompted.append((n, t.lstrip()[2:]))
                    elif prompted and prompted[-1][1].rstrip().endswith("\\"):
                        prompted.append((n, t))  # the continuation of a prompted command
                found.extend(_logical_lines(prompted))
            elif lang in SHELL_LANGS:
                found.extend(_logical_lines(block))
            lang = None
            continue
        if lang is not None:
            block.append((number, line))
    return found


def _simple_commands(line: str) -> list[list[str]]:
    """A command line split as a shell would, into simple commands without redirections."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands: list[list[str]] = [[]]
    skip_next = False
    for token in lexer:
        if skip_next:
            skip_next = False
            continue
        if token in SEPARATORS:
            commands.append([])
        elif token and set(token) <= set("<>&"):
            # A redirection (>, >>, 2>&1 splits as "2", ">&", "1"): drop it and its target.
            if commands[-1] and commands[-1][-1].isdigit():
                commands[-1].pop()
            skip_next = True
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def shown_commands(path: Path, text: str | None = None) -> list[Shown]:
    """Every ``payrecon`` command shown in the Markdown file at ``path``."""
    text = path.read_text(encoding="utf-8") if text is None else text
    shown = []
    for number, line in _command_lines(text):
        for words in _simple_commands(line):
            # Leading VAR=value assignments belong to the shell, not to the command.
            while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
                words = words[1:]
            if words and (words[0] == "payrecon" or words[0].endswith("/payrecon")):
                shown.append(Shown(path, number, tuple(words[1:])))
    return shown


def parse_error(argv: tuple[str, ...]) -> str | None:
    """What the real parser says against ``argv``, or None when it accepts it."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            build_parser().parse_args(list(argv))
        except SystemExit as exc:
            if exc.code not in (0, None):  # --help and --version exit 0
                return stderr.getvalue().strip().splitlines()[-1]
    return None


ALL_SHOWN = [shown for path in DOC_FILES for shown in shown_commands(path)]


def test_the_docs_show_commands() -> None:
    """The finder finds them: if it found none, every other test here would pass vacuously."""
    commands = {shown.argv[0] for shown in ALL_SHOWN if shown.argv}
    assert {"fetch", "reconcile", "sandbox", "callbacks", "show", "inspect", "demo"} <= commands
    readme = [shown for shown in ALL_SHOWN if shown.path.name == "README.md"]
    assert readme, "README.md shows no payrecon command"


@pytest.mark.parametrize("shown", ALL_SHOWN, ids=lambda s: s.where())
def test_shown_command_parses(shown: Shown) -> None:
    error = parse_error(shown.argv)
    assert error is None, f"{shown.where()}: payrecon {shlex.join(shown.argv)}\n  {error}"


def test_a_wrong_option_is_caught_with_its_line(tmp_path: Path) -> None:
    """The check can fail: a renamed option, a made-up command, a prompt in console output."""
    page = tmp_path / "page.md"
    text = (
        "Intro.\n\n```sh\n"
        "payrecon fetch ids.txt --out s.csv   # fine\n"
        "cd /srv && .venv/bin/payrecon fetch ids.txt --out s.csv --refrsh >> log 2>&1\n"
        "```\n\n```console\n"
        "$ payrecon reconcile l.csv --out d \\\n"
        "    --fail-on new --tolerence 1\n"
        "payrecon reconcile: 3 rows (output, not a command)\n"
        "$ payrecon frobnicate\n"
        "```\n\n```text\npayrecon nothing-here\n```\n"
    )
    shown = shown_commands(page, text)
    assert [(s.line, s.argv[0]) for s in shown] == [
        (4, "fetch"),
        (5, "fetch"),
        (9, "reconcile"),
        (12, "frobnicate"),
    ]
    errors = {s.line: parse_error(s.argv) for s in shown}
    assert errors[4] is None
    assert "--refrsh" in (errors[5] or "")
    assert "--tolerence" in (errors[9] or "")
    assert "frobnicate" in (errors[12] or "")


def _relative_links(text: str) -> list[tuple[int, str]]:
    links = []
    for number, line in enumerate(text.splitlines(), start=1):
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a URL, mailto: or an anchor on the same page
            links.append((number, target.split("#", 1)[0]))
    return links


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_point_at_files_that_exist(path: Path) -> None:
    broken = [
        f"{path.relative_to(ROOT)}:{number}: {target}"
        for number, target in _relative_links(path.read_text(encoding="utf-8"))
        if not (path.parent / target).exists()
    ]
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)


def test_readme_links_every_docs_page() -> None:
    """A page no one links to is a page no one reads: the README or the index names each."""
    linked = {
        (path.parent / target).resolve()
        for path in (ROOT / "README.md", ROOT / "docs" / "README.md")
        for _, target in _relative_links(path.read_text(encoding="utf-8"))
    }
    unlinked = [p.name for p in DOC_FILES if p.parent.name == "docs" and p.resolve() not in linked]
    assert not unlinked, f"docs pages linked from neither README.md nor docs/README.md: {unlinked}"


def test_readme_stays_a_front_door() -> None:
    """The README names the two commands and stays short; reference belongs in docs/."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text
    lines = len(text.splitlines())
    assert lines <= 250, f"README.md has {lines} lines; move reference into a docs/ page"
