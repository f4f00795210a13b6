"""Fixtures and helpers shared by the callback receiver's tests.

A test module imports ``sandbox_fixture`` and ``store_fixture``, which pytest then offers as the
fixtures ``sandbox`` and ``store`` (overriding conftest's ``sandbox``: callbacks come at once).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from payrecon.sandbox import SandboxConfig, running
from payrecon.store import Store


def seed(sb: Any, tmp_path: Path, rows: list[tuple[str, str, str]]) -> None:
    """Seed the sandbox with ``(id, amount, status)`` USD payouts."""
    path = tmp_path / "seed.csv"
    lines = ["id_payout,amount,currency,status"] + [f"{i},{a},USD,{s}" for i, a, s in rows]
    path.write_text("\n".join(lines) + "\n")
    sb.seed(path)


@pytest.fixture(name="sandbox")
def sandbox_fixture() -> Iterator[Any]:
    """A sandbox whose created payouts are final at once, callbacks retried every 0.2 s."""
    with running(SandboxConfig(final_after=0.0, callback_interval=0.2)) as sb:
        yield sb


@pytest.fixture(name="store")
def store_fixture(sandbox: Any, tmp_path: Path) -> Iterator[Store]:
    with Store(
        tmp_path / "s.db", base_url=sandbox.base_url, merchant_code=sandbox.merchant_code
    ) as s:
        yield s


def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    """Poll until ``predicate()`` holds; fail (not slow down) if it never does."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.02)
