"""Incremental fetching through the store: a run killed with SIGKILL loses nothing it received,
a rerun fetches only what is not final yet.

The sandbox runs in this process; the fetch runs in a child process (the real client writing a
real store file) so that it can be killed for real. The sandbox's own per-id counts of GETs it
answered 200 are the witness of what was fetched again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_helpers import wait_for_stored

from payrecon.sandbox import Faults, SandboxConfig, running
from payrecon.store import Store

N = 1000
CONCURRENCY = 10

#: The child: fetch every id into the store, print how many came from the store.
FETCH_SCRIPT = """
import os, sys
from payrecon.client import Client
from payrecon.store import Store

base, merchant, ids_file, store_file, concurrency = sys.argv[1:6]
ids = open(ids_file).read().split()
with Client(base, merchant, os.environ["PAYRECON_SECRET"], concurrency=int(concurrency),
            progress=False) as client:
    with Store(store_file, base_url=client.base_url, merchant_code=merchant) as store:
        outcomes = client.fetch(ids, sink=store)
print(sum(o.from_store for o in outcomes), len(outcomes), flush=True)
"""


def status_for(n: int) -> str:
    if n % 50 == 7:
        return "PROCESSING"  # 2% stay PROCESSING (seeded payouts keep their status)
    return ("SUCCESS", "SUCCESS", "SUCCESS", "FAILED", "REFUSED")[n % 5]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Any]:
    seed = tmp_path / "seed.csv"
    rows = [f"INC-{n:05d},{n}.25,USD,{status_for(n)}" for n in range(N)]
    seed.write_text("id_payout,amount,currency,status\n" + "\n".join(rows) + "\n")
    with running(SandboxConfig(faults=Faults(latency=0.05)), seed=seed) as sb:
        yield sb


def start_fetch(sb: Any, ids_file: Path, store_file: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PAYRECON_SECRET": sb.secret}  # not on the command line
    args = [sb.base_url, sb.merchant_code, str(ids_file), str(store_file), str(CONCURRENCY)]
    return subprocess.Popen(
        [sys.executable, "-c", FETCH_SCRIPT, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def answered(sb: Any) -> dict[str, int]:
    return {pid: n for (_m, pid), n in sb.stats().gets_ok.items()}


@pytest.mark.slow
def test_killed_run_loses_nothing_and_reruns_fetch_only_what_is_not_final(
    sandbox: Any, tmp_path: Path
) -> None:
    ids = [f"INC-{n:05d}" for n in range(N)]
    processing = {i for n, i in enumerate(ids) if status_for(n) == "PROCESSING"}
    ids_file, store_file = tmp_path / "ids.txt", tmp_path / "store.db"
    ids_file.write_text("\n".join(ids) + "\n")

    # Run 1: killed with SIGKILL part-way, once a reader sees some answers committed.
    child = start_fetch(sandbox, ids_file, store_file)
    wait_for_stored(child, store_file, 150)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL

    with Store.open_readonly(store_file) as store:
        at_kill = store.counts()["payouts"]
        final_at_kill = set(store.known_final(ids))
        stored_at_kill = set(store.statuses()["id_payout"])
    assert 150 <= at_kill < N
    before = answered(sandbox)
    # Nothing received was lost: at most the answers in flight at the kill are missing.
    assert len(set(before) - stored_at_kill) <= 2 * CONCURRENCY

    # Run 2: completes, and fetches none of the payouts the store had as final.
    child = start_fetch(sandbox, ids_file, store_file)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert out.split() == [str(len(final_at_kill)), str(N)]
    after = answered(sandbox)
    assert {i: after[i] for i in final_at_kill} == {i: before[i] for i in final_at_kill}
    assert set(after) == set(ids)  # everything else was fetched
    for pid in stored_at_kill & processing:
        assert after[pid] == before[pid] + 1  # PROCESSING is asked again
    with Store.open_readonly(store_file) as store:
        table = store.statuses(ids)
    assert table["id_payout"].tolist() == ids
    assert table["status"].tolist() == [status_for(n) for n in range(N)]
    assert (table["error"] == "").all()

    # Run 3: only the PROCESSING payouts are fetched.
    sandbox.reset_stats()
    child = start_fetch(sandbox, ids_file, store_file)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert out.split() == [str(N - len(processing)), str(N)]
    assert answered(sandbox) == dict.fromkeys(processing, 1)

    # The merchant secret is nowhere in the store's files.
    secret = sandbox.secret.encode()
    for f in tmp_path.glob("store.db*"):
        assert secret not in f.read_bytes()


def test_refresh_refetches_and_the_store_matches_what_was_fetched(
    sandbox: Any, tmp_path: Path
) -> None:
    ids = [f"INC-{n:05d}" for n in range(60)]
    client = sandbox.client(concurrency=20, progress=False)
    with Store(
        tmp_path / "s.db", base_url=sandbox.base_url, merchant_code=sandbox.merchant_code
    ) as store:
        fetched = client.fetch_statuses(ids, store=store)
        assert not fetched["from_store"].any()
        again = client.fetch_statuses(ids, store=store)
        final = again["status"] != "PROCESSING"
        assert again["from_store"].tolist() == final.tolist()
        sandbox.reset_stats()
        client.fetch_statuses(ids, store=store, refresh=True)
        assert set(answered(sandbox)) == set(ids)
        kept = store.statuses(ids)
    columns = [c for c in fetched.columns if c != "from_store"]
    assert kept[columns].equals(fetched[columns])
    assert again[columns].equals(fetched[columns])
