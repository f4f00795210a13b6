"""Shared fixtures: a fresh in-process sandbox on a free loopback port for each test that asks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from payrecon.sandbox import Sandbox, SandboxConfig, running

if TYPE_CHECKING:
    from payrecon.core.result import Reconciliation


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A running sandbox whose payouts turn final after 0.2 s and retry callbacks every 0.2 s."""
    with running(SandboxConfig(final_after=0.2, callback_interval=0.2)) as sb:
        yield sb


DATA = Path(__file__).resolve().parent.parent / "data"
#: ``payrecon reconcile`` on the sample ledger and its statuses table, offline (add ``--out``).
OFFLINE_RECONCILE = [
    "reconcile",
    str(DATA / "ledger.csv"),
    "--mapping",
    str(DATA / "mapping.toml"),
    "--statuses",
    str(DATA / "statuses_sample.csv"),
]


def reconcile_sample() -> Reconciliation:
    """data/ledger.csv (with data/mapping.toml) against data/statuses_sample.csv, at a fixed
    time: the reconciliation the report tests and snapshots read."""
    from payrecon.core import reconcile
    from payrecon.ledger import read_ledger
    from payrecon.statuses import read_statuses

    return reconcile(
        read_ledger(DATA / "ledger.csv", DATA / "mapping.toml"),
        read_statuses(DATA / "statuses_sample.csv"),
        ledger_source="data/ledger.csv",
        base_url="http://127.0.0.1:9/",
        generated_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
    )


#: data/ledger.csv reconciled against data/statuses_sample.csv: rows per category.
SAMPLE_COUNTS = {
    "duplicate_in_ledger": 2,
    "no_payout_id": 0,
    "missing_on_platform": 1,
    "fetch_error": 1,
    "missing_in_ledger": 3,
    "currency_mismatch": 1,
    "status_mismatch": 1,
    "amount_mismatch": 1,
    "fee_mismatch": 1,
    "pending": 4,
    "matched": 28,
}


@pytest.fixture
def cli_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Sandbox]:
    """A sandbox seeded with data/payouts.csv, named by the environment as a user's shell would,
    with the working directory a fresh folder (so the default store lands there)."""
    with running(SandboxConfig(final_after=0.3)) as sb:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("PAYRECON_BASE_URL", sb.base_url)
        monkeypatch.setenv("PAYRECON_MERCHANT_CODE", sb.merchant_code)
        monkeypatch.setenv("PAYRECON_SECRET", sb.secret)
        sb.seed(DATA / "payouts.csv")
        yield sb
