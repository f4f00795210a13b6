"""The flood, small: forged callbacks for unknown ids while the platform calls back real payouts.

The same driver as ``bench/callbacks_flood.py`` (which prints the figures at full size), at the
live host's latency profile, with a parking area small enough to fill. Counts and bounds only:
nothing here is timed.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from callbacks_flood import flood  # noqa: E402

from payrecon.receiver import ReceiverLimits  # noqa: E402


def test_a_flood_of_forged_callbacks_costs_the_budget_and_no_real_callback(
    tmp_path: Path,
) -> None:
    limits = ReceiverLimits(park_capacity=200, budget_rate=2.0, batch=20)
    figures = flood(
        forged=600, seconds=4.0, senders=6, real=6, profile="live", limits=limits, folder=tmp_path
    )
    # real callbacks: every one answered 200 at its first delivery, every payout fetched
    assert set(figures.real_answers) == {200}
    assert figures.real_fetched == figures.real == len(figures.real_delays)
    # forged ones: answered (200 parked, 503 once the area is full), never a crash or a reset
    assert set(figures.forged_answers) <= {200, 503}
    assert sum(figures.forged_answers.values()) == figures.forged_sent == 600
    assert figures.forged_answers.get(503, 0) > 0
    # ... and cost at most the budget, never reaching the register (--include-known)
    assert 0 < figures.forged_calls <= figures.budget_bound
    assert figures.forged_in_register == 0
    # the store grew by a bounded amount: parked ids within the area's size, one row per real
    assert figures.parked_rows <= limits.park_capacity
    assert figures.store_rows["known_ids"] == figures.real
    assert figures.store_rows["payouts"] == figures.real
    assert figures.store_rows["callbacks"] <= 2 * figures.real + figures.forged_calls
    # and the receiver answered its health checks throughout
    assert figures.health_ok > 0 and figures.health_failed == 0
