"""The ``payrecon`` command: argument parsing, and the one place that maps errors to exit codes.

:func:`build_parser` lists the commands; each has its own ``add_<command>_parser`` and a function
that does its work by calling the library (``fetch``, ``reconcile``, ``sandbox`` and
``callbacks`` in a module of their own; ``show``, ``inspect`` and ``demo``, a few lines each,
here). None of them prints a traceback or decides an exit code of its own. Exit codes
(``interface.md``): 0 done (discrepancies are not an error), 2 bad input or usage, 3 the platform
could not be reached or refused the credentials or failed; beyond it, 4 a ``reconcile --fail-on``
category was found (``payrecon.cli._schedule``), 5 the conservation proof failed
(``payrecon.core._conservation``; the outputs are written first), 1 any other payrecon error, 130
interrupted by Ctrl-C (SIGINT) and 143 by SIGTERM (either way the table or the store keeps what
was fetched), 141 the reader of the output went away.

The command modules import nothing heavy at their top: ``payrecon --help`` and ``payrecon
sandbox`` never import pandas.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from payrecon import __version__
from payrecon.cli._callbacks import add_callbacks_parser
from payrecon.cli._fetch import add_fetch_parser
from payrecon.cli._options import add_platform_options
from payrecon.cli._reconcile import add_reconcile_parser
from payrecon.cli._sandbox import add_sandbox_parser
from payrecon.cli._signals import terminate_as_interrupt
from payrecon.errors import EXIT_ERROR, EXIT_OK, InputError, PayreconError

if TYPE_CHECKING:
    from payrecon.cli._options import Subcommands

EXIT_INTERRUPTED = 130  # 128 + SIGINT; SIGTERM is 143 (payrecon.cli._signals)
#: What a shell reports for a command killed by SIGPIPE: the reader of its output went away.
EXIT_BROKEN_PIPE = 141

log = logging.getLogger("payrecon")


#: What every ``--help`` ends with: where the platform and credentials come from, and what each
#: exit code means (the one table of them; :func:`main` maps errors to these codes).
EPILOG = """\
environment (or a .env file in the working directory):
  PAYRECON_BASE_URL       the platform: a URL or a preset (aopay-sandbox, echelonpay-sandbox,
                          echelonpay); no default host: nothing is sent to a host you did not name
  PAYRECON_MERCHANT_CODE  the merchant code (Merchant ID)
  PAYRECON_SECRET         the merchant secret key (never printed, logged or stored)
  PAYRECON_CONCURRENCY    the cap on calls in flight (default 512; below it they follow the pace)
  PAYRECON_MAX_RETRIES    retries per call (default 6)

exit codes:
  0    done (discrepancies found are findings, not errors)
  1    any other payrecon error
  2    bad input or usage: one line on stderr names the file, row and column
  3    the platform could not be reached, refused the credentials, or failed
  4    reconcile --fail-on found what it names
  5    the conservation proof failed (a payrecon bug; the outputs are written first)
  130  interrupted (Ctrl-C); 143 stopped by SIGTERM: what was fetched is kept
  141  the reader of the output went away (payrecon ... | head)

results go to stdout, diagnostics to stderr; docs/commands.md has every option."""


class _Help(argparse.RawDescriptionHelpFormatter):
    """Help that shows each option's default (when it has one worth showing) and keeps the
    epilog's layout."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" in text.lower()
            or default in (None, False, argparse.SUPPRESS)
            or action.option_strings == []
            or (isinstance(default, list | tuple) and not default)
        ):
            return text
        return f"{text} (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    """The ``payrecon`` parser: the global options, then one subparser per command, in the order
    ``--help`` lists them; each command's module adds its own (``add_<command>_parser``)."""
    parser = argparse.ArgumentParser(
        prog="payrecon",
        description="Fetch payout statuses from AOPay / EchelonPay; reconcile them with a ledger.",
        epilog=EPILOG,
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=f"payrecon {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = _subcommands(parser)
    add_fetch_parser(sub)
    add_reconcile_parser(sub)
    add_sandbox_parser(sub)
    add_callbacks_parser(sub)
    _add_show_parser(sub)
    _add_inspect_parser(sub)
    _add_demo_parser(sub)
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> Subcommands:
    """The ``COMMAND`` choices, whose every parser shows defaults, ends with :data:`EPILOG` and,
    unless given one, takes its description from its one-line help."""
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add = sub.add_parser

    def add_parser(name: str, **kw: Any) -> argparse.ArgumentParser:
        kw.setdefault("description", (kw.get("help") or "").capitalize() + ".")
        return _add(name, formatter_class=_Help, epilog=EPILOG, **kw)

    sub.add_parser = add_parser  # type: ignore[method-assign]
    return sub


def _add_show_parser(sub: Subcommands) -> None:
    """``payrecon show ID`` (interface.md)."""
    p = sub.add_parser("show", help="one payout's story: detail, history, callbacks, ledger rows")
    p.add_argument("id_payout", help="the payout id (Merchant Order ID)")
    p.add_argument("--ledger", type=Path, help="a ledger export: show the rows that name the id")
    p.add_argument("--mapping", type=Path, help="the mapping to read --ledger with")
    add_platform_options(p)
    p.add_argument(
        "--store", type=Path, default=Path("payrecon.db"), help="the store with its history"
    )
    p.set_defaults(func=_cmd_show)


def _add_inspect_parser(sub: Subcommands) -> None:
    """``payrecon inspect LEDGER [--mapping M] [--write-mapping FILE]`` (interface.md)."""
    p = sub.add_parser(
        "inspect",
        help="what the reader detects in a ledger export, and the mapping it used",
        description="Print what payrecon detects in LEDGER (header line, columns, encoding, "
        "delimiter, decimal mark, date order, sign, rows set aside by reason); with "
        "--write-mapping, write it as a mapping to edit and pass back with --mapping. "
        "Needs no credentials and sends nothing anywhere.",
    )
    p.add_argument("ledger", type=Path, help="the ledger export (.csv, .txt, .xlsx, .parquet)")
    p.add_argument("--mapping", type=Path, help="a mapping to read it with (default: detect)")
    p.add_argument(
        "--write-mapping", type=Path, metavar="FILE", help="write the detection as a mapping"
    )
    p.add_argument(
        "--set-aside", action="store_true", help="also list every row set aside with its reason"
    )
    p.set_defaults(func=_cmd_inspect)


def _add_demo_parser(sub: Subcommands) -> None:
    """``payrecon demo [--out DIR]`` (interface.md)."""
    p = sub.add_parser("demo", help="the whole job on the embedded sandbox and sample data")
    p.add_argument("--out", type=Path, default=Path("reports/demo"), help="folder for the report")
    p.set_defaults(func=_cmd_demo)


def _cmd_inspect(args: argparse.Namespace) -> int:
    """Describe the ledger as read; write the mapping when asked (never over an existing file)."""
    from payrecon.ledger import ledger_info, read_ledger, set_aside
    from payrecon.ledger.inspect import describe, mapping_toml

    target = args.write_mapping
    if target is not None and target.exists():
        raise InputError(f"--write-mapping: {target} exists; name a new file")
    ledger = read_ledger(args.ledger, mapping=args.mapping)
    info = ledger_info(ledger)
    print(describe(info, len(ledger)))
    if args.set_aside:
        for rec in set_aside(ledger).itertuples(index=False):
            print(f"  line {rec.source_row:>6}  {rec.reason:<16} {str(rec.line)[:100]}")
    if target is not None:
        try:
            target.write_text(mapping_toml(info), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--write-mapping: cannot write {target}: {exc.strerror}") from None
        print(f"wrote {target}: edit it, then pass it with --mapping")
    return EXIT_OK


def _cmd_show(args: argparse.Namespace) -> int:
    """Print one payout's story; a payout the platform lacks is a finding, not an error."""
    from payrecon.client._client import Client
    from payrecon.platform import is_valid_id
    from payrecon.store._store import Store
    from payrecon.store.story import gather_story

    if not is_valid_id(args.id_payout):
        raise InputError(
            f"{args.id_payout!r} breaks the platform's id rule ([A-Za-z0-9_-]{{1,250}})"
        )
    if args.mapping is not None and args.ledger is None:
        raise InputError("--mapping needs --ledger")
    ledger = None
    if args.ledger is not None:
        from payrecon.ledger import read_ledger

        ledger = read_ledger(args.ledger, mapping=args.mapping)
    with Client.from_env(base_url=args.base_url) as client:
        # An existing store only: looking at one payout should not leave a new file behind.
        store = (
            Store(args.store, base_url=client.base_url, merchant_code=client.merchant_code)
            if args.store.exists()
            else None
        )
        try:
            story = gather_story(args.id_payout, client=client, store=store, ledger=ledger)
        finally:
            if store is not None:
                store.close()
    print(story.to_text())
    if store is None:
        print(f"  (no store at {args.store}: no history or callbacks to show)")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    """The whole job on the in-process sandbox and data/ (see payrecon.cli._demo); prints where."""
    from payrecon.cli._demo import run_demo
    from payrecon.cli._schedule import log_line

    result = run_demo(args.out)
    rec, files = result.reconciliation, result.files
    print(rec.summary_text())
    print(f"done in {result.seconds:.1f} s; wrote into {args.out.resolve()}:")
    shown = ("report", "excel", "rows", "summary", "exceptions")
    for key in (*shown, *(k for k in files if k not in shown)):
        print(f"  {files[key].name:<16} {files[key].resolve()}")
    print(f"open {files['report'].resolve().as_uri()}")
    print(log_line(rec, report=files["report"], command="demo"), flush=True)
    return EXIT_OK


def _configure_logging(verbosity: int) -> None:
    """Warnings by default, ``-v`` info, ``-vv`` debug: all on stderr, beside the results."""
    level = logging.WARNING - 10 * min(verbosity, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code: the one place an error becomes its code."""
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors exit 2 through argparse
    _configure_logging(args.verbose)
    with terminate_as_interrupt() as interrupts:  # SIGTERM stops a run as Ctrl-C does
        args.interrupts = interrupts
        try:
            return int(args.func(args))
        except PayreconError as exc:  # the one place errors become exit codes: each has its own
            label = type(exc).__name__ if exc.label is None else exc.label
            print(f"payrecon: {label + ': ' if label else ''}{exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print("payrecon: interrupted", file=sys.stderr)
            return interrupts.exit_code()
        except BrokenPipeError:
            raise  # the reader stopped reading: run() ends as a Unix tool does
        except OSError as exc:  # a disk or a stream failed under the run: one line, exit 1
            where = f"{exc.filename}: " if exc.filename else ""
            print(f"payrecon: {where}{exc.strerror or exc}", file=sys.stderr)
            return EXIT_ERROR


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """The installed command: :func:`main`, then leave without tearing the interpreter down.

    Not for speed (``docs/performance.md``: no measurable gain on a million rows) but so that an
    interrupted ``fetch`` ends at once: a normal exit joins every thread still waiting on a slow
    platform (``test_ctrl_c_on_a_slow_platform_exits_at_once_and_keeps_every_id``). What it skips
    is safe to skip: every file is closed by then (each is written inside its own ``with``), the
    store commits as it goes, and logging and the standard streams are flushed here; atexit
    handlers (those joins) and object finalizers do not run. Tests call :func:`main`, which
    returns.
    """
    try:
        code = main(argv)
    except BrokenPipeError:
        # Whoever read the output stopped reading (``payrecon ... | head``): stop as a Unix tool
        # killed by SIGPIPE does, without a traceback, and send what is left nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_BROKEN_PIPE
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe has nothing to flush to
            stream.flush()
    os._exit(code)
