"""Benchmark the bulk fetch against the sandbox, each figure beside a baseline from the same run.

(A) speed-up over the guide's naive loop (a token per id, then its GET, one at a time), at 20 ms
    per call;
(B) with a rate limit of 300 calls a second (20 ms per call): the share of the limit reached and
    the share of calls throttled;
(C) at the live host's latency (``Faults(latency_profile="live")``: 660 ms median, tails of
    seconds): throughput against concurrency / mean latency.

The sandbox runs in this process, on loopback, sharing the interpreter with the client: the
figures are a floor for the client's own speed. Every part is bounded in ids and stops by itself.

Run: ``.venv/bin/python bench/fetch.py`` (``--quick`` for a smaller run).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import requests

from payrecon.client import Client
from payrecon.sandbox import Faults, SandboxConfig, running


def seed(sb, n: int, folder: Path) -> list[str]:
    path = folder / f"seed-{n}.csv"
    ids = [f"BENCH-{i:06d}" for i in range(n)]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id_payout", "amount", "currency", "status"])
        for i, pid in enumerate(ids):
            w.writerow([pid, Decimal(f"{100 + i}.25"), "USD", "SUCCESS"])
    sb.seed(path)
    return ids


def naive_loop(sb, ids: list[str]) -> float:
    """The guide's loop: for each id, POST /auth-tokens naming it, then GET it. Ids a second."""
    session = requests.Session()
    headers = {"X-API-Version": "2", "Accept": "application/json"}
    started = time.perf_counter()
    for pid in ids:
        token = session.post(
            f"{sb.base_url}/auth-tokens",
            json={
                "merchantCode": sb.merchant_code,
                "secret": sb.secret,
                "validitySecs": 600,
                "operations": [f"GET /payouts/{pid}"],
            },
            headers=headers,
            timeout=30,
        ).json()["token"]
        answer = session.get(
            f"{sb.base_url}/payouts/{pid}",
            headers={**headers, "Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.status_code
        json.loads(answer.content)
    elapsed = time.perf_counter() - started
    session.close()
    return len(ids) / elapsed


class Arrivals:
    """A sink that notes when each answer arrived, for the steady-state rate."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def known_final(self, ids: object) -> dict:
        return {}

    def record(self, outcome: object) -> None:
        self.times.append(time.perf_counter())

    def steady_rate(self, low: float = 0.2, high: float = 0.8) -> float:
        """Answers a second between the 20th and 80th percentile answers (no ramp, no tail)."""
        n = len(self.times)
        a, b = int(n * low), int(n * high) - 1
        return (b - a) / (self.times[b] - self.times[a])


def client_run(sb, ids: list[str], **kw: object) -> tuple[float, float, Client, Arrivals]:
    client: Client = sb.client(progress=False, **kw)
    arrivals = Arrivals()
    started = time.perf_counter()
    outcomes = client.fetch(ids, sink=arrivals)
    elapsed = time.perf_counter() - started
    bad = [o for o in outcomes if o.error]
    assert not bad, f"{len(bad)} ids failed, e.g. {bad[0]}"
    return len(ids) / elapsed, elapsed, client, arrivals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer ids (a smoke run)")
    args = parser.parse_args(argv)
    n_naive, n_fast, n_limited, n_live = (
        (60, 1500, 2400, 600)
        if args.quick
        else (
            150,
            5000,
            9000,
            2000,
        )
    )
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        # (A) speed-up over the naive loop, 20 ms a call, no rate limit.
        with running(SandboxConfig(final_after=0, faults=Faults(latency=0.02))) as sb:
            ids = seed(sb, n_fast, folder)
            naive = naive_loop(sb, ids[:n_naive])
            fast, elapsed, _, _ = client_run(sb, ids)
        rows.append(("A naive loop (token + GET per id)", f"{naive:,.1f} ids/s", f"{n_naive} ids"))
        rows.append(
            (
                "A payrecon fetch (concurrency 128)",
                f"{fast:,.1f} ids/s",
                f"{n_fast} ids in {elapsed:.1f}s",
            )
        )
        rows.append(("A speed-up (target >= 10x)", f"{fast / naive:,.1f}x", ""))

        # (B) rate limit 300/s, 20 ms a call.
        limit = 300.0
        config = SandboxConfig(final_after=0, rate_limit=limit, faults=Faults(latency=0.02))
        with running(config) as sb:
            ids = seed(sb, n_limited, folder)
            sb.reset_stats()
            _rate, elapsed, client, arrivals = client_run(sb, ids)
            stats = sb.stats()
        gets = stats.count("GET", "payout")
        throttled = stats.count("GET", "payout", 429)
        through = gets - throttled
        reached = through / elapsed / limit
        rows.append(
            (
                "B calls through / s (limit 300/s)",
                f"{through / elapsed:,.1f}",
                f"{n_limited} ids in {elapsed:.1f}s",
            )
        )
        rows.append(("B share of the limit reached (>= 0.90)", f"{reached:.3f}", ""))
        rows.append(
            (
                "B share of calls throttled (<= 5%)",
                f"{throttled / gets:.2%}",
                f"{throttled} of {gets} GETs answered 429",
            )
        )
        rows.append(
            (
                "B steady state (20%-80% of ids) / limit",
                f"{arrivals.steady_rate() / limit:.3f}",
                f"{arrivals.steady_rate():,.1f} ids/s",
            )
        )
        rows.append(
            (
                "B pacer at the end",
                f"{client.throttle.rate:,.0f}/s",
                f"{client.throttle.stats().decreases} back-offs",
            )
        )

        # (C) the live host's latency: throughput ~ concurrency / latency.
        config = SandboxConfig(final_after=0, faults=Faults(latency_profile="live", random_seed=5))
        with running(config) as sb:
            ids = seed(sb, n_live, folder)
            live, elapsed, client, arrivals = client_run(sb, ids)
        expected = client.concurrency / 0.69  # lognormal mean ~0.69 s for the 660 ms median
        rows.append(
            (
                "C live latency (660 ms median)",
                f"{live:,.1f} ids/s",
                f"{n_live} ids in {elapsed:.1f}s",
            )
        )
        rows.append(
            (
                "C steady state (20%-80% of ids)",
                f"{arrivals.steady_rate():,.1f} ids/s",
                f"{arrivals.steady_rate() / expected:.0%} of concurrency / latency",
            )
        )
        rows.append(
            (
                "C concurrency / mean latency",
                f"{expected:,.1f} ids/s",
                f"whole run: {live / expected:.0%} of it (ramp-up and tail included)",
            )
        )
        rows.append(
            (
                "C naive loop at that latency (2 calls)",
                f"{1 / (2 * 0.69):,.2f} ids/s",
                f"speed-up {live * 2 * 0.69:,.0f}x",
            )
        )

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>14}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
