"""``payrecon reconcile``: its options, and the command as an ordered list of named steps.

:func:`cmd_reconcile` reads as the order the command keeps, and each step says why it is where
it is: every usage problem is found before any file is read or the platform called; the inputs
come next (the ledger, then the statuses from a file or from the platform, with the store); then
the pure core; then the outputs, written before the conservation proof is verified, so that a
failing proof (exit 5) still leaves them to look at; then ``--fail-on`` (exit 4); the one-line
summary for logs is printed last.

Nothing heavy is imported at the top of this module: ``payrecon --help`` imports it to build the
parser. pandas comes with the first step (``payrecon.cli._schedule`` needs the categories).

Two speed tricks live here (``payrecon._speed``, ``docs/performance.md``), each in one function
with one call, so that removing one is deleting that function and its call:
``early_statuses`` (:func:`_read_statuses_early`) and ``side_imports``
(:func:`_import_the_report_on_the_side`). ``jemalloc`` is :func:`payrecon.cli._runtime.
reuse_freed_memory`, called here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from payrecon._speed import speed_trick
from payrecon.cli._options import add_platform_options, add_store_options
from payrecon.errors import EXIT_OK, InputError

if TYPE_CHECKING:
    from decimal import Decimal

    import pandas as pd

    from payrecon.cli._options import Subcommands
    from payrecon.cli._recurring import Extras
    from payrecon.core._confirmed import Confirmation
    from payrecon.core.fees import FeeSchedule
    from payrecon.core.result import Reconciliation


def add_reconcile_parser(sub: Subcommands) -> None:
    """``payrecon reconcile LEDGER --out DIR ...`` (interface.md), its checks and scheduled-run
    options, then the platform and the store."""
    p = sub.add_parser("reconcile", help="reconcile a ledger export against the platform")
    p.add_argument("ledger", type=Path, help="ledger export (.csv, .xlsx or .parquet)")
    p.add_argument(
        "--out", type=Path, required=True, help="folder for rows.csv, summary.csv, report.html"
    )
    p.add_argument("--mapping", type=Path, help="TOML mapping of the ledger's columns")
    p.add_argument(
        "--ids", type=Path, help="ids of payouts the platform has (the ledger may lack them)"
    )
    p.add_argument(
        "--statuses", type=Path, help="read the statuses table from this file; no fetching"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_run_options(p)
    _add_recurring_options(p)
    add_platform_options(p)
    add_store_options(p)
    p.set_defaults(func=cmd_reconcile)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """Checks and scheduled-run options of ``reconcile`` (see payrecon.cli._schedule)."""
    p.add_argument("--fee-schedule", type=Path, help="TOML fee schedule of the contract")
    p.add_argument(
        "--tolerance",
        help="absolute amount (and fee) tolerance: 0.01, or per currency IDR=1,USD=0.01,*=0",
    )
    p.add_argument(
        "--include-known",
        action="store_true",
        help="add every id the store knows (created, called back, fetched) to the platform side",
    )
    p.add_argument(
        "--fail-on",
        metavar="CATEGORIES",
        help="exit 4 when any row falls in one of these comma-separated categories "
        "(or flags, or 'exceptions')",
    )
    p.add_argument(
        "--dated",
        action="store_true",
        help="write into OUT/YYYY-MM-DDTHHMMSSZ/ (the run's UTC start), never over an earlier run",
    )
    p.add_argument(
        "--excel",
        action="store_true",
        help="write report.xlsx however many rows (by default only up to 50,000: it is slow)",
    )


def _add_recurring_options(p: argparse.ArgumentParser) -> None:
    """Options of a recurring run (see docs/recurring.md)."""
    p.add_argument(
        "--run-name",
        help="name of this recurring run (default: the ledger file's name); changes.csv "
        "compares with the previous run of the same name",
    )
    p.add_argument(
        "--match-window",
        type=int,
        default=3,
        metavar="DAYS",
        help="days between a ledger row and a payout for a suggested match (default 3)",
    )
    p.add_argument(
        "--confirmed",
        type=Path,
        metavar="FILE",
        help="CSV of confirmed matches (source_row or ledger_id, and id_payout): those ledger "
        "rows are reconciled as naming those payouts",
    )


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Reconcile LEDGER against the platform's statuses into ``--out``; the steps in order.

    Exit 4 (``EXIT_FOUND``) when a ``--fail-on`` word applies, 5 when the conservation proof
    fails; the last line printed is always the one-line summary for logs.
    """
    usage = _check_usage(args)
    from payrecon.cli._recurring import Extras
    from payrecon.cli._runtime import reuse_freed_memory

    confirmations = _read_confirmations(args)
    extras = Extras()
    reuse_freed_memory()  # speed trick "jemalloc"
    early = _read_statuses_early(args)
    schedule = _read_fee_schedule(args)
    out = _output_folder(args)
    ledger = _read_ledger(args, confirmations, extras)
    extra_ids = _read_extra_ids(args)
    if args.statuses is not None:
        platform = _statuses_from_file(args, extra_ids, early, usage.tracked, extras)
    else:
        platform = _statuses_from_platform(args, ledger, extra_ids, extras)
        stopped = _stopped_by_the_user(args, platform.statuses)
        if stopped is not None:
            return stopped
    platform = _confirmed_groups_as_one(platform, extras)
    _say_what_was_read(ledger, extras)
    _import_the_report_on_the_side()
    rec = _reconcile(args, ledger, platform, usage, schedule, extras)
    del ledger, platform, early  # the result holds what it needs; the outputs reuse their memory
    rec = _finish(args, rec, extras, usage.tracked)
    report = _write_outputs(args, rec, out)
    _verify_conservation(rec)
    return _verdict(rec, usage.fail_on, report)


@dataclass(frozen=True)
class _Usage:
    """What the arguments say once checked: the ``--fail-on`` words, the tolerance, and whether
    the run is tracked (recorded in the store, compared with the last run of its name)."""

    fail_on: tuple[str, ...]
    tolerance: object
    tracked: bool


def _check_usage(args: argparse.Namespace) -> _Usage:
    """Every usage problem (exit 2), before any input is read or the platform called: a run that
    would fail on its arguments fails at once, not after an hour of calls."""
    from payrecon.cli._outputs import check_output_folder
    from payrecon.cli._schedule import needs_history, parse_fail_on
    from payrecon.statuses._input import check_statuses_file

    fail_on = parse_fail_on(args.fail_on)
    if args.include_known and args.no_store:
        raise InputError("--include-known reads the store: drop --no-store")
    tolerance = _parse_tolerance(args.tolerance)
    check_output_folder(args.out, "--out")
    if args.statuses is not None:
        check_statuses_file(args.statuses)
    tracked = not args.no_store and (args.statuses is None or args.run_name is not None)
    if needs_history(fail_on) and not tracked:
        raise InputError(
            "--fail-on new compares with the last run kept in the store: drop --no-store "
            "(with --statuses, give --run-name)"
        )
    if args.match_window < 0:
        raise InputError(f"--match-window: must be zero or more days, not {args.match_window}")
    return _Usage(fail_on, tolerance, tracked)


def _parse_tolerance(text: str | None) -> object:
    """``--tolerance``: one amount, or ``CUR=amount`` pairs (``*`` for every other currency)."""
    if text is None:
        return None
    if "=" not in text:
        return _tolerance_amount(text)
    per: dict[str, Decimal] = {}
    for part in text.split(","):
        cur, sep, value = part.partition("=")
        if not sep or not cur.strip():
            raise InputError(f"--tolerance: expected CUR=amount, got {part.strip()!r}")
        per[cur.strip().upper() if cur.strip() != "*" else "*"] = _tolerance_amount(value)
    return per


def _tolerance_amount(value: str) -> Decimal:
    """One amount of ``--tolerance``: a non-negative decimal that fits the money type."""
    from decimal import Decimal, InvalidOperation

    from payrecon.client.records import MONEY_INTEGER_DIGITS, MONEY_SCALE, money_fits

    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise InputError(f"--tolerance: not an amount: {value.strip()!r}") from None
    if not number.is_finite() or number < 0:
        raise InputError(f"--tolerance: must be a non-negative amount: {value.strip()!r}")
    if not money_fits(number):
        raise InputError(
            f"--tolerance: {value.strip()[:40]!r} does not fit an amount (at most "
            f"{MONEY_INTEGER_DIGITS} digits before the point and {MONEY_SCALE} after)"
        )
    return number


def _read_confirmations(args: argparse.Namespace) -> Sequence[Confirmation]:
    """``--confirmed``: read first of the inputs, as it is small and a bad one is the user's
    to fix before anything slow starts."""
    from payrecon.core._confirmed import read_confirmed

    return read_confirmed(args.confirmed) if args.confirmed else []


def _read_statuses_early(args: argparse.Namespace) -> Callable[[], pd.DataFrame] | None:
    """Speed trick ``early_statuses``: with ``--statuses``, a thread parses the file from now
    (arrow, outside the GIL) while this thread reads the fee schedule and the ledger; the frame
    is made on that thread too. Returns what waits for it, or None (then it is read in turn)."""
    if args.statuses is None or not speed_trick("early_statuses"):
        return None
    from concurrent.futures import ThreadPoolExecutor

    def read(path: Path) -> pd.DataFrame:
        from payrecon.statuses._csv import read_statuses_table  # pyarrow only

        table = read_statuses_table(path)
        from payrecon.statuses._table import statuses_from_table  # waits for pandas, if need be

        return statuses_from_table(table)

    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="payrecon-statuses")
    early = reader.submit(read, args.statuses)
    reader.shutdown(wait=False)
    return early.result


def _read_fee_schedule(args: argparse.Namespace) -> FeeSchedule | None:
    """``--fee-schedule``: read before the ledger, as the smaller file that can be refused."""
    from payrecon.core.fees import FeeSchedule

    return FeeSchedule.load(args.fee_schedule) if args.fee_schedule else None


def _output_folder(args: argparse.Namespace) -> Path:
    """``--out``, or with ``--dated`` the run's own folder in it, named by the run's start."""
    from payrecon.cli._schedule import dated_folder

    return dated_folder(args.out) if args.dated else args.out


def _read_ledger(
    args: argparse.Namespace, confirmations: Sequence[Confirmation], extras: Extras
) -> pd.DataFrame:
    """The ledger, with the confirmed matches applied: before fetching, so that the payouts a
    confirmed row stands for are the ones fetched."""
    from payrecon.cli._recurring import confirm
    from payrecon.ledger import read_ledger

    return confirm(read_ledger(args.ledger, args.mapping), confirmations, extras)


def _read_extra_ids(args: argparse.Namespace) -> list[str] | None:
    """``--ids``: payouts the platform has that the ledger may lack (None: not given)."""
    if args.ids is None:
        return None
    from payrecon.client.ids import read_ids

    return list(read_ids(args.ids))


@dataclass(frozen=True)
class _PlatformSide:
    """What the platform says: the statuses table, the ids it has that the ledger may lack, and
    the base URL it was asked at (None when the table was read from a file)."""

    statuses: pd.DataFrame
    extra_ids: list[str] | None
    base_url: str | None = None


def _statuses_from_file(
    args: argparse.Namespace,
    extra_ids: list[str] | None,
    early: Callable[[], pd.DataFrame] | None,
    tracked: bool,
    extras: Extras,
) -> _PlatformSide:
    """``--statuses``: the table from the file, no platform call; the store, when there is
    one, still adds the ids it knows (``--include-known``) and its history (a tracked run)."""
    from payrecon.cli._recurring import gather, history_store
    from payrecon.statuses._input import read_checked
    from payrecon.statuses._table import read_statuses

    path = args.statuses
    statuses = read_checked(path, early if early is not None else lambda: read_statuses(path))
    if args.include_known:
        extra_ids = [*(extra_ids or []), *_ids_the_store_knows(args.store)]
    if tracked:
        with history_store(args.store) as history:
            gather(history, None, extras)
    return _PlatformSide(statuses, extra_ids)


def _ids_the_store_knows(path: Path) -> list[str]:
    """``--include-known`` with ``--statuses``: the store must be there; it is only read."""
    from payrecon.store._store import Store

    if not path.is_file():
        raise InputError(f"--include-known: no store at {path}")
    with Store.open_readonly(path) as known_store:
        return list(known_store.known_ids())


def _statuses_from_platform(
    args: argparse.Namespace, ledger: pd.DataFrame, extra_ids: list[str] | None, extras: Extras
) -> _PlatformSide:
    """Fetch every id the ledger names (and the extra ones) through the store, which keeps each
    status as it arrives, then the store's history and the platform's balances."""
    from payrecon.cli._recurring import gather, wanted_ids
    from payrecon.client._client import Client
    from payrecon.store._store import open_store

    with Client.from_env(base_url=args.base_url) as client:
        store = open_store(
            None if args.no_store else args.store,
            base_url=client.base_url,
            merchant_code=client.merchant_code,
        )
        if args.include_known and store is not None:
            extra_ids = [*(extra_ids or []), *store.known_ids()]
        wanted = wanted_ids(ledger, extra_ids, extras)
        try:
            statuses = client.fetch_statuses(
                wanted,
                store=store,
                refresh=args.refresh,
                progress=False if args.no_progress else None,
            )
            gather(store, client, extras)
        finally:
            if store is not None:
                store.close()
        return _PlatformSide(statuses, extra_ids, client.base_url)


def _stopped_by_the_user(args: argparse.Namespace, statuses: pd.DataFrame) -> int | None:
    """Ctrl-C or SIGTERM during the fetch: stop there, as the user asked, with no report (the
    store keeps every status received). None when the fetch ran to its end."""
    stopped = int((statuses["error"] == "interrupted").sum())
    if not stopped:
        return None
    kept = "" if args.no_store else f"; every status received is in {args.store}"
    print(
        f"payrecon: interrupted; {stopped} id(s) not fetched, no report written{kept}",
        file=sys.stderr,
    )
    return int(args.interrupts.exit_code())


def _confirmed_groups_as_one(platform: _PlatformSide, extras: Extras) -> _PlatformSide:
    """Each confirmed group as one platform row, after fetching (the platform and the store know
    its payouts one by one), and the extra ids without the payouts the groups stand for."""
    from payrecon.cli._recurring import platform_side

    statuses, extra_ids = platform_side(platform.statuses, platform.extra_ids, extras)
    return _PlatformSide(statuses, extra_ids, platform.base_url)


def _say_what_was_read(ledger: pd.DataFrame, extras: Extras) -> None:
    """The notes of the recurring steps and what the reader detected, on stderr (diagnostics,
    beside the results), once the inputs are all good."""
    from payrecon.ledger import ledger_info
    from payrecon.ledger.inspect import detection_lines

    for note in extras.notes:
        print(note, file=sys.stderr)
    for line in detection_lines(ledger_info(ledger)):
        print(line, file=sys.stderr)


def _import_the_report_on_the_side() -> None:
    """Speed trick ``side_imports``: a core is free while reconciling, so a thread imports the
    report's modules (matplotlib is the slow one) in the meantime."""
    from payrecon.cli._runtime import import_on_the_side

    if speed_trick("side_imports"):
        import_on_the_side(
            "payrecon.report.html", "payrecon.report.figures", "payrecon.report.excel"
        )


def _reconcile(
    args: argparse.Namespace,
    ledger: pd.DataFrame,
    platform: _PlatformSide,
    usage: _Usage,
    schedule: FeeSchedule | None,
    extras: Extras,
) -> Reconciliation:
    """The pure core. The proof is left for after the outputs (``check=False``), so that a
    failing one still leaves them."""
    from payrecon.core import reconcile

    return reconcile(
        ledger,
        platform.statuses,
        ids=platform.extra_ids,
        tolerance=usage.tolerance,  # type: ignore[arg-type]
        fee_schedule=schedule,
        ledger_source=str(args.ledger),
        base_url=platform.base_url,
        regressions=extras.regressions,
        match_window=args.match_window,
        check=False,
    )


def _finish(
    args: argparse.Namespace, rec: Reconciliation, extras: Extras, tracked: bool
) -> Reconciliation:
    """The balances tied out and, for a tracked run, the run recorded in the store, which gives
    the changes since the last run of its name: both before the outputs, which show them."""
    from payrecon.cli._recurring import finish, history_store

    if not tracked:
        return finish(rec, extras, None, None)
    with history_store(args.store) as history:
        return finish(rec, extras, history, args.run_name)


def _write_outputs(args: argparse.Namespace, rec: Reconciliation, out: Path) -> Path:
    """The CSV files, report.html, the summary on stdout, then report.xlsx when the rows are few
    enough or ``--excel`` asks (it is slow). Returns report.html's path, for the log line."""
    from payrecon.report.excel import AUTO_EXCEL_ROWS

    written, report = _csv_and_report(rec, out)
    print(rec.summary_text())
    files = ", ".join(str(path) for key, path in written.items() if key != "exceptions")
    if args.excel or len(rec.rows) <= AUTO_EXCEL_ROWS:
        excel = rec.to_excel(out / "report.xlsx")
        print(f"wrote {files}, {report}, {excel}")
    else:
        print(f"wrote {files}, {report}")
        print(
            f"report.xlsx not written: {len(rec.rows):,} rows is more than "
            f"{AUTO_EXCEL_ROWS:,} (about 4,000 rows a second); --excel writes it anyway",
            file=sys.stderr,
        )
    return report


def _csv_and_report(rec: Reconciliation, out: Path) -> tuple[dict[str, Path], Path]:
    """rows.csv and the other CSV files, and report.html. Speed trick ``parallel_write``: the CSV
    files on a thread beside the report (the CSV is mostly arrow, outside the interpreter's
    lock; the charts mostly Python)."""
    if not speed_trick("parallel_write"):
        return rec.to_csv(out), rec.to_html(out / "report.html")
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="payrecon-csv") as writer:
        csv_job = writer.submit(rec.to_csv, out)
        report = rec.to_html(out / "report.html")
        return csv_job.result(), report


def _verify_conservation(rec: Reconciliation) -> None:
    """The conservation proof (rows and money in = by category + set aside): after the outputs,
    so that a failing proof (a payrecon bug, exit 5) leaves them to look at."""
    if rec.conservation is not None:
        rec.conservation.verify()


def _verdict(rec: Reconciliation, fail_on: tuple[str, ...], report: Path) -> int:
    """``--fail-on``: exit 4 when a word applies, said on stderr; the one-line summary for logs
    is printed last either way."""
    from payrecon.cli._schedule import EXIT_FOUND, found, log_line

    hits = found(rec, fail_on)
    if hits:
        listed = ", ".join(f"{k}={v}" for k, v in hits.items())
        print(f"payrecon: --fail-on: found {listed} (exit {EXIT_FOUND})", file=sys.stderr)
    print(log_line(rec, report=report), flush=True)
    return EXIT_FOUND if hits else EXIT_OK


__all__ = ["add_reconcile_parser", "cmd_reconcile"]
