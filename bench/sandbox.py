"""How many ``GET /payouts/{id}`` a second the sandbox sustains, load from a second process.

The sandbox runs in this process (its own event-loop thread, no injected latency); a second Python
process drives keep-alive GETs at it with an aiohttp client and several connections for a fixed
time, and counts the answers. Three runs with the same load, for comparison in one process: a
final payout (its JSON is built once and cached), a PROCESSING one (built on every call, the
slow path), and an unknown id (410: the version, id rule and token are still checked). The
figure reported is the slower of the two payout runs. Bounded: a 1 s warm-up, then
``--seconds`` of load per run; it stops by itself.

Run: ``.venv/bin/python bench/sandbox.py`` (``--seconds 5 --connections 32 --ids 2000``).
Target on a 2-core machine: at least 1,500 GETs a second.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1500.0


def _load(base_url: str, plan_file: str, seconds: float, connections: int) -> None:
    """The load process: GET every (id, token) in the plan round-robin; print counts as JSON."""
    import aiohttp

    with open(plan_file) as handle:
        plan = [(p["id"], p["token"]) for p in json.load(handle)]

    async def worker(http: aiohttp.ClientSession, start: int, stop_at: float, out: dict) -> None:
        i = start
        headers = {"Accept": "application/json", "X-API-Version": "2"}
        while time.perf_counter() < stop_at:
            id_payout, token = plan[i % len(plan)]
            i += connections
            headers["Authorization"] = f"Bearer {token}"
            async with http.get(f"{base_url}/payouts/{id_payout}", headers=headers) as r:
                await r.read()
                out[r.status] = out.get(r.status, 0) + 1

    async def main() -> None:
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector) as http:
            warm: dict[int, int] = {}
            end = time.perf_counter() + 1.0
            await asyncio.gather(*(worker(http, k, end, warm) for k in range(connections)))
            counts: dict[int, int] = {}
            started = time.perf_counter()
            end = started + seconds
            await asyncio.gather(*(worker(http, k, end, counts) for k in range(connections)))
            elapsed = time.perf_counter() - started
        print(json.dumps({"elapsed": elapsed, "counts": {str(k): v for k, v in counts.items()}}))

    asyncio.run(main())


def _drive(base_url: str, plan: list[dict[str, str]], seconds: float, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(plan, handle)
    try:
        cmd = [sys.executable, __file__, "--load", base_url, handle.name, str(seconds)]
        cmd.append(str(connections))
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True)
    finally:
        os.unlink(handle.name)
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _plan(sb, ids: list[str], per_token: int = 100) -> list[dict[str, str]]:
    import requests

    plan = []
    with requests.Session() as http:
        for k in range(0, len(ids), per_token):
            batch = ids[k : k + per_token]
            body = {
                "merchantCode": sb.merchant_code,
                "secret": sb.secret,
                "validitySecs": 3600,
                "operations": [f"GET /payouts/{i}" for i in batch],
            }
            r = http.post(
                f"{sb.base_url}/auth-tokens", headers={"X-API-Version": "2"}, json=body, timeout=30
            )
            r.raise_for_status()
            plan += [{"id": i, "token": r.json()["token"]} for i in batch]
    return plan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--ids", type=int, default=2000)
    parser.add_argument("--load", nargs=4, metavar=("URL", "PLAN", "SECONDS", "CONNECTIONS"))
    args = parser.parse_args()
    if args.load:
        url, plan_file, seconds, conns = args.load
        _load(url, plan_file, float(seconds), int(conns))
        return 0

    from payrecon.sandbox import SandboxConfig, running

    with tempfile.TemporaryDirectory() as folder, running(SandboxConfig(final_after=0)) as sb:
        seed = Path(folder) / "seed.csv"
        final = [f"FINAL-{i:06d}" for i in range(args.ids)]
        pending = [f"PEND-{i:06d}" for i in range(args.ids)]
        with seed.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id_payout", "amount", "currency", "status", "created_at"])
            for n, (f, p) in enumerate(zip(final, pending, strict=True)):
                when = "2026-11-01T00:00:00Z"
                writer.writerow([f, f"{1000 + n}.25", "USD", "SUCCESS", when])
                writer.writerow([p, f"{1000 + n}.99", "USD", "PROCESSING", when])
        sb.seed(seed)
        gone = [f"GONE-{i:06d}" for i in range(args.ids)]
        runs = {
            "GET a final payout (200)": (_plan(sb, final), "200"),
            "GET a PROCESSING payout (200)": (_plan(sb, pending), "200"),
            "GET an unknown id (410)": (_plan(sb, gone), "410"),
        }
        print(
            f"sandbox at {sb.base_url}; load from a second process: {args.connections} keep-alive"
            f" connections, {args.seconds:g} s after a 1 s warm-up; {os.cpu_count()} CPUs"
        )
        rates: dict[str, float] = {}
        for name, (plan, status) in runs.items():
            result = _drive(sb.base_url, plan, args.seconds, args.connections)
            rates[name] = result["counts"].get(status, 0) / result["elapsed"]
            other = {k: v for k, v in result["counts"].items() if k != status}
            note = f"   other answers: {other}" if other else ""
            print(f"  {name:32s} {rates[name]:8.0f} /s{note}")
        assert sb.stats().count(status=500) == 0
    worst = min(rates["GET a final payout (200)"], rates["GET a PROCESSING payout (200)"])
    verdict = "met" if worst >= TARGET else "NOT met"
    print(f"sustained payout GETs: {worst:.0f} /s (the slower of the two 200 runs)")
    print(f"target {TARGET:.0f} /s on 2 cores: {verdict} ({worst / TARGET:.2f} x target)")
    return 0 if worst >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
