"""An adaptive pacer: run near the platform's rate limit without hammering it.

The platform documents 429 but no numbers and no ``Retry-After`` (platform-api.md §5.5), so the
client has to find the limit itself. :class:`AdaptiveRate` paces the *start* of calls at a rate it
learns from the answers, much as TCP CUBIC paces a congestion window:

* **slow start**: from ``initial_rate``, the rate doubles every round trip (0.1 s to 0.5 s), never
  past 1.5 times what got through lately, while the pacer is what holds calls back. The first
  round of answers measures the *background* (below) before the pacer may blame itself;
* **on throttling**: a 429 is a verdict on the pace only when there are *more* of them than the
  background explains. Some 429s are not the client's doing (another process on the merchant, the
  platform's own load); their share is measured in probes, and each measure is forgotten after
  ``background_memory`` seconds. Answers are counted in rounds; as soon as a round holds more 429s
  than the background predicts (by ``confidence`` standard deviations plus ``slack`` calls), the
  pacer backs off to ``beta`` times the lower of the rate the offending call was sent at and
  what got through lately (less the background). Answers to calls sent before the back-off
  settled do not count, so one overshoot backs off once, not once per 429;
* **probes**: the pace is held still for one round after a back-off. If that round still holds
  many 429s, the pace drops to what got through, for another round: if the 429s fall with the
  pace, they were the pace's (and that is the limit); if they do not, they are background, and
  the pace before the false alarm comes back. Both rounds join the background's measures (the
  median of the last five is the estimate);
* **growth**: after a back-off the rate follows a cubic in the time since, concave up to the
  last limit (it lingers just below it: high use, few 429s) and convex beyond (it probes for more
  room when the limit has risen, or when another process has finished). Growth pauses while the
  pacer is not the bottleneck (the ids run out, the cap on calls in flight is reached, or calls
  leave slower than the pace because the process is busy), so an idle spell is not a burst.

* **memory**: a run that met the limit says so (:meth:`AdaptiveRate.learned_limit`); the
  store keeps it, and the next run resumes from it (:meth:`~AdaptiveRate.resume`), skipping the
  slow start and the overshoot that ends it (most of what a run of a few thousand ids loses at
  the live host's latency).

A random 429 therefore costs the call that got it (it waits what ``Retry-After`` says, see
:mod:`payrecon.client._client`) and nothing more: under 30 % of them a fetch runs at the limit,
where the old pacer halved its rate round after round down to 2 calls a second.

How many calls are in flight is not set here: the bulk fetch keeps a few calls *waiting* for the
pacer (:attr:`AdaptiveRate.waiting`) and starts another whenever one leaves, so the calls in
flight settle at rate x time per call (Little's law), whatever the latency and its tail.

Everything here is pure state plus locks; the clock and the sleep are injectable for tests.
See docs/fetch.md for the figures.
"""

from __future__ import annotations

import bisect
import logging
import math
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("payrecon.throttle")

#: What the pacer is doing: measuring the background in its first round (before it may blame
#: itself for anything), pacing (and judging rounds), or probing after a back-off whether the
#: 429s are its own (right after the back-off, then at a much lower rate).
_FIRST, _STEADY, _AFTER_DECREASE, _LOWER = "first", "steady", "after-decrease", "lower"
#: A probe counts calls sent from this share of a round trip after the rate changed, so other
#: processes on the merchant, who saw the same 429s, have backed off too.
_SETTLE_RTTS = 0.5
#: A probe lasts a round of answers and at least this long: a token bucket's burst (a tenth
#: of a second of the limit, say) would hide most of a shorter probe's 429s at a high rate.
_PROBE_MIN_SECONDS = 0.3
#: ... and at most this long (at a very low rate), with 16 answers at least.
_PROBE_SECONDS = 3.0
#: Right after a back-off a few 429s are expected (the overshoot emptied the platform's token
#: bucket, so even a pace under the limit meets one now and then): the first probe looks
#: lower only past this many more than the background explains.
_PROBE_SLACK = 4.0
#: How far (in standard deviations) the share of 429s must fall between the two probes for
#: them to be the pace's doing.
_DROP_Z = 2.0
#: Slots a thread that woke late may still take, so that waking threads (milliseconds under
#: load) does not cap the real rate below the pace.
_LATE_SLOTS = 4
#: Growth never takes the pace past this many times what got through lately (less the
#: background): slow start then grows by half a round trip's worth at most, so the overshoot
#: a token bucket hides until its burst is spent stays small.
_GAIN = 1.5
#: A run resumed from a remembered limit that has grown this far past it without meeting it
#: goes back to slow start: the limit has risen (or another process that shared it is gone).
_RESUME_SLACK = 1.2


@dataclass(frozen=True, slots=True)
class ThrottleStats:
    """Counters a benchmark or a log line can show."""

    rate: float
    limit_estimate: float | None
    sent: int
    throttled: int
    answered: int
    decreases: int
    background: float
    sending: float  # seconds from the first call sent to the last


class AdaptiveRate:
    """Paces calls at a rate that backs off on 429 and grows again when not throttled.

    Parameters
    ----------
    initial_rate
        Calls a second at the start (slow start doubles it each round trip).
    min_rate, max_rate
        Bounds of the pacing rate.
    beta
        Share of the estimated limit the rate drops to on a back-off.
    cubic
        Growth constant: the rate returns to the last limit ``cbrt((1 - beta) / cubic)`` seconds
        after a decrease (3.2 s with the defaults), and lingers there about as long again.
    round_size
        Answers per round: the background is measured over one round, and a round's count of
        429s is what is judged against it.
    confidence, slack
        A round backs the rate off once its 429s exceed the background's expected count by
        ``confidence`` standard deviations plus ``slack`` calls. With no background, the second
        429 of a round does it; with 30 % of answers throttled at random, a round (longer then,
        up to ten times ``round_size``) needs a few points more than 30 %.
    background_memory
        Seconds a probe's measure of the background is kept: a burst of foreign 429s does not
        leave the pacer deaf to its own for long.
    clock, sleep
        Injectable time source and sleep (``sleep(seconds) -> bool``, True when told to stop).
    """

    def __init__(
        self,
        *,
        initial_rate: float = 100.0,
        min_rate: float = 2.0,
        max_rate: float = 100_000.0,
        beta: float = 0.95,
        cubic: float = 0.0015,
        round_size: int = 64,
        confidence: float = 2.5,
        slack: float = 1.5,
        background_memory: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if not 0 < beta < 1:
            raise ValueError("beta must be between 0 and 1")
        if not 0 < min_rate <= initial_rate <= max_rate:
            raise ValueError("need 0 < min_rate <= initial_rate <= max_rate")
        if round_size < 1 or confidence < 0 or slack < 0 or background_memory <= 0:
            raise ValueError("need round_size >= 1, confidence, slack >= 0, memory > 0")
        self._initial_rate = float(initial_rate)
        self.min_rate = min_rate
        self.max_rate = max_rate
        self.beta = beta
        self.cubic = cubic
        self.round_size = round_size
        self.confidence = confidence
        self.slack = slack
        self.background_memory = background_memory
        self._clock = clock
        self._sleep = sleep or time.sleep
        self._pace_lock = threading.Lock()  # held while waiting for a slot: one waiter at a time
        self._state_lock = threading.Lock()
        self._waiting = 0
        self._rate = float(initial_rate)
        self._next_slot = 0.0
        self._w_max: float | None = None  # rate at the last back-off; None while in slow start
        self._start = clock()
        self._epoch = self._start  # start of the current growth curve
        self._last_update = self._epoch
        self._settled_at = -math.inf  # calls sent from then on are judged at the new rate
        self._last_limited = -math.inf
        self._srtt: float | None = None
        self._ok_times: deque[float] = deque()
        self._sent_times: deque[float] = deque()
        self._rate_times: deque[float] = deque()
        self._rate_values: deque[float] = deque()
        self._bg_samples: deque[tuple[float, float]] = deque(maxlen=5)
        self._first_answer: float | None = None
        self._phase = _FIRST
        self._steady_since = self._start  # pacing undisturbed since then (no probe)
        self._saved: tuple[float, float | None, float] = (self._rate, None, 0.0)
        self._probe_share = 0.0
        self._probe_total = 1
        self._probe_rate = self._rate
        self._probe_through = self._rate
        self._sent = 0
        self._first_sent: float | None = None
        self._last_sent: float | None = None
        self._throttled = 0
        self._answered = 0
        self._decreases = 0
        self._met_limit = False  # whether w_max was measured by meeting the limit in this run
        self._new_round(self._start)
        self._log_rate(self._start)

    # ------------------------------------------------------------------ pacing

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot right now: how far demand runs ahead of the pace."""
        return self._waiting

    def acquire(self, stop: threading.Event | None = None) -> float:
        """Wait for the next slot; return the send time to hand back to :meth:`on_response`.

        Threads queue on a lock so the slot is taken at the rate in force *when it comes up*:
        a decrease slows the very next call, not only calls that arrive later.
        """
        with self._state_lock:
            self._waiting += 1
        try:
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
                # A thread that woke late keeps its slot (up to a few slots late): waking a
                # thread takes a few milliseconds under load, and losing those slots would
                # cap the real rate below the pace the pacer believes it keeps.
                late = _LATE_SLOTS / self._rate
                self._next_slot = max(self._next_slot, now - late) + 1.0 / self._rate
                self._sent_times.append(now)
                self._sent += 1
                if self._first_sent is None:
                    self._first_sent = now
                self._last_sent = now
                return now
        finally:
            with self._state_lock:
                self._waiting -= 1

    # ------------------------------------------------------------------ feedback

    def on_response(self, sent_at: float, *, throttled: bool) -> None:
        """Feed back one answer: ``throttled`` for a 429, else any answer that got through."""
        with self._state_lock:
            now = self._clock()
            if self._first_answer is None:
                self._first_answer = now
            rtt = max(0.0, now - sent_at)
            self._srtt = rtt if self._srtt is None else 0.875 * self._srtt + 0.125 * rtt
            if throttled:
                self._throttled += 1
            else:
                self._answered += 1
                self._ok_times.append(now)
                if self._round_total:  # every answer that got through during the round
                    self._round_through += 1
            while self._ok_times and self._ok_times[0] < now - max(1.0, 2.0 * self._srtt):
                self._ok_times.popleft()
            if sent_at >= self._settled_at:  # answers to calls sent at the rate now in force
                if self._round_total == 0:
                    self._round_start = now
                self._round_total += 1
                self._round_throttled += throttled
                if self._phase == _STEADY and throttled and self._excessive(now):
                    self._decrease(now, sent_at)
                    return
                if self._round_done(now):
                    self._end_round(now)
            if not throttled:
                self._grow(now)

    def _new_round(self, now: float) -> None:
        self._round_total = 0
        self._round_throttled = 0
        self._round_through = 0
        self._round_start = now

    def _round_done(self, now: float) -> bool:
        """Probes are short (a round, a third of a second); steady rounds are longer the larger the
        background, so a small excess over it still shows (its noise shrinks as 1/sqrt(n))."""
        n = self._round_total
        if self._phase != _STEADY:
            took = now - self._round_start
            return (n >= self.round_size and took >= _PROBE_MIN_SECONDS) or (
                n >= 16 and took > _PROBE_SECONDS
            )
        size = self.round_size * (1.0 + 30.0 * self.background(now))
        return n >= size or (n >= 16 and now - self._round_start > 5.0)

    def _end_round(self, now: float) -> None:
        """A round is complete: in a probe, decide what its 429s were."""
        if self._phase != _STEADY:
            log.debug(
                "%.2f probe %s: %d of %d throttled at %.0f/s (background %.1f%%)",
                now - self._start,
                self._phase,
                self._round_throttled,
                self._round_total,
                self._rate,
                100 * self.background(now),
            )
        if self._phase == _FIRST:
            # 429s at the starting pace: what the platform sends anyway, or a limit below the
            # starting pace. Many of them: look lower to tell which (as after a back-off).
            if self._excessive(now, slack=_PROBE_SLACK):
                self._look_lower(now)
                return
            self._add_background(now)
            self._to_steady(now)
        elif self._phase == _AFTER_DECREASE:
            suspect = self._excessive(now, slack=_PROBE_SLACK)
            # Taken in the background whatever it shows, as one of several: leaving out the
            # rounds with many 429s would bias the estimate low (and a low estimate makes
            # back-offs that cost pace for nothing), while a round that still held the pace's
            # own 429s moves the median of several little.
            self._add_background(now)
            if suspect:
                # Still throttled after backing off: either the limit is lower still, or these
                # 429s are not ours. Slow down to what got through and look again.
                self._look_lower(now)
                return
            self._to_steady(now)
        elif self._phase == _LOWER:
            if not self._dropped():
                # As many 429s at a much lower rate: they are not the pace's doing. Take the
                # background in, and go back to where the pacer was before this false alarm.
                self._add_background(now)
                self._restore(now)
            elif self._excessive(now):
                # Fewer 429s, yet still too many: the limit is lower still. Down again, and
                # look again; this share is not clean, so it is not the background.
                self._look_lower(now)
                return
            else:
                # The 429s went when the pace went down: they were the pace's, and the limit is
                # what got through at the first look. This share is clean (below the limit).
                self._add_background(now)
                passed = min(self._probe_rate, self._probe_through)  # what the limit let by
                self._w_max = max(self.min_rate, passed / max(0.05, 1 - self.background(now)))
                self._met_limit = True
                self._epoch = now  # from this lower rate, back up to the new limit in K s
                self._last_update = now
            self._to_steady(now)
        self._new_round(now)

    def _look_lower(self, now: float) -> None:
        """Pace at what got through this round (a little under it) and measure again."""
        self._probe_share = self._round_throttled / self._round_total
        self._probe_total = self._round_total
        self._probe_rate = self._rate
        # Answers through a second during the round, whoever's call they answer: while the
        # platform's bucket is empty that is what the limit lets by (the probe's own calls get
        # less of it: calls sent before the back-off are still arriving beside them).
        self._probe_through = self._round_through / max(1e-3, now - self._round_start)
        self._rate = max(self.min_rate, self.beta * self._rate * (1 - self._probe_share))
        self._phase = _LOWER
        self._settle(now)
        self._log_rate(now)

    def _to_steady(self, now: float) -> None:
        self._phase = _STEADY
        self._steady_since = now

    def _dropped(self) -> bool:
        """Did the share of 429s fall when the rate fell from the first probe to this one?
        If it did, they were the pace's; if not, they come whatever the pace."""
        n1, s1 = self._probe_total, self._probe_share
        n2, s2 = self._round_total, self._round_throttled / self._round_total
        if s2 <= self.background():
            return True  # down to the background (or below): the excess went with the pace
        pooled = (s1 * n1 + s2 * n2) / (n1 + n2)
        spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        return s1 - s2 > _DROP_Z * spread + 1 / n1

    def background(self, now: float | None = None) -> float:
        """The share of answers throttled that the pacer does not blame on its own pace: the
        median of the last few probes (one probe that still caught an overshoot is an outlier,
        not a new normal), forgotten after ``background_memory`` seconds."""
        now = self._clock() if now is None else now
        while self._bg_samples and self._bg_samples[0][0] < now - self.background_memory:
            self._bg_samples.popleft()
        if not self._bg_samples:
            return 0.0
        return statistics.median(share for _, share in self._bg_samples)

    def _add_background(self, now: float) -> None:
        self._bg_samples.append((now, self._round_throttled / self._round_total))

    def _excessive(self, now: float, slack: float | None = None) -> bool:
        """More 429s in this round than the background explains."""
        n, k = self._round_total, self._round_throttled
        b = self.background(now)
        slack = self.slack if slack is None else slack
        return k - b * n > self.confidence * math.sqrt(n * b * (1.0 - b)) + slack

    def _goodput(self, now: float, span: float = 1.0) -> float:
        """Answers that got through per second over the last ``span`` s (or since the start)."""
        span = min(span, max(now - self._start, 1e-3))
        recent = sum(1 for t in self._ok_times if t >= now - span)
        return recent / span

    def _log_rate(self, now: float) -> None:
        """Keep the pacing rate's history for a few seconds, to know what a call was sent at."""
        if self._rate_times and now - self._rate_times[-1] < 0.01:
            self._rate_values[-1] = self._rate
        else:
            self._rate_times.append(now)
            self._rate_values.append(self._rate)
        horizon = now - max(10.0, 4 * (self._srtt or 0.0))
        while len(self._rate_times) > 1 and self._rate_times[1] < horizon:
            self._rate_times.popleft()
            self._rate_values.popleft()

    def _rate_at(self, when: float) -> float:
        i = bisect.bisect_right(self._rate_times, when) - 1
        return self._rate_values[max(0, i)]

    def _decrease(self, now: float, sent_at: float) -> None:
        self._saved = (self._rate, self._w_max, now - self._epoch)
        # The offending call was sent at a rate above the limit (or above this process's share
        # of it), and the rate in force now may be higher still: slow start doubles it every
        # round trip, and a token bucket hides an overshoot until its burst is spent. What got
        # through lately (less the background) is the better measure of what the limit lets
        # pass, once the pace has been left alone long enough for that to show.
        limit = min(self._rate, self._rate_at(sent_at))
        since = (
            self._steady_since
            if self._first_answer is None
            else max(self._steady_since, self._first_answer)
        )
        recent = max(0.25, self._srtt or 0.0)  # the ramp's end, not its start
        if now - since >= recent:
            passed = self._goodput(now, recent) / max(0.05, 1.0 - self.background(now))
            limit = min(limit, max(passed, self.min_rate))
        self._w_max = max(self.min_rate, limit)
        self._rate = max(self.min_rate, self.beta * self._w_max)
        self._epoch = now
        self._last_update = now
        self._phase = _AFTER_DECREASE
        self._decreases += 1
        self._met_limit = True
        log.debug(
            "%.2f back off: %d of %d throttled (background %.1f%%); rate %.0f -> %.0f/s",
            now - self._start,
            self._round_throttled,
            self._round_total,
            100 * self.background(now),
            self._saved[0],
            self._rate,
        )
        self._settle(now)
        self._log_rate(now)

    def _settle(self, now: float) -> None:
        """Judge only calls sent from a while on: other processes on the merchant see the same
        overshoot and back off within a round trip or two, and the probe must not count them."""
        self._settled_at = now + max(0.1, _SETTLE_RTTS * (self._srtt or 0.0))
        self._new_round(now)

    def _restore(self, now: float) -> None:
        rate, w_max, since = self._saved
        self._rate, self._w_max, self._epoch = rate, w_max, now - since
        self._met_limit = self._met_limit and w_max is not None
        self._last_update = now
        self._log_rate(now)

    def _cubic_k(self) -> float:
        return ((1.0 - self.beta) / self.cubic) ** (1.0 / 3.0)

    def _keeping_pace(self, now: float) -> bool:
        """Did calls leave at the pace set, lately? Not when the process cannot keep up (CPU,
        the interpreter's lock): then a higher pace would be a number, not more calls."""
        window = 0.25
        while self._sent_times and self._sent_times[0] < now - window:
            self._sent_times.popleft()
        if now - self._start < 2 * window:
            return True
        return len(self._sent_times) >= 0.8 * window * self._rate_at(now - window / 2)

    def _grow(self, now: float) -> None:
        dt = now - self._last_update
        self._last_update = now
        limited = now - self._last_limited < max(0.2, 2 * (self._srtt or 0.0))
        if limited and not self._keeping_pace(now):
            limited = False  # calls wait for the pacer, yet leave slower than it paces them
        if not limited or self._phase in (_AFTER_DECREASE, _LOWER):
            # Application-limited, or holding still while a probe measures: pause the growth
            # curve, so an idle spell is not a burst and a probe sees one rate.
            self._epoch += dt
            return
        # Never far past what actually got through lately: growth follows evidence.
        recent = max(0.25, 0.5 * (self._srtt or 0.0))
        through = self._goodput(now, recent) / max(0.05, 1.0 - self.background(now))
        ceiling = min(self.max_rate, max(self._initial_rate, _GAIN * through))
        remembered = None if self._met_limit else self._w_max
        if remembered is not None and self._rate > _RESUME_SLACK * remembered:
            self._w_max = None  # resumed from a limit that has since risen: search as at first
        if self._w_max is None:  # slow start: double every round trip (0.1 s to 0.5 s)
            period = min(0.5, max(0.1, self._srtt or 0.1))
            self._rate = min(ceiling, max(self._rate, self._rate * 2.0 ** (dt / period)))
        else:
            k = self._cubic_k()
            t = now - self._epoch
            target = self._w_max * (1.0 + self.cubic * (t - k) ** 3)
            self._rate = max(self.min_rate, min(ceiling, target))
        self._log_rate(now)

    # ------------------------------------------------------------------ memory across runs

    def resume(self, limit: float | None) -> None:
        """Start from the limit a previous run met (the store keeps it): pace just under it and
        grow toward it as after a back-off, instead of a slow start from ``initial_rate``.

        A slow start at the live host's latency spends its first seconds below the limit and ends
        in one overshoot (a token bucket hides it for a round trip or more): on a run of a few
        thousand ids that is most of what the run loses. A rerun need not pay it again. Ignored
        once calls have been paced: then this run knows better. If the limit has risen since,
        the growth beyond it finds the new one; if it has fallen, the first round backs off.
        """
        if limit is None or not math.isfinite(limit) or limit <= 0:
            return
        with self._state_lock:
            if self._sent:
                return
            now = self._clock()
            self._w_max = min(self.max_rate, max(self.min_rate, float(limit)))
            self._rate = max(self.min_rate, self.beta * self._w_max)
            self._epoch = self._last_update = now
            self._saved = (self._rate, self._w_max, 0.0)  # where a false alarm returns to
            self._log_rate(now)

    def learned_limit(self) -> float | None:
        """The limit this run met (in calls a second sent), for the next run to resume from;
        ``None`` when it never met one (a short run, or a limit above what it needed)."""
        with self._state_lock:
            return self._w_max if self._met_limit else None

    def stats(self) -> ThrottleStats:
        with self._state_lock:
            return ThrottleStats(
                rate=self._rate,
                limit_estimate=self._w_max,
                sent=self._sent,
                throttled=self._throttled,
                answered=self._answered,
                decreases=self._decreases,
                background=self.background(),
                sending=(self._last_sent or 0.0) - (self._first_sent or 0.0),
            )

    def __repr__(self) -> str:
        return (
            f"AdaptiveRate(rate={self._rate:.1f}/s, limit_estimate={self._w_max}, "
            f"background={self.background():.1%})"
        )
