"""Benchmark the bulk fetch against the sandbox: pace, throttling, calls in flight and memory.

Each scenario starts ``payrecon sandbox`` as a process of its own (so the emulator's work and
memory do not count against the client) and runs every client in a fresh process of its own
(so each peak RSS is that client's alone). Figures are ratios against a baseline of the same run:
the rate limit the sandbox enforces, the same fetch without faults, the same client with few
calls in flight. Counts of GETs and 429s are the client's own (what its pacer was answered).

Scenarios (``--scenario``, default all; each is bounded in ids and stops by itself):

``live``      the live host's latency (660 ms median, tails to 5.9 s), a 300/s limit whose 429s
              carry no ``Retry-After`` (the documented platform): share of the limit, % throttled,
              peak in flight, peak RSS;
``rerun``     the live profile through a store, twice (other ids, a new process each): the first
              run meets the limit the slow way and the store keeps it, the second starts there;
``fast``      the same limit at 20 ms a call;
``random``    at 20 ms and the 300/s limit, 10 % and 30 % of calls answered 429 at random
              (``Retry-After: 1``), each against the same fetch without them;
``shared``    two, then three client processes on one merchant, sharing one 300/s limit at the
              live latency: each one's progress and their sum;
``memory``    500 calls in flight (3 s a call, no limit, the cap set to 500) against the same
              client fetching with 8 in flight: peak RSS of each;
``naive``     the speed-up over the guide's loop (a token, then a GET, one id at a time), 20 ms.

Run: ``.venv/bin/python bench/fetch.py`` (about five minutes), ``--scenario live``, or
``--quick`` for a smaller smoke run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MERCHANT, SECRET = "bench-merchant", "bench-secret-for-the-local-sandbox"
LIMIT = 300.0
#: The documented platform at the live host's latency: its 429s carry no Retry-After.
LIVE = ("--latency-profile", "live", "--rate-limit", str(LIMIT), "--no-retry-after")


# --------------------------------------------------------------------------- the sandbox process


def seed_file(folder: Path, n: int, prefix: str = "B") -> tuple[Path, list[str]]:
    ids = [f"{prefix}-{i:06d}" for i in range(n)]
    path = folder / f"seed-{prefix}-{n}.csv"
    with path.open("w") as f:
        f.write("id_payout,amount,currency,status\n")
        for i, pid in enumerate(ids):
            f.write(f"{pid},{100 + i}.25,USD,SUCCESS\n")
    return path, ids


@contextmanager
def sandbox(seed: Path, *options: str) -> Iterator[str]:
    """``payrecon sandbox`` in a process of its own, seeded; yields its base URL."""
    env = {**os.environ, "PAYRECON_MERCHANT_CODE": MERCHANT, "PAYRECON_SECRET": SECRET}
    cmd = [sys.executable, "-m", "payrecon", "sandbox", "--port", "0", "--final-after", "0"]
    proc = subprocess.Popen(
        [*cmd, "--seed", str(seed), *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http"), f"sandbox did not start: {url!r}"
        while "seeded" not in proc.stdout.readline():
            pass
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --------------------------------------------------------------------------- one client process


@dataclass
class Result:
    ids: int
    seconds: float
    started: float  # wall clock, to add up processes
    ended: float
    answered: int  # GETs answered other than 429
    throttled: int  # GETs answered 429
    peak_in_flight: int
    peak_rss_mb: float
    steady: float  # ids a second between the 20th and 80th percentile answers
    errors: int
    cpu: float  # seconds of CPU the client used
    sending: float  # seconds from the first GET sent to the last

    @property
    def gets(self) -> int:
        return self.answered + self.throttled

    @property
    def rate(self) -> float:
        return self.answered / self.seconds


class Arrivals:
    """A sink that notes when each answer arrived, for the steady-state rate; with a store, it
    passes everything on to it (the store also remembers the limit a run met)."""

    def __init__(self, store: Any = None) -> None:
        self.times: list[float] = []
        self.store = store

    def known_final(self, ids: Any) -> dict[str, Any]:
        return {} if self.store is None else self.store.known_final(ids)

    def record(self, outcome: Any) -> None:
        self.times.append(time.perf_counter())
        if self.store is not None:
            self.store.record(outcome)

    def learned_pace(self) -> float | None:
        return None if self.store is None else self.store.learned_pace()

    def remember_pace(self, limit: float) -> None:
        if self.store is not None:
            self.store.remember_pace(limit)

    def steady_rate(self, low: float = 0.2, high: float = 0.8) -> float:
        n = len(self.times)
        a, b = int(n * low), int(n * high) - 1
        return (b - a) / (self.times[b] - self.times[a]) if b > a else 0.0


def child(base_url: str, ids_file: Path, concurrency: int | None, store: Path | None) -> None:
    """Fetch every id in ``ids_file`` (through the store at ``store``, if given); print one JSON
    line of figures."""
    from payrecon.client._client import Client
    from payrecon.client._fetch import BulkFetch

    ids = ids_file.read_text().split()
    if os.environ.get("BENCH_LOG"):  # the pacer's decisions, for a look at one run
        import logging

        logging.basicConfig(filename=os.environ["BENCH_LOG"], level=logging.DEBUG)
        logging.getLogger("urllib3").setLevel(logging.WARNING)
        logging.getLogger("payrecon.client").setLevel(logging.INFO)
    kw: dict[str, Any] = {"progress": False}
    if concurrency is not None:
        kw["concurrency"] = concurrency
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(Client(base_url, MERCHANT, SECRET, **kw))
        kept = None
        if store is not None:  # imported only here: the store brings pandas, 80 MB of RSS
            from payrecon.store import open_store

            kept = stack.enter_context(open_store(store, base_url=base_url, merchant_code=MERCHANT))
        arrivals = Arrivals(kept)
        engine = BulkFetch(client, sink=arrivals, progress=False)
        started, t0 = time.time(), time.perf_counter()
        outcomes = engine.run(ids)
        seconds = time.perf_counter() - t0
        stats = client.throttle.stats()
    peak = getattr(engine, "peak_in_flight", client.concurrency)
    result = Result(
        ids=len(ids),
        seconds=seconds,
        started=started,
        ended=started + seconds,
        answered=stats.answered,
        throttled=stats.throttled,
        peak_in_flight=peak,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        steady=arrivals.steady_rate(),
        errors=sum(1 for o in outcomes if o.error),
        cpu=sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
        sending=stats.sending,
    )
    print(json.dumps(asdict(result)), flush=True)


def start_client(
    url: str,
    ids: Sequence[str],
    folder: Path,
    concurrency: int | None = None,
    store: Path | None = None,
):
    ids_file = folder / f"ids-{time.monotonic_ns()}.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    cmd = [sys.executable, __file__, "--child", url, str(ids_file)]
    if concurrency is not None:
        cmd += ["--concurrency", str(concurrency)]
    if store is not None:
        cmd += ["--store", str(store)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str]) -> Result:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"client failed ({proc.returncode})"
    return Result(**json.loads(out.strip().splitlines()[-1]))


def run_client(
    url: str,
    ids: Sequence[str],
    folder: Path,
    concurrency: int | None = None,
    store: Path | None = None,
):
    return finish(start_client(url, ids, folder, concurrency, store))


# --------------------------------------------------------------------------- scenarios

Rows = list[tuple[str, str, str]]


def limited(rows: Rows, label: str, r: Result) -> None:
    rows.append(
        (
            f"{label}: share of the 300/s limit",
            f"{r.answered / r.sending / LIMIT:.3f}",
            f"while ids were left to send ({r.sending:.1f}s); whole run "
            f"{r.rate / LIMIT:.3f} ({r.seconds:.1f}s: + first token, ramp, last answers' tail); "
            f"steady state {r.steady / LIMIT:.3f}",
        )
    )
    rows.append(
        (
            f"{label}: GETs throttled",
            f"{r.throttled / max(1, r.gets):.2%}",
            f"{r.throttled:,} of {r.gets:,} answered 429",
        )
    )
    rows.append(
        (
            f"{label}: peak in flight / peak RSS",
            f"{r.peak_in_flight}",
            f"{r.peak_rss_mb:.0f} MB; {r.errors} ids not fetched; client CPU "
            f"{r.cpu / r.seconds:.0%} of a core",
        )
    )


def scenario_live(folder: Path, n: int, rows: Rows) -> None:
    seed, ids = seed_file(folder, n)
    with sandbox(seed, *LIVE, "--fault-seed", "5") as url:
        limited(rows, f"live latency, {n:,} ids", run_client(url, ids, folder))


def scenario_rerun(folder: Path, n: int, rows: Rows) -> None:
    """The live profile again, fetching through a store: a first run meets the limit the slow
    way and the store keeps it; the next run (other ids, a new process) starts from it."""
    seed, ids = seed_file(folder, 2 * n, prefix="R")
    store = folder / "rerun-store.db"
    with sandbox(seed, *LIVE, "--fault-seed", "5") as url:
        first = run_client(url, ids[:n], folder, store=store)
        second = run_client(url, ids[n:], folder, store=store)
    limited(rows, f"first run with a store, {n:,} ids", first)
    limited(rows, f"next run, starting from the limit kept, {n:,} ids", second)


def scenario_fast(folder: Path, n: int, rows: Rows) -> None:
    seed, ids = seed_file(folder, n)
    with sandbox(seed, "--latency", "0.02", "--rate-limit", str(LIMIT), "--no-retry-after") as url:
        limited(rows, f"20 ms, {n:,} ids", run_client(url, ids, folder))


def scenario_random(folder: Path, n: int, rows: Rows) -> None:
    seed, ids = seed_file(folder, n)
    base_opts = ("--latency", "0.02", "--rate-limit", str(LIMIT), "--no-retry-after")
    base: Result | None = None
    for share in (0.0, 0.1, 0.3):
        opts = (*base_opts, "--error-429-rate", str(share), "--fault-seed", "7")
        with sandbox(seed, *opts) as url:
            r = run_client(url, ids, folder)
        if base is None:
            base = r
            rows.append(
                (
                    "random 429s: none (baseline)",
                    f"{n / r.seconds:,.0f} ids/s",
                    f"{r.steady / LIMIT:.3f} of the limit in the steady state; "
                    f"{r.throttled / max(1, r.gets):.1%} throttled, peak {r.peak_in_flight}",
                )
            )
            continue
        ratio = base.seconds / r.seconds
        rows.append(
            (
                f"random 429s: {share:.0%} of calls (Retry-After: 1)",
                f"{n / r.seconds:,.0f} ids/s",
                f"{ratio:.2f} of the baseline's pace over the run, {r.steady / base.steady:.2f} "
                f"in the steady state (in proportion would be {1 - share:.2f}); "
                f"{r.throttled / max(1, r.gets):.1%} throttled, peak {r.peak_in_flight}, "
                f"{r.errors} ids not fetched",
            )
        )


def scenario_shared(folder: Path, n: int, rows: Rows) -> None:
    for procs in (2, 3):
        seed, ids = seed_file(folder, n * procs, prefix=f"S{procs}")
        with sandbox(seed, *LIVE) as url:
            started = [start_client(url, ids[i::procs], folder) for i in range(procs)]
            results = [finish(p) for p in started]
        span = max(r.ended for r in results) - min(r.started for r in results)
        total = sum(r.answered for r in results)
        throttled = sum(r.throttled for r in results)
        gets = sum(r.gets for r in results)
        each = ", ".join(f"{r.rate:.0f}/s in {r.seconds:.0f}s" for r in results)
        rows.append(
            (
                f"{procs} processes, one merchant: sum / limit",
                f"{total / span / LIMIT:.3f}",
                f"each {each}; {throttled / gets:.1%} throttled; "
                f"{sum(r.errors for r in results)} ids not fetched",
            )
        )


def scenario_memory(folder: Path, n: int, rows: Rows) -> None:
    seed, ids = seed_file(folder, n)
    with sandbox(seed, "--latency", "3") as url:
        few = run_client(url, ids[:48], folder, concurrency=8)  # ~18 s at 8 in flight
        many = run_client(url, ids, folder, concurrency=500)
    rows.append(("memory: 8 in flight (baseline)", f"{few.peak_rss_mb:.0f} MB", "peak RSS"))
    rows.append(
        (
            f"memory: {many.peak_in_flight} in flight",
            f"{many.peak_rss_mb:.0f} MB",
            f"peak RSS, {many.peak_rss_mb - few.peak_rss_mb:+.0f} MB over the baseline "
            f"({(many.peak_rss_mb - few.peak_rss_mb) * 1024 / max(1, many.peak_in_flight - 8):.0f}"
            " KB per call in flight)",
        )
    )


def scenario_naive(folder: Path, n: int, rows: Rows) -> None:
    import requests

    seed, ids = seed_file(folder, n)
    with sandbox(seed, "--latency", "0.02") as url:
        session = requests.Session()
        headers = {"X-API-Version": "2", "Accept": "application/json"}
        small = ids[: max(20, n // 40)]
        t0 = time.perf_counter()
        for pid in small:
            body = {
                "merchantCode": MERCHANT,
                "secret": SECRET,
                "validitySecs": 600,
                "operations": [f"GET /payouts/{pid}"],
            }
            r = session.post(f"{url}/auth-tokens", json=body, headers=headers, timeout=30)
            token = r.json()["token"]
            auth = {**headers, "Authorization": f"Bearer {token}"}
            answer = session.get(f"{url}/payouts/{pid}", headers=auth, timeout=30)
            assert answer.status_code == 200
        naive = len(small) / (time.perf_counter() - t0)
        session.close()
        fast = run_client(url, ids, folder)
    rows.append(("naive loop (token + GET per id), 20 ms", f"{naive:,.1f} ids/s", ""))
    rows.append(
        (
            "payrecon fetch, 20 ms, no limit",
            f"{n / fast.seconds:,.1f} ids/s",
            f"{(n / fast.seconds) / naive:,.0f}x the naive loop; peak {fast.peak_in_flight}",
        )
    )


SCENARIOS = {
    "live": (scenario_live, 20_000, 9_000),
    "rerun": (scenario_rerun, 9_000, 3_000),
    "fast": (scenario_fast, 9_000, 3_000),
    "random": (scenario_random, 4_500, 1_500),
    "shared": (scenario_shared, 3_000, 1_500),
    "memory": (scenario_memory, 3_000, 2_000),
    "naive": (scenario_naive, 3_000, 1_000),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="fewer ids (a smoke run)")
    parser.add_argument("--ids", type=int, help="ids per scenario (per process when shared)")
    parser.add_argument("--child", nargs=2, metavar=("URL", "IDS"), help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]), args.concurrency, args.store)
        return 0
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    rows: Rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            fn, full, quick = SCENARIOS[name]
            t0 = time.perf_counter()
            fn(Path(tmp), args.ids or (quick if args.quick else full), rows)
            print(f"# {name}: {time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>12}  note")
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:>12}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
