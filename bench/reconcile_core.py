"""``reconcile()`` alone on the million-row bench data: CPU and wall time in-process, this tree
beside another checkout.

The whole-process bench (``bench/reconcile.py``) is dominated by reading CSV files and writing
results, and wall time on a shared machine is noisy; this one reads the two tables once per child
process, then times only ``payrecon.reconcile(ledger, statuses)`` ``--runs`` times, reporting the
median process CPU time (``time.process_time``: every thread of the process) and wall time. With
``--against DIR`` a child runs from that checkout's source too (``PYTHONPATH``), alternating
A B A B, and the ratios this tree / that one are printed.

The data are the bench's own (``bench/out/ledger_<rows>.csv``, ``statuses_<rows>.csv``): run
``bench/reconcile.py`` once first, or this script generates them the same way.

Run: ``.venv/bin/python bench/reconcile_core.py [--rows 1000000] [--runs 5] [--against DIR]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconcile import CHILD_ENV, HERE, OUT, generate

CHILD = r"""
import json, statistics, sys, time
import payrecon
from payrecon.statuses._table import read_statuses

ledger = payrecon.read_ledger(sys.argv[1])
statuses = read_statuses(sys.argv[2])
payrecon.reconcile(ledger, statuses)  # warm: first-call imports and caches
cpu, wall = [], []
for _ in range(int(sys.argv[3])):
    c0, w0 = time.process_time(), time.perf_counter()
    payrecon.reconcile(ledger, statuses)
    cpu.append(time.process_time() - c0)
    wall.append(time.perf_counter() - w0)
print(json.dumps({"cpu": cpu, "wall": wall, "source": payrecon.__file__}))
"""


def run(ledger: Path, statuses: Path, runs: int, pythonpath: Path | None) -> dict[str, list[float]]:
    """One child process: ``runs`` timed calls of ``reconcile()``."""
    return run_python(CHILD, [str(ledger), str(statuses), str(runs)], pythonpath)


def run_python(code: str, args: list[str], pythonpath: Path | None) -> dict[str, Any]:
    """A ``python -c code`` child importing this tree's payrecon, or ``pythonpath``'s; its last
    line of output is JSON. It runs in ``bench/``: ``python -c`` puts the working directory first
    on ``sys.path``, and from a checkout's root that would import that checkout whatever
    ``PYTHONPATH`` says."""
    env = dict(CHILD_ENV)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath.resolve())
    argv = [sys.executable, "-c", code, *args]
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True, cwd=HERE)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def side_by_side_options(description: str | None) -> argparse.Namespace:
    """The options of a bench that times one call in-process, this tree beside another checkout."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="timed calls per child")
    parser.add_argument("--rounds", type=int, default=2, help="children per side, alternating")
    parser.add_argument("--against", type=Path, help="another checkout to compare payrecon with")
    return parser.parse_args()


def compare_sides(
    args: argparse.Namespace,
    call: Callable[[Path | None], dict[str, Any]],
    title: str,
    figure: Callable[[list[float]], float] = statistics.median,
    figure_name: str = "median",
) -> None:
    """Children alternate A B A B (this tree, then ``--against``), ``args.rounds`` each; print
    each child's figure, then each side's over all its calls and the ratios this tree / that one.
    """
    sides: dict[str, Path | None] = {"payrecon": None}
    if args.against is not None:
        sides["baseline"] = args.against
    times: dict[str, dict[str, list[float]]] = {k: {"cpu": [], "wall": []} for k in sides}
    for i in range(args.rounds):
        for name, path in sides.items():  # alternate A B A B
            got = call(path)
            for kind in ("cpu", "wall"):
                times[name][kind] += got[kind]
            print(
                f"round {i + 1} {name:<9} cpu {figure(got['cpu']):6.3f} s  "
                f"wall {figure(got['wall']):6.3f} s  ({got['source']})",
                flush=True,
            )
    print(f"\n{title}, {figure_name} of {args.rounds}x{args.runs} calls")
    fig = {k: {kind: figure(v[kind]) for kind in v} for k, v in times.items()}
    for name in sides:
        print(f"  {name:<9} cpu {fig[name]['cpu']:6.3f} s  wall {fig[name]['wall']:6.3f} s")
    if "baseline" in fig:
        for kind in ("cpu", "wall"):
            ratio = fig["payrecon"][kind] / fig["baseline"][kind]
            print(f"  ratio payrecon / baseline ({args.against}), {kind}: {ratio:.3f}")


def main() -> None:
    args = side_by_side_options(__doc__)
    ledger, statuses = generate(args.rows, OUT)
    compare_sides(
        args,
        lambda path: run(ledger, statuses, args.runs, path),
        f"reconcile() on {args.rows:,} ledger rows",
    )


if __name__ == "__main__":
    main()
