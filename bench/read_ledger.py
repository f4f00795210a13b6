"""``read_ledger()`` alone on the million-row bench ledger: CPU in-process, this tree beside
another checkout.

The reader's assembly (money columns, decimal mark, sign, dates, currency, ids) is the hot path of
every run; a change that only moves code into named steps must not make it slower. Each child
process imports one checkout, reads the ledger once untimed (imports, caches), then ``--runs``
times, and reports every call's process CPU time (``time.process_time``) and wall time; the best
of them is the figure least disturbed by other work on a shared machine. With ``--against DIR``
children alternate A B A B between this tree and that checkout (``PYTHONPATH``, run from outside
both trees so the current directory does not shadow it), and the ratio this tree / that one is
printed.

The ledger is the bench's own (``bench/out/ledger_<rows>.csv``, written by ``bench/reconcile.py``).

Run: ``.venv/bin/python bench/read_ledger.py [--rows 1000000] [--runs 5] [--against DIR]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from reconcile import CHILD_ENV, OUT, generate

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


def run(ledger: Path, runs: int, pythonpath: Path | None) -> dict[str, list[float]]:
    """One child process: ``runs`` timed calls of ``read_ledger()``."""
    env = dict(CHILD_ENV)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath.resolve())
    argv = [sys.executable, "-c", CHILD, str(ledger.resolve()), str(runs)]
    with tempfile.TemporaryDirectory() as outside:
        out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True, cwd=outside)
    result: dict[str, list[float]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="timed calls per child")
    parser.add_argument("--rounds", type=int, default=2, help="children per side, alternating")
    parser.add_argument("--against", type=Path, help="another checkout to compare payrecon with")
    args = parser.parse_args()
    ledger, _ = generate(args.rows, OUT)
    sides: dict[str, Path | None] = {"payrecon": None}
    if args.against is not None:
        sides["baseline"] = args.against
    best: dict[str, dict[str, float]] = {
        k: {"cpu": float("inf"), "wall": float("inf")} for k in sides
    }
    for i in range(args.rounds):
        for name, path in sides.items():  # alternate A B A B
            got = run(ledger, args.runs, path)
            for kind in ("cpu", "wall"):
                best[name][kind] = min(best[name][kind], *got[kind])
            print(
                f"round {i + 1} {name:<9} cpu best {min(got['cpu']):6.3f} s  "
                f"wall best {min(got['wall']):6.3f} s  ({got['source']})",
                flush=True,
            )
    print(f"\nread_ledger() on {args.rows:,} rows, best of {args.rounds}x{args.runs} calls")
    for name in sides:
        print(f"  {name:<9} cpu {best[name]['cpu']:6.3f} s  wall {best[name]['wall']:6.3f} s")
    if "baseline" in best:
        for kind in ("cpu", "wall"):
            ratio = best["payrecon"][kind] / best["baseline"][kind]
            print(f"  ratio payrecon / baseline ({args.against}), {kind}: {ratio:.3f}")


if __name__ == "__main__":
    main()
