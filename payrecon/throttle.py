"""An adaptive pacer: run near the platform's rate limit without hammering it.

The platform documents 429 but no numbers and no ``Retry-After`` (platform-api.md §5.5), so the
client has to find the limit itself. :class:`AdaptiveRate` paces the *start* of calls at a rate it
learns from the answers, much as TCP CUBIC paces a congestion window:

* **slow start**: from ``initial_rate``, the rate doubles every round trip (0.1 s to 0.5 s)
  while the pacer is what holds calls back, until the first 429;
* **on throttling**: answers are judged in rounds (64 answers by default); when more than
  ``threshold`` (10 %) of a round was 429, the limit is taken as the lower of the pacing rate and
  the rate of answers that got through in the last second (what a token bucket really lets
  pass), and the rate drops to ``beta`` times that. Only answers to calls *sent after* the last
  decrease count, so one overshoot backs off once, not once per 429; and a steady trickle of
  random 429s (a few percent) does not sink the rate;
* **growth**: after a decrease the rate follows a cubic in the time since, concave up to the
  last limit (it lingers just below it: high use, few 429s) and convex beyond (it probes for more
  room when the limit has risen). Growth pauses while the pacer is not the bottleneck (the pool
  or the ids run out first), so an idle spell does not end in a burst.

Pacing starts of calls bounds in-flight calls too (Little's law: in flight = rate x latency), so
this is also the concurrency that adapts to 429s; the pool size stays the hard cap.
The throttled call itself waits what ``Retry-After`` says (see :mod:`payrecon.client`).

Everything here is pure state plus a lock; the clock and the sleep are injectable for tests.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ThrottleStats:
    """Counters a benchmark or a log line can show."""

    rate: float
    limit_estimate: float | None
    throttled: int
    answered: int
    decreases: int


class AdaptiveRate:
    """Paces calls at a rate that backs off on 429 and grows again when not throttled.

    Parameters
    ----------
    initial_rate
        Calls a second at the start (slow start doubles it each round trip).
    min_rate, max_rate
        Bounds of the pacing rate.
    beta
        Share of the estimated limit the rate drops to on a 429.
    threshold, round_size
        Answers are judged in rounds of ``round_size`` (or 2 s): the rate backs off when more than
        ``threshold`` of a round's answers were 429. A lone 429 is not a verdict: platforms (and
        the sandbox's fault injection) throttle odd calls at random, and backing off on each
        would sink the rate to nothing under a steady 5 % of them.
    cubic
        Growth constant: the rate returns to the last limit ``cbrt((1 - beta) / cubic)`` seconds
        after a decrease (2 s with the defaults).
    clock, sleep
        Injectable time source and sleep (``sleep(seconds) -> bool``, True when told to stop).
    """

    def __init__(
        self,
        *,
        initial_rate: float = 100.0,
        min_rate: float = 2.0,
        max_rate: float = 100_000.0,
        beta: float = 0.9,
        cubic: float = 0.0125,
        threshold: float = 0.1,
        round_size: int = 64,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if not 0 < beta < 1:
            raise ValueError("beta must be between 0 and 1")
        if not 0 < min_rate <= initial_rate <= max_rate:
            raise ValueError("need 0 < min_rate <= initial_rate <= max_rate")
        self._initial_rate = float(initial_rate)
        self.min_rate = min_rate
        self.max_rate = max_rate
        self.beta = beta
        self.cubic = cubic
        self.threshold = threshold
        self.round_size = round_size
        self._clock = clock
        self._sleep = sleep or time.sleep
        self._pace_lock = threading.Lock()  # held while waiting for a slot: one waiter at a time
        self._state_lock = threading.Lock()
        self._rate = float(initial_rate)
        self._next_slot = 0.0
        self._w_max: float | None = None  # rate at the last 429; None while in slow start
        self._start = clock()
        self._epoch = self._start  # start of the current growth curve
        self._last_update = self._epoch
        self._last_decrease = -math.inf
        self._last_limited = -math.inf
        self._srtt: float | None = None
        self._ok_times: deque[float] = deque()
        self._throttled = 0
        self._answered = 0
        self._decreases = 0
        self._new_round(self._start)

    # ------------------------------------------------------------------ pacing

    @property
    def rate(self) -> float:
        return self._rate

    def acquire(self, stop: threading.Event | None = None) -> float:
        """Wait for the next slot; return the send time to hand back to :meth:`on_response`.

        Threads queue on a lock so the slot is taken at the rate in force *when it comes up*:
        a decrease slows the very next call, not only calls that arrive later.
        """
        with self._pace_lock:
            now = self._clock()
            wait = self._next_slot - now
            if wait > 0:
                self._last_limited = now
                if stop is not None:
                    stop.wait(wait)
                else:
                    self._sleep(wait)
                now = self._clock()
            self._next_slot = max(self._next_slot, now) + 1.0 / self._rate
            return now

    # ------------------------------------------------------------------ feedback

    def on_response(self, sent_at: float, *, throttled: bool) -> None:
        """Feed back one answer: ``throttled`` for a 429, else any answer that got through."""
        with self._state_lock:
            now = self._clock()
            rtt = max(0.0, now - sent_at)
            self._srtt = rtt if self._srtt is None else 0.875 * self._srtt + 0.125 * rtt
            if throttled:
                self._throttled += 1
            else:
                self._answered += 1
                self._ok_times.append(now)
            while self._ok_times and self._ok_times[0] < now - 1.0:
                self._ok_times.popleft()
            if sent_at > self._last_decrease:  # answers to calls sent at the rate now in force
                self._round_total += 1
                self._round_throttled += throttled
                if self._round_total >= self.round_size or (
                    self._round_total >= 8 and now - self._round_start > 2.0
                ):
                    share = self._round_throttled / self._round_total
                    self._new_round(now)
                    if share > self.threshold:
                        self._decrease(now)
                        return
            if not throttled:
                self._grow(now)

    def _new_round(self, now: float) -> None:
        self._round_total = 0
        self._round_throttled = 0
        self._round_start = now

    def _goodput(self, now: float) -> float:
        """Answers that got through per second over the last second (or since the start)."""
        span = min(1.0, max(now - self._start, 1e-3))
        recent = sum(1 for t in self._ok_times if t >= now - span)
        return recent / span

    def _decrease(self, now: float) -> None:
        goodput = self._goodput(now)
        limit = min(self._rate, goodput) if goodput > 0 else self._rate
        self._w_max = max(self.min_rate, limit)
        self._rate = max(self.min_rate, self.beta * self._w_max)
        self._epoch = now
        self._last_update = now
        self._last_decrease = now
        self._decreases += 1

    def _grow(self, now: float) -> None:
        dt = now - self._last_update
        self._last_update = now
        limited = now - self._last_limited < max(0.2, 2 * (self._srtt or 0.0))
        if not limited:
            # Application-limited: pause the growth curve so an idle spell is not a burst.
            self._epoch += dt
            return
        # Never more than twice what actually got through lately: growth follows evidence.
        ceiling = min(self.max_rate, max(self._initial_rate, 2.0 * self._goodput(now)))
        if self._w_max is None:  # slow start: double every round trip (0.1 s to 0.5 s)
            period = min(0.5, max(0.1, self._srtt or 0.1))
            self._rate = min(ceiling, max(self._rate, self._rate * 2.0 ** (dt / period)))
            return
        k = ((1.0 - self.beta) / self.cubic) ** (1.0 / 3.0)
        t = now - self._epoch
        target = self._w_max * (1.0 + self.cubic * (t - k) ** 3)
        self._rate = max(self.min_rate, min(ceiling, target))

    def stats(self) -> ThrottleStats:
        with self._state_lock:
            return ThrottleStats(
                rate=self._rate,
                limit_estimate=self._w_max,
                throttled=self._throttled,
                answered=self._answered,
                decreases=self._decreases,
            )

    def __repr__(self) -> str:
        return f"AdaptiveRate(rate={self._rate:.1f}/s, limit_estimate={self._w_max})"
