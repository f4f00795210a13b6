"""The ``payrecon`` command: argument parsing, and the one place that maps errors to exit codes.

Each ``_cmd_*`` function does one command's work by calling the library; none of them prints a
traceback or decides an exit code of its own. Exit codes (``interface.md``): 0 done (discrepancies
are not an error), 2 bad input or usage, 3 the platform could not be reached or refused the
credentials or failed; beyond it, 4 a ``reconcile --fail-on`` category was found
(``payrecon.cli._schedule``), 5 the conservation proof failed (``payrecon.core._conservation``; the
outputs
are written first), 1 any other payrecon error, 130 interrupted by Ctrl-C (SIGINT) and 143 by
SIGTERM (either way the table or the store keeps what was fetched), 141 the reader of the output
went away.
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
from payrecon.cli._signals import terminate_as_interrupt
from payrecon.errors import (
    EXIT_OK,
    EXIT_PLATFORM,
    ConfigError,
    InputError,
    PayreconError,
    PlatformError,
)

if TYPE_CHECKING:
    import pandas as pd  # the command imports it only once its arguments are checked

EXIT_INTERRUPTED = 130  # 128 + SIGINT; SIGTERM is 143 (payrecon.cli._signals)
#: What a shell reports for a command killed by SIGPIPE: the reader of its output went away.
EXIT_BROKEN_PIPE = 141

log = logging.getLogger("payrecon")


def _add_platform_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", help="platform base URL or preset (default: $PAYRECON_BASE_URL)")


def _add_store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", type=Path, default=Path("payrecon.db"), help="SQLite store path")
    p.add_argument("--no-store", action="store_true", help="do not read or write a store")
    p.add_argument(
        "--refresh", action="store_true", help="refetch payouts the store knows as final"
    )


def _add_reconcile_run_options(p: argparse.ArgumentParser) -> None:
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
    _add_recurring_options(p)


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


def _add_receiver_options(p: argparse.ArgumentParser) -> None:
    """The callback receiver's limits (docs/callbacks.md); unset ones keep ReceiverLimits'
    defaults (not imported here: that would load aiohttp for every command)."""
    p.add_argument("--stats", action="store_true", help="print the store's callback counts, exit")
    p.add_argument("--callback-key", type=Path, help="signing key (default: beside the store)")
    p.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDR",
        help="proxy address or CIDR whose X-Forwarded-For names the sender (repeatable)",
    )
    p.add_argument(
        "--budget", type=float, help="platform calls a second for confirming unknown ids (2)"
    )
    p.add_argument("--batch", type=int, help="unknown ids confirmed under one token (20)")
    p.add_argument("--park", type=int, help="unknown ids that may wait for confirmation (10000)")
    p.add_argument(
        "--sender-rate", type=float, help="requests a second per sender, unless signed (20)"
    )
    p.add_argument("--max-connections", type=int, help="open connections at most (512)")


def _tolerance(text: str | None) -> object:
    """``--tolerance``: one amount, or ``CUR=amount`` pairs (``*`` for every other currency)."""
    from decimal import Decimal, InvalidOperation

    from payrecon.client.records import MONEY_INTEGER_DIGITS, MONEY_SCALE, money_fits

    if text is None:
        return None

    def amount(value: str) -> Decimal:
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

    if "=" not in text:
        return amount(text)
    per: dict[str, Decimal] = {}
    for part in text.split(","):
        cur, sep, value = part.partition("=")
        if not sep or not cur.strip():
            raise InputError(f"--tolerance: expected CUR=amount, got {part.strip()!r}")
        per[cur.strip().upper() if cur.strip() != "*" else "*"] = amount(value)
    return per


def _retry_after_arg(text: str) -> float | None:
    """``--error-429-retry-after``: seconds, or ``none`` for no header."""
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds or 'none': {text!r}") from None
    if not 0 <= value < 86400:
        raise argparse.ArgumentTypeError(f"must be 0..86400 seconds: {text!r}")
    return value


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
    parser = argparse.ArgumentParser(
        prog="payrecon",
        description="Fetch payout statuses from AOPay / EchelonPay; reconcile them with a ledger.",
        epilog=EPILOG,
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=f"payrecon {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add = sub.add_parser

    def add_parser(name: str, **kw: Any) -> argparse.ArgumentParser:
        kw.setdefault("description", (kw.get("help") or "").capitalize() + ".")
        return _add(name, formatter_class=_Help, epilog=EPILOG, **kw)

    sub.add_parser = add_parser  # type: ignore[method-assign]

    p = sub.add_parser("fetch", help="fetch the status of every payout id in a file")
    p.add_argument(
        "ids", type=Path, help="text file (one id a line) or CSV with an id_payout column"
    )
    p.add_argument("--out", type=Path, required=True, help="statuses table (.csv or .parquet)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_platform_options(p)
    _add_store_options(p)
    p.set_defaults(func=_cmd_fetch)

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
    _add_reconcile_run_options(p)
    _add_platform_options(p)
    _add_store_options(p)
    p.set_defaults(func=_cmd_reconcile)

    p = sub.add_parser("sandbox", help="run the local platform emulator in the foreground")
    p.add_argument("--port", type=int, default=0, help="port (0 or none: a free one)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    p.add_argument("--seed", type=Path, help="CSV of payouts that already exist (data/payouts.csv)")
    p.add_argument("--final-after", type=float, default=5.0, help="seconds until a payout is final")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added per business call")
    p.add_argument("--latency-profile", choices=("live", "sandbox"), help="measured latency")
    p.add_argument("--rate-limit", type=float, help="calls a second per merchant")
    p.add_argument("--error-500-rate", type=float, default=0.0, help="share of calls answered 500")
    p.add_argument(
        "--error-429-rate", type=float, default=0.0, help="share of calls answered 429 at random"
    )
    p.add_argument(
        "--error-429-retry-after",
        type=_retry_after_arg,
        default=1.0,
        metavar="SECONDS|none",
        help="Retry-After of those random 429s (default 1; none: no header)",
    )
    p.add_argument(
        "--no-retry-after",
        action="store_true",
        help="rate-limit 429s carry no Retry-After, as the documented platform",
    )
    p.add_argument("--fault-seed", type=int, help="seed of the latency and fault draws")
    p.add_argument("--callback-interval", type=float, default=120.0, help="seconds between retries")
    p.set_defaults(func=_cmd_sandbox)

    p = sub.add_parser("callbacks", help="receive the platform's callbacks into the store")
    p.add_argument("--port", type=int, help="port to listen on (0: a free one)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    _add_platform_options(p)
    p.add_argument("--store", type=Path, default=Path("payrecon.db"))
    _add_receiver_options(p)
    p.set_defaults(func=_cmd_callbacks)

    p = sub.add_parser("show", help="one payout's story: detail, history, callbacks, ledger rows")
    p.add_argument("id_payout", help="the payout id (Merchant Order ID)")
    p.add_argument("--ledger", type=Path, help="a ledger export: show the rows that name the id")
    p.add_argument("--mapping", type=Path, help="the mapping to read --ledger with")
    _add_platform_options(p)
    p.add_argument(
        "--store", type=Path, default=Path("payrecon.db"), help="the store with its history"
    )
    p.set_defaults(func=_cmd_show)

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

    p = sub.add_parser("demo", help="the whole job on the embedded sandbox and sample data")
    p.add_argument("--out", type=Path, default=Path("reports/demo"), help="folder for the report")
    p.set_defaults(func=_cmd_demo)
    return parser


def _cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch every id in IDS into the statuses table at --out; a one-screen summary on stdout.

    Whatever happens after the ids are read (refused credentials, an unreachable platform,
    Ctrl-C), the table is written with every id in it: ids not fetched say ``interrupted``.
    """
    import time

    from payrecon.cli._outputs import check_output_file, write_whole
    from payrecon.client._client import Client
    from payrecon.client._fetch import INTERRUPTED, summarise
    from payrecon.client.ids import read_ids
    from payrecon.client.records import FetchOutcome
    from payrecon.errors import PlatformError
    from payrecon.statuses._table import statuses_frame, write_statuses
    from payrecon.store._store import open_store

    if args.out.suffix.lower() not in (".csv", ".parquet"):
        raise InputError(f"--out {args.out}: the statuses table is written as .csv or .parquet")
    check_output_file(args.out, "--out")  # now, not after an hour of calls
    ids = read_ids(args.ids)
    started = time.monotonic()
    failure: PlatformError | None = None
    with Client.from_env(base_url=args.base_url) as client:
        store = open_store(
            None if args.no_store else args.store,
            base_url=client.base_url,
            merchant_code=client.merchant_code,
        )
        try:
            outcomes: list[FetchOutcome] = client.fetch(
                ids, sink=store, refresh=args.refresh, progress=False if args.no_progress else None
            )
        except PlatformError as exc:  # the run stopped; exc.outcomes holds every id so far
            if getattr(exc, "outcomes", None) is None:
                raise
            outcomes, failure = exc.outcomes, exc  # type: ignore[attr-defined]
        finally:
            if store is not None:
                store.close()
    frame = statuses_frame(outcomes)
    write_whole(args.out, lambda tmp: write_statuses(frame, tmp))
    print(summarise(frame, listed=len(ids), seconds=time.monotonic() - started, out=args.out))
    if failure is not None:
        raise failure
    errors = [o.error for o in outcomes if not o.from_store and o.error != "invalid_id"]
    if INTERRUPTED in errors:
        print("payrecon: interrupted; ids not fetched are marked 'interrupted'", file=sys.stderr)
        return args.interrupts.exit_code()
    if errors and all(e == "transport_error" for e in errors):
        print("payrecon: platform: no answer for any id", file=sys.stderr)
        return EXIT_PLATFORM
    return EXIT_OK


def _read_statuses_early(path: Path) -> pd.DataFrame:
    """The statuses table, read by a thread that starts before pandas is imported."""
    from payrecon.statuses._csv import read_statuses_table  # pyarrow only

    table = read_statuses_table(path)
    from payrecon.statuses._table import statuses_from_table  # waits for pandas, if still importing

    return statuses_from_table(table)


def _cmd_reconcile(args: argparse.Namespace) -> int:
    """Reconcile; exit 4 (``schedule.EXIT_FOUND``) when a ``--fail-on`` category appears. The
    last line printed is always the one-line summary for logs."""
    from payrecon._speed import speed_trick
    from payrecon.cli._outputs import check_output_folder
    from payrecon.cli._runtime import import_on_the_side, reuse_freed_memory
    from payrecon.cli._schedule import (
        EXIT_FOUND,
        dated_folder,
        found,
        log_line,
        needs_history,
        parse_fail_on,
    )
    from payrecon.statuses._input import check_statuses_file, read_checked

    fail_on = parse_fail_on(args.fail_on)  # usage problems before any work
    if args.include_known and args.no_store:
        raise InputError("--include-known reads the store: drop --no-store")
    tolerance = _tolerance(args.tolerance)
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
    from payrecon.cli._recurring import (
        Extras,
        confirm,
        finish,
        gather,
        history_store,
        platform_side,
        wanted_ids,
    )
    from payrecon.core._confirmed import read_confirmed

    confirmations = read_confirmed(args.confirmed) if args.confirmed else []
    extras = Extras()
    reuse_freed_memory()
    early = None
    if args.statuses is not None and speed_trick("early_statuses"):
        # Read the statuses table on the side, from now: arrow parses the file (outside the GIL)
        # while pandas imports here, then the frame is made while the ledger is read.
        from concurrent.futures import ThreadPoolExecutor

        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="payrecon-statuses")
        early = reader.submit(_read_statuses_early, args.statuses)
        reader.shutdown(wait=False)
    from payrecon.core import reconcile
    from payrecon.core.fees import FeeSchedule
    from payrecon.ledger import ledger_info, read_ledger
    from payrecon.ledger.inspect import detection_lines
    from payrecon.statuses._table import read_statuses

    schedule = FeeSchedule.load(args.fee_schedule) if args.fee_schedule else None
    out = dated_folder(args.out) if args.dated else args.out
    ledger = read_ledger(args.ledger, args.mapping)
    ledger = confirm(ledger, confirmations, extras)
    extra_ids: list[str] | None = None
    if args.ids is not None:
        from payrecon.client.ids import read_ids

        extra_ids = list(read_ids(args.ids))
    base_url: str | None = None
    if args.statuses is not None:
        path = args.statuses
        statuses = read_checked(
            path, early.result if early is not None else lambda: read_statuses(path)
        )
        if args.include_known:
            from payrecon.store._store import Store

            if not args.store.is_file():
                raise InputError(f"--include-known: no store at {args.store}")
            with Store.open_readonly(args.store) as known_store:
                extra_ids = [*(extra_ids or []), *known_store.known_ids()]
        if tracked:
            with history_store(args.store) as history:
                gather(history, None, extras)
    else:
        from payrecon.client._client import Client
        from payrecon.store._store import open_store

        with Client.from_env(base_url=args.base_url) as client:
            base_url = client.base_url
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
        stopped = int((statuses["error"] == "interrupted").sum())
        if stopped:  # Ctrl-C or SIGTERM: stop here, as the user asked; the store keeps it all
            kept = "" if args.no_store else f"; every status received is in {args.store}"
            print(
                f"payrecon: interrupted; {stopped} id(s) not fetched, no report written{kept}",
                file=sys.stderr,
            )
            return int(args.interrupts.exit_code())
    statuses, extra_ids = platform_side(statuses, extra_ids, extras)
    for note in extras.notes:  # diagnostics, beside the results
        print(note, file=sys.stderr)
    for line in detection_lines(ledger_info(ledger)):  # once the inputs are all good
        print(line, file=sys.stderr)
    if speed_trick("side_imports"):
        import_on_the_side(  # a core is free while reconciling
            "payrecon.report.html", "payrecon.report.figures", "payrecon.report.excel"
        )
    rec = reconcile(
        ledger,
        statuses,
        ids=extra_ids,
        tolerance=tolerance,  # type: ignore[arg-type]
        fee_schedule=schedule,
        ledger_source=str(args.ledger),
        base_url=base_url,
        regressions=extras.regressions,
        match_window=args.match_window,
        check=False,  # the outputs first, then the proof (exit 5 if it fails)
    )
    del ledger, statuses, early  # the result holds what it needs; the output reuses their memory
    if tracked:
        with history_store(args.store) as history:
            rec = finish(rec, extras, history, args.run_name)
    else:
        rec = finish(rec, extras, None, None)
    if speed_trick("parallel_write"):
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="payrecon-csv") as writer:
            csv_job = writer.submit(rec.to_csv, out)  # beside the report: the CSV is mostly arrow
            report = rec.to_html(out / "report.html")  # and the charts mostly Python
            written = csv_job.result()
    else:
        written = rec.to_csv(out)
        report = rec.to_html(out / "report.html")
    from payrecon.report.excel import AUTO_EXCEL_ROWS

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
    if rec.conservation is not None:
        rec.conservation.verify()
    hits = found(rec, fail_on)
    if hits:
        listed = ", ".join(f"{k}={v}" for k, v in hits.items())
        print(f"payrecon: --fail-on: found {listed} (exit {EXIT_FOUND})", file=sys.stderr)
    print(log_line(rec, report=report), flush=True)
    return EXIT_FOUND if hits else EXIT_OK


def _cmd_sandbox(args: argparse.Namespace) -> int:
    import os

    from dotenv import dotenv_values

    from payrecon.sandbox import DEMO_MERCHANT_CODE, DEMO_SECRET, Faults, Merchant, SandboxConfig
    from payrecon.sandbox.server import serve_forever

    env = {**dotenv_values(".env"), **os.environ}
    code, secret = env.get("PAYRECON_MERCHANT_CODE"), env.get("PAYRECON_SECRET")
    if code and secret:
        merchant, note = Merchant(code, secret), f"merchant {code} (secret from PAYRECON_SECRET)"
    else:  # the emulator's own demo pair guards nothing real, so it is shown
        merchant = Merchant(DEMO_MERCHANT_CODE, DEMO_SECRET)
        note = (
            f"demo merchant: PAYRECON_MERCHANT_CODE={DEMO_MERCHANT_CODE}"
            f" PAYRECON_SECRET={DEMO_SECRET}"
        )
    try:
        faults = Faults(
            latency=args.latency,
            latency_profile=args.latency_profile,
            error_500_rate=args.error_500_rate,
            error_429_rate=args.error_429_rate,
            error_429_retry_after=args.error_429_retry_after,
            random_seed=args.fault_seed,
        )
        config = SandboxConfig(
            merchants=(merchant,),
            final_after=args.final_after,
            callback_interval=args.callback_interval,
            rate_limit=args.rate_limit,
            rate_limit_retry_after=not args.no_retry_after,
            faults=faults,
        )
    except ValueError as exc:
        raise ConfigError(f"sandbox settings: {exc}") from None

    def announce(line: str) -> None:
        print(line, flush=True)

    def announce_then_note(line: str) -> None:
        announce(line)
        if line.startswith("http"):
            announce(note)
            announce("Ctrl-C stops it.")

    return serve_forever(
        config, port=args.port, host=args.host, seed=args.seed, announce=announce_then_note
    )


def _cmd_callbacks(args: argparse.Namespace) -> int:
    """Receive callbacks until Ctrl-C / SIGTERM; the first line printed is the URL listened on.
    With ``--stats``, print what the receiver counted on the store instead."""
    if args.stats:
        return _print_callback_stats(args.store)
    if args.port is None:
        raise InputError("callbacks: --port is required (0 for a free port), or use --stats")
    import dataclasses

    from payrecon.client._client import Client
    from payrecon.receiver._keys import load_or_create_key
    from payrecon.receiver._receiver import ReceiverLimits, serve_forever, stats_log
    from payrecon.store._store import Store

    given = {
        "budget_rate": args.budget,
        "batch": args.batch,
        "park_capacity": args.park,
        "sender_rate": args.sender_rate,
        "max_connections": args.max_connections,
    }
    try:
        limits = dataclasses.replace(
            ReceiverLimits(),
            trusted_proxies=tuple(args.trusted_proxy),
            **{k: v for k, v in given.items() if v is not None},
        )
        if args.sender_rate is not None:
            limits = dataclasses.replace(limits, sender_burst=max(args.sender_rate * 5, 1.0))
        from payrecon.receiver._guard import TokenBucket, parse_networks

        parse_networks(limits.trusted_proxies)
        TokenBucket(limits.budget_rate, limits.batch + 1)
        TokenBucket(limits.sender_rate, limits.sender_burst)
    except ValueError as exc:
        raise InputError(f"callbacks: {exc}") from None
    key = load_or_create_key(args.callback_key) if args.callback_key else None
    stats_log.setLevel(logging.INFO)  # the counts line, once a minute, without -v
    with Client.from_env(base_url=args.base_url) as client:
        store = Store(args.store, base_url=client.base_url, merchant_code=client.merchant_code)
        with store:

            def ready(receiver: object) -> None:
                url = getattr(receiver, "url", "")
                print(url, flush=True)
                print(
                    f"payrecon: receiving callbacks for {client.base_url} (merchant "
                    f"{client.merchant_code}) into {store.path}; Ctrl-C to stop",
                    file=sys.stderr,
                    flush=True,
                )

            stats = serve_forever(
                store,
                client,
                host=args.host,
                port=args.port,
                on_ready=ready,
                limits=limits,
                callback_key=key,
            )
    print(
        f"payrecon: {stats.accepted} callback(s) accepted ({stats.signed} signed, {stats.known} "
        f"known, {stats.parked} parked), {stats.refused} refused, {stats.limited} limited, "
        f"{stats.dropped} dropped; {stats.fetched + stats.confirmed} payout(s) fetched, "
        f"{stats.rejected} rejected, {stats.fetch_failures} fetch(es) failed",
        file=sys.stderr,
    )
    return EXIT_OK


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


def _print_callback_stats(path: Path) -> int:
    """``payrecon callbacks --stats``: the receiver's lifetime counts kept in the store."""
    from payrecon.receiver._receiver import COUNTERS
    from payrecon.store._callbacks import callback_report
    from payrecon.store._store import Store

    if not path.is_file():
        raise InputError(f"callbacks --stats: no store at {path}")
    with Store.open_readonly(path) as store:
        report = callback_report(store)
    print(f"callbacks received into {path} (since the store was created):")
    for name in COUNTERS:
        print(f"  {name:<22} {report.get(name, 0):>10}")
    print("kept in the store now:")
    for name in ("stored_accepted", "stored_parked", "stored_refused", "stored_refused_bytes"):
        print(f"  {name:<22} {report[name]:>10}")
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
    level = logging.WARNING - 10 * min(verbosity, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


def main(argv: Sequence[str] | None = None) -> int:
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
