"""The ``payrecon`` command: argument parsing, and the one place that maps errors to exit codes.

Each ``_cmd_*`` function does one command's work by calling the library; none of them prints a
traceback or decides an exit code of its own. Exit codes (``interface.md``): 0 done (discrepancies
are not an error), 2 bad input or usage, 3 the platform could not be reached or refused the
credentials; beyond it, 4 a ``reconcile --fail-on`` category was found (``payrecon.schedule``),
5 the conservation proof failed (``payrecon.conservation``; the outputs are written first),
1 any other payrecon error, 130 interrupted, 141 the reader of the output went away.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from payrecon import __version__
from payrecon.errors import (
    ConfigError,
    ConservationError,
    CredentialsError,
    InputError,
    PayreconError,
    StoreError,
    TransportError,
)

if TYPE_CHECKING:
    import pandas as pd  # the command imports it only once its arguments are checked

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PLATFORM = 3
#: The conservation proof failed: a payrecon bug, never a finding (payrecon.conservation).
EXIT_PROOF = 5
EXIT_INTERRUPTED = 130
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
    """Checks and scheduled-run options of ``reconcile`` (see payrecon.schedule)."""
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

    if text is None:
        return None

    def amount(value: str) -> Decimal:
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise InputError(f"--tolerance: not an amount: {value.strip()!r}") from None
        if not number.is_finite() or number < 0:
            raise InputError(f"--tolerance: must be a non-negative amount: {value.strip()!r}")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="payrecon",
        description="Fetch payout statuses from AOPay / EchelonPay; reconcile them with a ledger.",
    )
    parser.add_argument("--version", action="version", version=f"payrecon {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    p.add_argument("--callback-interval", type=float, default=120.0, help="seconds between retries")
    p.set_defaults(func=_cmd_sandbox)

    p = sub.add_parser("callbacks", help="receive the platform's callbacks into the store")
    p.add_argument("--port", type=int, help="port to listen on (0: a free one)")
    p.add_argument("--host", default="127.0.0.1")
    _add_platform_options(p)
    p.add_argument("--store", type=Path, default=Path("payrecon.db"))
    _add_receiver_options(p)
    p.set_defaults(func=_cmd_callbacks)

    p = sub.add_parser("show", help="one payout's story: detail, history, callbacks, ledger rows")
    p.add_argument("id_payout")
    p.add_argument("--ledger", type=Path)
    p.add_argument("--mapping", type=Path)
    _add_platform_options(p)
    p.add_argument("--store", type=Path, default=Path("payrecon.db"))
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
    p.add_argument("--out", type=Path, default=Path("reports/demo"))
    p.set_defaults(func=_cmd_demo)
    return parser


def _cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch every id in IDS into the statuses table at --out; a one-screen summary on stdout.

    Whatever happens after the ids are read (refused credentials, an unreachable platform,
    Ctrl-C), the table is written with every id in it: ids not fetched say ``interrupted``.
    """
    import time

    from payrecon.client import Client
    from payrecon.errors import PlatformError
    from payrecon.fetch import INTERRUPTED, summarise
    from payrecon.frames import statuses_frame, write_statuses
    from payrecon.ids import read_ids
    from payrecon.records import FetchOutcome
    from payrecon.store import open_store

    if args.out.suffix.lower() not in (".csv", ".parquet"):
        raise InputError(f"--out {args.out}: the statuses table is written as .csv or .parquet")
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
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_statuses(frame, args.out)
    print(summarise(frame, listed=len(ids), seconds=time.monotonic() - started, out=args.out))
    if failure is not None:
        raise failure
    errors = [o.error for o in outcomes if not o.from_store and o.error != "invalid_id"]
    if INTERRUPTED in errors:
        print("payrecon: interrupted; ids not fetched are marked 'interrupted'", file=sys.stderr)
        return EXIT_INTERRUPTED
    if errors and all(e == "transport_error" for e in errors):
        print("payrecon: platform: no answer for any id", file=sys.stderr)
        return EXIT_PLATFORM
    return EXIT_OK


def _read_statuses_early(path: Path) -> pd.DataFrame:
    """The statuses table, read by a thread that starts before pandas is imported."""
    from payrecon.statuses_csv import read_statuses_table  # pyarrow only

    table = read_statuses_table(path)
    from payrecon.frames import statuses_from_table  # waits for pandas, if still importing

    return statuses_from_table(table)


def _cmd_reconcile(args: argparse.Namespace) -> int:
    """Reconcile; exit 4 (``schedule.EXIT_FOUND``) when a ``--fail-on`` category appears. The
    last line printed is always the one-line summary for logs."""
    from payrecon.runtime import import_on_the_side, reuse_freed_memory, speed_trick
    from payrecon.schedule import (
        EXIT_FOUND,
        dated_folder,
        found,
        log_line,
        needs_history,
        parse_fail_on,
    )

    fail_on = parse_fail_on(args.fail_on)  # usage problems before any work
    if args.include_known and args.no_store:
        raise InputError("--include-known reads the store: drop --no-store")
    tracked = not args.no_store and (args.statuses is None or args.run_name is not None)
    if needs_history(fail_on) and not tracked:
        raise InputError(
            "--fail-on new compares with the last run kept in the store: drop --no-store "
            "(with --statuses, give --run-name)"
        )
    if args.match_window < 0:
        raise InputError(f"--match-window: must be zero or more days, not {args.match_window}")
    from payrecon.confirmed import read_confirmed
    from payrecon.recurring import (
        Extras,
        confirm,
        finish,
        gather,
        history_store,
        platform_side,
        wanted_ids,
    )

    confirmations = read_confirmed(args.confirmed) if args.confirmed else []
    extras = Extras()
    reuse_freed_memory()
    early = None
    if args.statuses is not None and args.statuses.is_file() and speed_trick("early_statuses"):
        # Read the statuses table on the side, from now: arrow parses the file (outside the GIL)
        # while pandas imports here, then the frame is made while the ledger is read.
        from concurrent.futures import ThreadPoolExecutor

        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="payrecon-statuses")
        early = reader.submit(_read_statuses_early, args.statuses)
        reader.shutdown(wait=False)
    from payrecon.core import reconcile
    from payrecon.fees import FeeSchedule
    from payrecon.frames import read_statuses
    from payrecon.ledger import ledger_info, read_ledger
    from payrecon.ledger.inspect import detection_lines

    tolerance = _tolerance(args.tolerance)
    schedule = FeeSchedule.load(args.fee_schedule) if args.fee_schedule else None
    out = dated_folder(args.out) if args.dated else args.out
    ledger = read_ledger(args.ledger, args.mapping)
    ledger = confirm(ledger, confirmations, extras)
    for line in detection_lines(ledger_info(ledger)):
        print(line, file=sys.stderr)
    extra_ids: list[str] | None = None
    if args.ids is not None:
        from payrecon.ids import read_ids

        extra_ids = list(read_ids(args.ids))
    base_url: str | None = None
    if args.statuses is not None:
        if not args.statuses.is_file():
            raise InputError(f"{args.statuses}: statuses table not found")
        statuses = early.result() if early is not None else read_statuses(args.statuses)
        if args.include_known:
            from payrecon.store import Store

            if not args.store.is_file():
                raise InputError(f"--include-known: no store at {args.store}")
            with Store.open_readonly(args.store) as known_store:
                extra_ids = [*(extra_ids or []), *known_store.known_ids()]
        if tracked:
            with history_store(args.store) as history:
                gather(history, None, extras)
    else:
        from payrecon.client import Client
        from payrecon.store import open_store

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
    statuses, extra_ids = platform_side(statuses, extra_ids, extras)
    for note in extras.notes:
        print(note)
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
            f"{AUTO_EXCEL_ROWS:,} (about 4,000 rows a second); --excel writes it anyway"
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
        )
        config = SandboxConfig(
            merchants=(merchant,),
            final_after=args.final_after,
            callback_interval=args.callback_interval,
            rate_limit=args.rate_limit,
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

    from payrecon.callback_keys import load_or_create_key
    from payrecon.callbacks import ReceiverLimits, serve_forever, stats_log
    from payrecon.client import Client
    from payrecon.store import Store

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
        from payrecon.callback_guard import TokenBucket, parse_networks

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
    from payrecon.callback_store import callback_report
    from payrecon.callbacks import COUNTERS
    from payrecon.store import Store

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
    from payrecon.client import Client
    from payrecon.platform import is_valid_id
    from payrecon.store import Store
    from payrecon.story import gather_story

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
    """The whole job on the in-process sandbox and data/ (see payrecon.demo); prints where."""
    from payrecon.demo import run_demo
    from payrecon.schedule import log_line

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
    try:
        return int(args.func(args))
    except (InputError, ConfigError, StoreError) as exc:
        print(f"payrecon: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (TransportError, CredentialsError) as exc:
        print(f"payrecon: platform: {exc}", file=sys.stderr)
        return EXIT_PLATFORM
    except ConservationError as exc:
        print(f"payrecon: {exc}", file=sys.stderr)
        return EXIT_PROOF
    except PayreconError as exc:
        print(f"payrecon: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("payrecon: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


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
