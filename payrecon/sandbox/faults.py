"""Drawing the injected faults: how long a call waits, and whether it fails on purpose.

The latency profiles are lognormal fits to the median and p90 the real hosts showed (§5.7), plus
a rare long tail (one call in 500) spread between the p99 and the measured maximum, because a
client must survive the odd five-second call without stalling the rest.
"""

from __future__ import annotations

import math
import random

from payrecon.sandbox.config import LATENCY_PROFILES, Faults

_Z90 = 1.2815515655446004  # the standard normal's 90th percentile
_TAIL_SHARE = 0.002


def delay_for(faults: Faults, rng: random.Random) -> float:
    """Seconds to hold this call, from the profile when one is set, else the fixed latency."""
    if faults.latency_profile is None:
        return faults.latency
    profile = LATENCY_PROFILES.get(faults.latency_profile)
    if profile is None:
        raise ValueError(f"unknown latency profile {faults.latency_profile!r}")
    if rng.random() < _TAIL_SHARE:
        return rng.uniform(profile["p99"], profile["max"])
    sigma = math.log(profile["p90"] / profile["median"]) / _Z90
    return min(profile["max"], rng.lognormvariate(math.log(profile["median"]), sigma))


def random_failure(faults: Faults, rng: random.Random) -> int | None:
    """500, 429 or 401 when this call is picked to fail at random; None for most calls."""
    total = faults.error_500_rate + faults.error_429_rate + faults.error_401_rate
    if total <= 0:
        return None
    r = rng.random()
    if r < faults.error_500_rate:
        return 500
    if r < faults.error_500_rate + faults.error_429_rate:
        return 429
    if r < total:
        return 401
    return None
