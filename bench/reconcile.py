"""Reconcile 1,000,000 ledger rows against their statuses: payrecon beside datacompy.

Both sides start from the same two CSV files and end with their results written:

* payrecon: ``payrecon reconcile ledger.csv --statuses statuses.csv --out DIR`` (reads the ledger
  with column detection and exact amount parsing, reads the statuses table exactly, categorises
  every row, sums per currency exactly, writes rows.csv, summary.csv, exceptions.csv, report.html);
* datacompy 1.1: ``PandasCompare`` on the same columns joined on ``id_payout`` (pandas reads only
  those columns, with the pyarrow engine; amounts are binary floats there), writing its text
  report, every mismatching row and the rows unique to each side.

Both children run with arrow on jemalloc (``ARROW_DEFAULT_MEMORY_POOL=jemalloc``, what payrecon's
command picks for itself, see ``payrecon.cli._runtime``): pandas reads through arrow too, and
datacompy
is ~0.4 s faster with it than with arrow's default mimalloc, so neither side gains from the
allocator alone.

Each side runs as its own process, once untimed (cold caches), then alternating A B A B,
``--runs`` times each (default 3); the script prints the median wall times, the ratio payrecon /
datacompy, and each side's peak RSS (``os.wait4`` rusage of that child). The data are generated
once into ``bench/out/`` (gitignored).

``--against DIR`` adds a third side: the same payrecon command run from another checkout's source
(``git worktree add /tmp/base <commit>``; its ``payrecon/`` is put first on ``PYTHONPATH``), and
prints the ratio this tree / that one, so a change's cost is measured beside its baseline.

``--without TRICK[,TRICK]`` (repeatable) adds a side: this tree's payrecon with those tricks
switched off (``PAYRECON_SPEED_OFF``, see ``payrecon._speed.TRICKS``); ``--each`` adds one side
per trick. Each prints its ratio off / on: wall (median, the range over the alternated pairs, and
best: fastest off / fastest on, since noise on a shared machine only adds time) and CPU time
(user + system). With ``jemalloc`` off that side also runs without ``ARROW_DEFAULT_MEMORY_POOL``,
so arrow keeps its own default (what the command would do).

Run: ``.venv/bin/python bench/reconcile.py [--rows 1000000] [--runs 3] [--against DIR]
[--each | --without TRICK[,TRICK]]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from payrecon._speed import SPEED_OFF, TRICKS

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
CURRENCIES = np.array(["EUR", "USD", "IDR", "INR", "THB"])
STATUSES = np.array(
    ["SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS", "FAILED", "PROCESSING"]
)


def _money(cents: np.ndarray) -> np.ndarray:
    """Exact decimal text for integer cents (no float anywhere)."""
    whole = (np.abs(cents) // 100).astype(str)
    frac = np.char.zfill((np.abs(cents) % 100).astype(str), 2)
    sign = np.where(cents < 0, "-", "")
    return np.char.add(np.char.add(np.char.add(sign, whole), "."), frac)


def generate(rows: int, folder: Path, seed: int = 7) -> tuple[Path, Path]:
    """A ledger of ``rows`` rows and the statuses table of the payouts it names (plus 1% more).

    About 1% of ledger amounts are off by a cent, 0.5% of fees differ, 0.5% of statuses disagree,
    0.2% of ids are booked twice, 0.3% are gone from the platform, and 1% of platform payouts are
    not in the ledger.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ledger_path, statuses_path = folder / f"ledger_{rows}.csv", folder / f"statuses_{rows}.csv"
    if ledger_path.exists() and statuses_path.exists():
        return ledger_path, statuses_path
    rng = np.random.default_rng(seed)
    extra = rows // 100
    n_pay = rows + extra
    ids = np.char.add("PO-", np.arange(n_pay).astype(str))
    currency = CURRENCIES[rng.integers(0, len(CURRENCIES), n_pay)]
    whole = np.isin(currency, ["IDR", "INR"])  # zero-decimal currencies: whole units only
    cents = rng.integers(100, 50_000_000, n_pay)
    cents = np.where(whole, cents // 100 * 100, cents)
    fee_cents = np.where(whole, (cents // 10_000 + 1) * 100, cents // 100 + 30)
    status = STATUSES[rng.integers(0, len(STATUSES), n_pay)]
    gone = rng.random(n_pay) < 0.003
    created = np.datetime64("2026-10-01T00:00:00") + rng.integers(0, 30 * 86400, n_pay).astype(
        "timedelta64[s]"
    )
    created_text = np.char.add(np.datetime_as_string(created, unit="us"), "Z")
    statuses = pa.table(
        {
            "id_payout": ids,
            "status": np.where(gone, "", status),
            "amount": np.where(gone, "", _money(cents)),
            "currency": np.where(gone, "", currency),
            "fee_amount": np.where(gone, "", _money(fee_cents)),
            "fee_currency": np.where(gone, "", currency),
            "payment_method_code": np.where(gone, "", "BANK_TRANSFER"),
            "created_at": np.where(gone, "", created_text),
            "processed_at": np.where(gone, "", created_text),
            "is_test": np.where(gone, "", "False"),
            "failure_reason_code": np.full(n_pay, ""),
            "http_status": np.where(gone, 410, 200),
            "error": np.where(gone, "not_found", ""),
        }
    )
    pacsv.write_csv(statuses, statuses_path)

    led = np.arange(rows)
    dup = rng.choice(rows, rows // 500, replace=False)
    led = np.sort(np.concatenate([led, dup]))[:rows]  # some ids twice, still `rows` rows
    l_cents = cents[led] + np.where(rng.random(rows) < 0.01, 100, 0)
    l_fee = fee_cents[led] + np.where(rng.random(rows) < 0.005, 100, 0)
    l_status = np.where(rng.random(rows) < 0.005, "FAILED", status[led])
    ledger = pa.table(
        {
            "id_payout": ids[led],
            "amount": _money(l_cents),
            "currency": currency[led],
            "fee": _money(l_fee),
            "status": l_status,
            "date": np.datetime_as_string(created[led], unit="D"),
        }
    )
    pacsv.write_csv(ledger, ledger_path)
    return ledger_path, statuses_path


DATACOMPY_SCRIPT = r"""
import sys
from pathlib import Path
import pandas as pd
import datacompy

ledger_path, statuses_path, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
cols = ["id_payout", "amount", "currency", "fee", "status"]
ledger = pd.read_csv(ledger_path, engine="pyarrow", usecols=cols)
statuses = pd.read_csv(
    statuses_path, engine="pyarrow",
    usecols=["id_payout", "amount", "currency", "fee_amount", "status"],
).rename(columns={"fee_amount": "fee"})[cols]
cmp = datacompy.PandasCompare(ledger, statuses, join_columns="id_payout",
                              df1_name="ledger", df2_name="platform")
(out / "report.txt").write_text(cmp.report())
cmp.all_mismatch().to_csv(out / "mismatch.csv", index=False)
cmp.df1_unq_rows.to_csv(out / "ledger_only.csv", index=False)
cmp.df2_unq_rows.to_csv(out / "platform_only.csv", index=False)
"""


#: The same arrow allocator on both sides (payrecon's command would pick it anyway).
CHILD_ENV = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": "jemalloc"}


def run_child(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (bytes) and CPU seconds (user + system) of one child process run
    to completion."""
    start = time.perf_counter()
    proc = subprocess.Popen(  # cwd: ``python -m`` puts it first on sys.path, before PYTHONPATH
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or CHILD_ENV, cwd=HERE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({proc.returncode}):\n{err}")
    return elapsed, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime  # Linux: KiB


def tricks_off_env(tricks: str) -> dict[str, str]:
    """The payrecon side's environment with the named speed tricks switched off."""
    env = {**CHILD_ENV, SPEED_OFF: tricks}
    if "jemalloc" in tricks.split(","):  # else the bench's own setting would stand in for it
        env.pop("ARROW_DEFAULT_MEMORY_POOL", None)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--against", type=Path, help="another checkout to compare payrecon with")
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        metavar="TRICK[,TRICK]",
        help=f"also run payrecon with these speed tricks off; known: {', '.join(TRICKS)}",
    )
    parser.add_argument(
        "--each", action="store_true", help="also run payrecon with each speed trick off in turn"
    )
    args = parser.parse_args()
    off_sets = [*args.without, *(TRICKS if args.each else [])]
    for tricks in off_sets:
        unknown = set(tricks.split(",")) - TRICKS.keys()
        if unknown:
            parser.error(f"--without: no speed trick {', '.join(sorted(unknown))}")

    t0 = time.perf_counter()
    ledger, statuses = generate(args.rows, OUT)
    print(
        f"data: {ledger.name} ({ledger.stat().st_size / 1e6:.0f} MB), {statuses.name} "
        f"({statuses.stat().st_size / 1e6:.0f} MB) ready in {time.perf_counter() - t0:.1f}s"
    )
    py = sys.executable
    sides = {
        "payrecon": [
            py,
            "-m",
            "payrecon",
            "reconcile",
            str(ledger),
            "--statuses",
            str(statuses),
            "--out",
            str(OUT / "payrecon"),
        ],
        "datacompy": [
            py,
            "-c",
            DATACOMPY_SCRIPT,
            str(ledger),
            str(statuses),
            str(OUT / "datacompy"),
        ],
    }
    envs: dict[str, dict[str, str] | None] = {k: None for k in sides}
    if args.against is not None:
        sides["baseline"] = [*sides["payrecon"][:-1], str(OUT / "baseline")]
        envs["baseline"] = {**CHILD_ENV, "PYTHONPATH": str(args.against.resolve())}
    for tricks in off_sets:
        name = f"-{tricks}"
        sides[name] = [*sides["payrecon"][:-1], str(OUT / "payrecon-off")]
        envs[name] = tricks_off_env(tricks)
    for name, argv in sides.items():  # one untimed run each: the first pays for cold caches
        run_child(argv, envs[name])
    times: dict[str, list[float]] = {k: [] for k in sides}
    peaks: dict[str, list[int]] = {k: [] for k in sides}
    cpus: dict[str, list[float]] = {k: [] for k in sides}
    for i in range(args.runs):
        for name, argv in sides.items():  # alternate A B A B
            secs, rss, cpu = run_child(argv, envs[name])
            times[name].append(secs)
            peaks[name].append(rss)
            cpus[name].append(cpu)
            print(
                f"run {i + 1} {name:<10} {secs:6.2f} s  cpu {cpu:6.2f} s  "
                f"peak RSS {rss / 2**20:7.0f} MiB",
                flush=True,
            )
    med = {k: statistics.median(v) for k, v in times.items()}
    print()
    print(
        f"{args.rows:,} ledger rows, median of {args.runs} runs, "
        "whole processes from CSV files to written results"
    )
    for name in sides:
        print(
            f"  {name:<10} {med[name]:6.2f} s   cpu {statistics.median(cpus[name]):6.2f} s   "
            f"peak RSS {max(peaks[name]) / 2**20:7.0f} MiB"
        )
    print(
        f"  ratio payrecon / datacompy: {med['payrecon'] / med['datacompy']:.2f} "
        f"(target <= 0.50, must be <= 1.00)"
    )
    if "baseline" in med:
        ratios = [a / b for a, b in zip(times["payrecon"], times["baseline"], strict=True)]
        print(
            f"  ratio payrecon / baseline ({args.against}): {med['payrecon'] / med['baseline']:.3f}"
            f" (pairs: {', '.join(f'{r:.3f}' for r in ratios)})"
        )
    if off_sets:
        print("  speed tricks, payrecon with the trick off / on (>= 1.05 earns its keep):")
    for tricks in off_sets:
        off = times[f"-{tricks}"]
        pairs = [a / b for a, b in zip(off, times["payrecon"], strict=True)]
        cpu = statistics.median(cpus[f"-{tricks}"]) / statistics.median(cpus["payrecon"])
        best = min(off) / min(times["payrecon"])  # on a busy machine noise only adds time
        print(
            f"    {tricks:<16} wall {statistics.median(off) / med['payrecon']:.3f} "
            f"(pairs {min(pairs):.3f}..{max(pairs):.3f}, best {best:.3f})  cpu {cpu:.3f}"
        )


if __name__ == "__main__":
    main()
