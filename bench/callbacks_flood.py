"""A flood of forged callbacks while the platform calls back real payouts: what it costs.

In one process, all on loopback: the sandbox (at the live host's latency profile by default),
a store, and ``payrecon.receiver._receiver`` listening with its default limits. Then, at once:

* forgers send thousands of callbacks for random unknown ids, from many loopback addresses
  (127.0.0.2, 127.0.0.3, ...: each is one sender for the per-sender limit);
* real payouts are created through the client: half with a signed ``callbackUrl`` (created with
  the store, the usual way), half unsigned but already on the store's register (created
  elsewhere, imported); the sandbox calls each back when it turns final;
* a health check asks ``GET /`` every quarter second.

It prints what the forgers cost (platform calls on forged ids, against the budget's bound), how
long real callbacks took from delivery to their payout being fetched (p50 and max), how the store
grew, and what the health checks got. ``flood()`` is also run, smaller, by
``tests/test_callbacks_flood.py``.

Run: ``.venv/bin/python bench/callbacks_flood.py [--forged 5000] [--seconds 20] [--profile live]``.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import aiohttp
import requests

from payrecon.receiver._receiver import CallbackReceiver, ReceiverLimits
from payrecon.sandbox import Faults, SandboxConfig, running
from payrecon.store._store import Store

ACCOUNT = {"accountName": "A N Other", "accountNumber": "12345678"}


@dataclass
class Figures:
    """What one flood showed."""

    forged_sent: int
    forged_answers: dict[int, int]
    forged_calls: int
    forged_tokens: int
    forged_gets: int
    budget_bound: float
    forged_in_register: int
    real: int
    real_answers: dict[int | None, int]
    real_fetched: int
    real_delays: list[float]
    store_bytes_before: int
    store_bytes_after: int
    wal_bytes_after: int
    store_rows: dict[str, int]
    parked_rows: int
    refused_rows: int
    health_ok: int
    health_failed: int
    seconds: float
    receiver: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        delays = sorted(self.real_delays)
        p50 = statistics.median(delays) if delays else float("nan")
        worst = delays[-1] if delays else float("nan")
        return [
            f"forged callbacks sent: {self.forged_sent} in {self.seconds:.1f} s; answers "
            + ", ".join(f"{k}: {v}" for k, v in sorted(self.forged_answers.items())),
            f"platform calls spent on forged ids: {self.forged_calls} ({self.forged_tokens} "
            f"tokens + {self.forged_gets} GETs); budget bound {self.budget_bound:.0f}; "
            f"forged ids on the register: {self.forged_in_register}",
            f"real callbacks: {self.real} payouts, answers "
            + ", ".join(f"{k}: {v}" for k, v in sorted(self.real_answers.items(), key=str))
            + f"; fetched {self.real_fetched}/{self.real}; delivery to fetched: "
            f"p50 {p50:.2f} s, max {worst:.2f} s",
            f"store: {self.store_bytes_before / 1e3:.0f} kB -> {self.store_bytes_after / 1e3:.0f}"
            f" kB (+{(self.store_bytes_after - self.store_bytes_before) / 1e3:.0f} kB, of which"
            f" write-ahead log {self.wal_bytes_after / 1e3:.0f} kB); rows "
            + ", ".join(f"{k} {v}" for k, v in self.store_rows.items())
            + f"; parked {self.parked_rows}, refused/rejected {self.refused_rows}",
            f"health checks: {self.health_ok} answered 200, {self.health_failed} not",
        ]


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def _forge(url: str, total: int, seconds: float, senders: int) -> tuple[list[str], Counter[int]]:
    """Send ``total`` forged callbacks over ``seconds`` from ``senders`` loopback addresses."""
    ids = [f"FORGED-{secrets.token_hex(6)}" for _ in range(total)]
    answers: Counter[int] = Counter()

    async def run() -> None:
        sessions = [
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(local_addr=(f"127.0.0.{2 + n}", 0), limit=16),
                timeout=aiohttp.ClientTimeout(total=30),
            )
            for n in range(senders)
        ]
        gate = asyncio.Semaphore(128)
        start = time.monotonic()

        async def one(n: int, pid: str) -> None:
            async with gate:
                try:
                    async with sessions[n % senders].post(url, json={"idEntity": pid}) as r:
                        await r.read()
                        answers[r.status] += 1
                except (aiohttp.ClientError, TimeoutError):
                    answers[0] += 1

        tasks = []
        for n, pid in enumerate(ids):
            delay = start + n * seconds / max(total, 1) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n, pid)))
        await asyncio.gather(*tasks)
        for s in sessions:
            await s.close()

    asyncio.run(run())
    return ids, answers


def flood(
    *,
    forged: int = 5000,
    seconds: float = 20.0,
    senders: int = 50,
    real: int = 20,
    profile: str | None = "live",
    latency: float = 0.0,
    limits: ReceiverLimits | None = None,
    folder: Path | None = None,
) -> Figures:
    """Run one flood (see the module docstring) and return its figures."""
    limits = limits or ReceiverLimits()
    faults = Faults(latency=latency, latency_profile=profile, random_seed=7)
    config = SandboxConfig(final_after=2.0, callback_interval=2.0, faults=faults)
    with tempfile.TemporaryDirectory(prefix="payrecon-flood-") as tmp, running(config) as sb:
        path = Path(folder or tmp) / "flood.db"
        client = sb.client()
        with Store(path, base_url=sb.base_url, merchant_code=sb.merchant_code) as store:
            before, rows_before = _size(path), store.counts()
            receiver = CallbackReceiver(store, client, limits=limits).start()
            started = time.monotonic()
            health: Counter[bool] = Counter()
            done = threading.Event()

            def check_health() -> None:
                with requests.Session() as s:
                    while not done.wait(0.25):
                        try:
                            health[s.get(receiver.url + "health", timeout=5).ok] += 1
                        except requests.RequestException:
                            health[False] += 1

            checker = threading.Thread(target=check_health, daemon=True)
            checker.start()
            forging = ThreadPoolExecutor(1)
            forge = forging.submit(_forge, receiver.url + "cb", forged, seconds, senders)
            time.sleep(min(1.0, seconds / 4))
            real_ids = [f"REAL-{n:03d}" for n in range(real)]

            def create(n_pid: tuple[int, str]) -> None:
                n, pid = n_pid
                signed = n % 2 == 0
                if not signed:  # created elsewhere, imported: known, unsigned
                    store.register([pid], "imported")
                client.create_payout(
                    pid,
                    amount=Decimal("100.00"),
                    currency="USD",
                    operator="BNK_000",
                    account=ACCOUNT,
                    callback_url=receiver.url + "cb",
                    store=store if signed else None,
                )

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(create, enumerate(real_ids)))
            forged_ids, answers = forge.result()
            forging.shutdown()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if len(store.known_final(real_ids)) == len(real_ids):
                    break
                time.sleep(0.1)
            done.set()
            checker.join()
            elapsed = time.monotonic() - started
            receiver.stop()
            after = _size(path)
            wal = path.with_name(path.name + "-wal")
            wal_after = wal.stat().st_size if wal.exists() else 0
            rows = {k: v - rows_before.get(k, 0) for k, v in store.counts().items()}
            fetched = store.statuses(real_ids, fetched_at=True)
            known = set(store.known_ids())
            cbs = store.callbacks()
            parked = int(store._read("SELECT COUNT(*) FROM parked_callbacks")[0][0])
        stats = sb.stats()
    forged_set = set(forged_ids)
    forged_tokens = sum(
        any(op.split("/")[-1] in forged_set for op in ops) for ops in stats.token_operations
    )
    forged_gets = sum(n for pid, n in stats.get_attempts.items() if pid in forged_set)
    delivered: dict[str, float] = {}
    real_answers: Counter[int | None] = Counter()
    for attempt in stats.callbacks:
        if attempt.id_payout in real_ids:
            real_answers[attempt.http_status] += 1
            if attempt.http_status == 200:
                delivered.setdefault(attempt.id_payout, attempt.at)
    delays = [
        row.fetched_at.timestamp() - delivered[row.id_payout]
        for row in fetched.itertuples()
        if row.id_payout in delivered and row.status in ("SUCCESS", "FAILED", "REFUSED")
    ]
    st = receiver.stats()
    return Figures(
        forged_sent=len(forged_ids),
        forged_answers=dict(answers),
        forged_calls=forged_tokens + forged_gets,
        forged_tokens=forged_tokens,
        forged_gets=forged_gets,
        budget_bound=limits.batch + 1 + limits.budget_rate * elapsed,
        forged_in_register=len(known & forged_set),
        real=len(real_ids),
        real_answers=dict(real_answers),
        real_fetched=int(fetched["status"].isin(["SUCCESS", "FAILED", "REFUSED"]).sum()),
        real_delays=delays,
        store_bytes_before=before,
        store_bytes_after=after,
        wal_bytes_after=wal_after,
        store_rows=rows,
        parked_rows=parked,
        refused_rows=int((cbs["error"] != "").sum()),
        health_ok=health[True],
        health_failed=health[False],
        seconds=elapsed,
        receiver={k: getattr(st, k) for k in st.__slots__},  # type: ignore[attr-defined]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forged", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--real", type=int, default=20)
    parser.add_argument("--profile", default="live", help="latency profile: live, sandbox, none")
    args = parser.parse_args()
    profile = None if args.profile == "none" else args.profile
    figures = flood(
        forged=args.forged,
        seconds=args.seconds,
        senders=args.senders,
        real=args.real,
        profile=profile,
        latency=0.02 if profile is None else 0.0,
    )
    print(f"payrecon callbacks under a flood (sandbox latency profile: {args.profile})")
    for line in figures.lines():
        print("  " + line)
    print("  receiver counts: " + ", ".join(f"{k} {v}" for k, v in figures.receiver.items() if v))


if __name__ == "__main__":
    main()
