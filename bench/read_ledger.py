"""``read_ledger()`` alone on the million-row bench ledger: CPU in-process, this tree beside
another checkout.

The reader's assembly (money columns, decimal mark, sign, dates, currency, ids) is the hot path of
every run; a change that only moves code into named steps must not make it slower. Each child
process imports one checkout, reads the ledger once untimed (imports, caches), then ``--runs``
times, and reports every call's process CPU time (``time.process_time``) and wall time; the best
of them is the figure least disturbed by other work on a shared machine. With ``--against DIR``
children alternate A B A B between this tree and that checkout (``PYTHONPATH``; each child
prints which one it imported), and the ratio this tree / that one is printed.

The ledger is the bench's own (``bench/out/ledger_<rows>.csv``, written by ``bench/reconcile.py``).

Run: ``.venv/bin/python bench/read_ledger.py [--rows 1000000] [--runs 5] [--against DIR]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconcile import OUT, generate
from reconcile_core import compare_sides, run_python, side_by_side_options

CHILD = r"""
import json, sys, time
import payrecon

payrecon.read_ledger(sys.argv[1])  # warm: first-call imports and caches
cpu, wall = [], []
for _ in range(int(sys.argv[2])):
    c0, w0 = time.process_time(), time.perf_counter()
    payrecon.read_ledger(sys.argv[1])
    cpu.append(time.process_time() - c0)
    wall.append(time.perf_counter() - w0)
print(json.dumps({"cpu": cpu, "wall": wall, "source": payrecon.__file__}))
"""


def run(ledger: Path, runs: int, pythonpath: Path | None) -> dict[str, Any]:
    """One child process: ``runs`` timed calls of ``read_ledger()``."""
    return run_python(CHILD, [str(ledger.resolve()), str(runs)], pythonpath)


def main() -> None:
    args = side_by_side_options(__doc__)
    ledger, _ = generate(args.rows, OUT)
    compare_sides(
        args,
        lambda path: run(ledger, args.runs, path),
        f"read_ledger() on {args.rows:,} rows",
        figure=min,
        figure_name="best",
    )


if __name__ == "__main__":
    main()
