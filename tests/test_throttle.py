"""The adaptive pacer, simulated on a fake clock against a token bucket like the platform's."""

from __future__ import annotations

import heapq

import pytest

from payrecon.client._throttle import AdaptiveRate


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
        # 429s sent at random (other processes, the platform's load) use none of the limit.
        is_429 = rng.random() < extra_429 or (bucket is not None and not bucket.allow(sent))
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
    simulate(limiter, clock, seconds=60, latency=0.02, bucket=None)
    assert limiter.rate == 2000


@pytest.mark.parametrize("share", [0.1, 0.3])
def test_random_429s_do_not_sink_the_rate(share: float) -> None:
    # The baseline: the same limit without random 429s.
    clock = FakeClock()
    limiter = AdaptiveRate(clock=clock, sleep=clock.sleep)
    base, _ = simulate(limiter, clock, seconds=60, latency=0.02, bucket=Bucket(300, 30))
    clock = FakeClock()
    limiter = AdaptiveRate(clock=clock, sleep=clock.sleep)
    through, _ = simulate(
        limiter, clock, seconds=60, latency=0.02, bucket=Bucket(300, 30), extra_429=share
    )
    # Random 429s use none of the limit: the pacer sends more to get as much through.
    assert through >= 0.85 * base
    assert abs(limiter.background() - share) < 0.12
    # The same pacer blaming itself for every 429 (no background) sinks: the old behaviour.
    clock = FakeClock()
    naive = AdaptiveRate(clock=clock, sleep=clock.sleep, confidence=0, slack=0, round_size=1)
    naive_through, _ = simulate(
        naive, clock, seconds=60, latency=0.02, bucket=Bucket(300, 30), extra_429=share
    )
    assert through > 2 * naive_through


def test_a_lower_limit_is_found_not_taken_for_background() -> None:
    # The limit (50/s) is below the starting pace: the 429s fall when the pace falls, so they
    # are the pace's, and the pacer settles near the limit instead of calling them background.
    clock = FakeClock()
    limiter = AdaptiveRate(clock=clock, sleep=clock.sleep)
    through, throttled = simulate(limiter, clock, seconds=60, latency=0.66, bucket=Bucket(50, 5))
    assert through / 60 >= 0.85 * 50
    assert throttled / (through + throttled) <= 0.1
    assert limiter.background() < 0.05


def test_a_thread_that_wakes_late_keeps_its_slot() -> None:
    clock = FakeClock()
    limiter = AdaptiveRate(clock=clock, sleep=clock.sleep, initial_rate=100)
    sent = [limiter.acquire()]
    clock.now += 0.035  # three slots late: the next calls may go at once, not 10 ms apart
    sent += [limiter.acquire() for _ in range(4)]
    assert sent[1:4] == [0.035, 0.035, 0.035]
    assert sent[4] > 0.035  # the credit is spent: back to one call every 10 ms


def test_no_growth_when_calls_leave_slower_than_the_pace() -> None:
    # Calls wait for the pacer, yet only one in two of its slots is used (a busy process):
    # raising the pace would raise a number, not the calls sent.
    clock = FakeClock()
    limiter = AdaptiveRate(clock=clock, sleep=clock.sleep, initial_rate=100)
    for _ in range(400):
        s = limiter.acquire()
        limiter._last_limited = clock.now  # somebody waited
        clock.now += 0.02  # one call every 20 ms, at a pace of one every 10 ms
        limiter.on_response(s, throttled=False)
    assert limiter.rate < 110  # (it may grow a little in the first half-second, before it knows)


def test_one_overshoot_backs_off_once() -> None:
    clock = FakeClock()
    limiter = AdaptiveRate(clock=clock, sleep=clock.sleep, round_size=10)
    first = [limiter.acquire() for _ in range(10)]  # the first round: no 429, no background
    clock.now += 0.4
    for s in first:
        limiter.on_response(s, throttled=False)
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
    with pytest.raises(ValueError):
        AdaptiveRate(background_memory=0)


def test_a_run_that_meets_the_limit_remembers_it_and_the_next_skips_slow_start() -> None:
    clock = FakeClock()
    first = AdaptiveRate(clock=clock, sleep=clock.sleep)
    first_through, first_throttled = simulate(
        first, clock, seconds=10, latency=0.66, bucket=Bucket(300, 30)
    )
    learned = first.learned_limit()
    assert learned is not None and 0.9 * 300 <= learned <= 1.15 * 300
    clock = FakeClock()
    second = AdaptiveRate(clock=clock, sleep=clock.sleep)
    second.resume(learned)
    assert second.rate == pytest.approx(second.beta * learned)  # no slow start from 100/s
    through, throttled = simulate(second, clock, seconds=10, latency=0.66, bucket=Bucket(300, 30))
    assert through > first_through  # the ramp is not paid again
    assert throttled < first_throttled  # nor the overshoot that ends it


def test_resume_is_ignored_once_calls_are_paced_and_a_short_run_learns_nothing() -> None:
    clock = FakeClock()
    limiter = AdaptiveRate(clock=clock, sleep=clock.sleep)
    simulate(limiter, clock, seconds=1, latency=0.02, bucket=None)
    assert limiter.learned_limit() is None  # it never met a limit: nothing to remember
    rate = limiter.rate
    limiter.resume(40.0)
    assert limiter.rate == rate
    fresh = AdaptiveRate(clock=clock, sleep=clock.sleep)
    for nonsense in (None, 0.0, -5.0, float("nan"), float("inf")):
        fresh.resume(nonsense)
        assert fresh.rate == 100.0


@pytest.mark.parametrize("now_limit", [150, 600])
def test_a_remembered_limit_that_has_changed_is_found_again(now_limit: int) -> None:
    # Resumed from 300/s; the merchant's limit is now half (or twice) that.
    clock = FakeClock()
    limiter = AdaptiveRate(clock=clock, sleep=clock.sleep, max_rate=5000)
    limiter.resume(300.0)
    simulate(limiter, clock, seconds=60, latency=0.66, bucket=Bucket(now_limit, now_limit / 10))
    learned = limiter.learned_limit()
    assert learned is not None and 0.85 * now_limit <= learned <= 1.2 * now_limit
