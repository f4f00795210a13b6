"""The adaptive pacer, simulated on a fake clock against a token bucket like the platform's."""

from __future__ import annotations

import heapq

import pytest

from payrecon.throttle import AdaptiveRate


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


class Bucket:
    """A token bucket: ``rate`` tokens a second, ``burst`` at most; a call without one is 429."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, 0.0

    def allow(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def simulate(
    limiter: AdaptiveRate,
    clock: FakeClock,
    *,
    seconds: float,
    latency: float,
    bucket: Bucket | None,
    extra_429: float = 0.0,
    seed: int = 1,
) -> tuple[int, int]:
    """A saturating sender: calls as fast as the pacer allows; returns (through, throttled)."""
    import random

    rng = random.Random(seed)
    pending: list[tuple[float, float, bool]] = []
    through = throttled = 0
    while clock.now < seconds:
        sent = limiter.acquire()
        while pending and pending[0][0] <= clock.now:
            _, sent_at, was_throttled = heapq.heappop(pending)
            limiter.on_response(sent_at, throttled=was_throttled)
        limited = bucket is not None and not bucket.allow(sent)
        is_429 = limited or rng.random() < extra_429
        through += not is_429
        throttled += is_429
        heapq.heappush(pending, (sent + latency, sent, is_429))
    return through, throttled


@pytest.mark.parametrize("latency", [0.02, 0.66])
def test_runs_near_a_300_per_second_limit_with_few_429s(latency: float) -> None:
    clock = FakeClock()
    limiter = AdaptiveRate(clock=clock, sleep=clock.sleep)
    through, throttled = simulate(
        limiter, clock, seconds=120, latency=latency, bucket=Bucket(300, 30)
    )
    assert through / 120 / 300 >= 0.9
    assert throttled / (through + throttled) <= 0.05


def test_backs_off_when_throttled_and_grows_again() -> None:
    clock = FakeClock()
    limiter = AdaptiveRate(clock=clock, sleep=clock.sleep, max_rate=2000)
    simulate(limiter, clock, seconds=30, latency=0.02, bucket=Bucket(300, 30))
    assert limiter.stats().decreases > 0 and limiter.rate < 400
    # The limit is lifted: the rate grows far beyond the old limit, up to its bound.
    simulate(limiter, clock, seconds=45, latency=0.02, bucket=None)
    assert limiter.rate == 2000


def test_random_429s_do_not_sink_the_rate() -> None:
    clock = FakeClock()
    limiter = AdaptiveRate(clock=clock, sleep=clock.sleep, max_rate=2000)
    through, _ = simulate(limiter, clock, seconds=30, latency=0.02, bucket=None, extra_429=0.05)
    # The same pacer backing off on every lone 429 (a round of one answer) as a baseline.
    clock = FakeClock()
    naive = AdaptiveRate(clock=clock, sleep=clock.sleep, max_rate=2000, threshold=0, round_size=1)
    naive_through, _ = simulate(naive, clock, seconds=30, latency=0.02, bucket=None, extra_429=0.05)
    assert through / 30 > 250  # no limit at all: 5 % of random 429s must not pin it down
    assert through > 4 * naive_through


def test_one_overshoot_backs_off_once() -> None:
    clock = FakeClock()
    limiter = AdaptiveRate(clock=clock, sleep=clock.sleep, round_size=10)
    sent = [limiter.acquire() for _ in range(40)]
    clock.now += 0.05
    for s in sent:  # a whole burst throttled: calls sent before any back-off
        limiter.on_response(s, throttled=True)
    assert limiter.stats().decreases == 1


def test_no_growth_while_not_the_bottleneck() -> None:
    clock = FakeClock()
    limiter = AdaptiveRate(clock=clock, sleep=clock.sleep)
    start = limiter.rate
    for _ in range(200):  # one call every 0.1 s: the pacer never makes anyone wait
        clock.now += 0.1
        s = limiter.acquire()
        clock.now += 0.02
        limiter.on_response(s, throttled=False)
    assert limiter.rate == start


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        AdaptiveRate(beta=1.5)
    with pytest.raises(ValueError):
        AdaptiveRate(min_rate=10, initial_rate=5)
