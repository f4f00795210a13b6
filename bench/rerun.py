"""The rerun figure: a store makes the morning rerun fetch only what is still PROCESSING.

Seeds the in-process sandbox with N payouts of which a share stay PROCESSING (seeded payouts keep
their status for ever), then times, in this one process:

* ``no store``: a plain fetch of every id (the baseline, and the store's own cost by comparison),
* ``first run``: the same fetch into a fresh store,
* ``rerun``: the same ids again with that store: final payouts come from it, PROCESSING ones are
  fetched again.

Calls made are counted by the sandbox (``GET /payouts/{id}`` requests and tokens issued), not by
the client. Run it for a fixed 20 ms latency and for the latency measured on the live host::

    .venv/bin/python bench/rerun.py                        # both profiles, 10,000 payouts
    .venv/bin/python bench/rerun.py --profiles fixed --n 2000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from payrecon.sandbox import Faults, SandboxConfig, running
from payrecon.store._store import Store

FINALS = ("SUCCESS", "SUCCESS", "SUCCESS", "FAILED", "REFUSED")


@dataclass
class Run:
    profile: str
    run: str
    seconds: float
    get_calls: int
    tokens: int
    from_store: int
    payouts: int


def seed_file(path: Path, n: int, processing_every: int) -> list[str]:
    ids = [f"RR-{i:06d}" for i in range(n)]
    lines = ["id_payout,amount,currency,status"]
    for i, pid in enumerate(ids):
        status = "PROCESSING" if i % processing_every == processing_every - 1 else FINALS[i % 5]
        lines.append(f"{pid},{i}.99,USD,{status}")
    path.write_text("\n".join(lines) + "\n")
    return ids


def timed(
    sb: Any, client: Any, ids: list[str], store: Store | None, profile: str, name: str
) -> Run:
    sb.reset_stats()
    t0 = time.perf_counter()
    outcomes = client.fetch(ids, sink=store, progress=False)
    seconds = time.perf_counter() - t0
    stats = sb.stats()
    assert len(outcomes) == len(ids) and not any(o.error for o in outcomes)
    return Run(
        profile=profile,
        run=name,
        seconds=seconds,
        get_calls=stats.count("GET", "payout"),
        tokens=stats.tokens_issued,
        from_store=sum(o.from_store for o in outcomes),
        payouts=len(ids),
    )


def bench(profile: str, n: int, share: float, concurrency: int, baseline: bool) -> list[Run]:
    faults = (
        Faults(latency_profile="live", random_seed=1) if profile == "live" else Faults(latency=0.02)
    )
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        ids = seed_file(Path(tmp) / "seed.csv", n, max(1, round(1 / share)))
        with running(SandboxConfig(faults=faults), seed=Path(tmp) / "seed.csv") as sb:
            client = sb.client(concurrency=concurrency, progress=False)
            if baseline:
                runs.append(timed(sb, client, ids, None, profile, "no store"))
            with Store(
                Path(tmp) / "bench.db", base_url=sb.base_url, merchant_code=sb.merchant_code
            ) as store:
                runs.append(timed(sb, client, ids, store, profile, "first run"))
                runs.append(timed(sb, client, ids, store, profile, "rerun"))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="payouts (default 10,000)")
    parser.add_argument("--processing", type=float, default=0.02, help="share still PROCESSING")
    parser.add_argument("--profiles", default="fixed,live", help="fixed (20 ms) and/or live")
    parser.add_argument("--concurrency", type=int, default=128, help="client calls in flight")
    parser.add_argument("--no-baseline", action="store_true", help="skip the no-store run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    runs: list[Run] = []
    for profile in args.profiles.split(","):
        runs += bench(
            profile.strip(), args.n, args.processing, args.concurrency, not args.no_baseline
        )
    print(
        f"{args.n} payouts, {args.processing:.0%} still PROCESSING, concurrency {args.concurrency}"
    )
    print()
    print("| latency | run | wall time | vs first run | GET calls | tokens | from store |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in runs:
        first = next(x for x in runs if x.profile == r.profile and x.run == "first run")
        label = "20 ms fixed" if r.profile == "fixed" else "live profile"
        print(
            f"| {label} | {r.run} | {r.seconds:.2f} s | {r.seconds / first.seconds:.3f}x "
            f"| {r.get_calls} | {r.tokens} | {r.from_store} |"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=2) + "\n")


if __name__ == "__main__":
    main()
