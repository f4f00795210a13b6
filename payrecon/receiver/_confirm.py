"""Unknown callbacks: parked in a bounded area, confirmed in batches within a budget of calls.

A callback for an id payrecon does not know, with no signature, may be a real payout created
elsewhere (the back-office) or a stranger's forgery; only the platform can tell. Asking it costs
platform calls, and a stranger can send callbacks far faster than the merchant's rate limit, so:

* the id waits in a :class:`ParkingArea` of bounded size; repeats of a waiting id, or of one the
  platform just rejected, are coalesced (no call, no row); when the area is full the callback is
  answered 503 and the platform, if it was real, retries later (§5.1: 4 more times, 2 minutes
  apart);
* one :class:`Confirmer` thread takes waiting ids in batches and asks for each batch under *one*
  token naming only those ids' ``GET /payouts/{id}`` (:func:`payrecon.client._fetch.fetch_few`),
  spending
  at most a :class:`~payrecon.receiver._guard.TokenBucket` of platform calls: by default 2 calls a
  second (a small share of any platform's limit), a batch costing one token request plus one GET
  per id. Calls retried by the client (5xx, 429, no answer) are charged afterwards;
* known and signed ids never wait here: the receiver fetches them at once, apart from this lane.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Final

from payrecon.client.records import FetchOutcome
from payrecon.errors import CredentialsError
from payrecon.receiver._guard import TokenBucket
from payrecon.store._callbacks import ParkedCallback

log = logging.getLogger("payrecon.callbacks")

#: Error words of outcomes whose call the client retried until it gave up (each retry a call).
RETRIED_WORDS: Final = frozenset({"server_error", "rate_limited", "transport_error"})


class ParkingArea:
    """Unknown ids waiting for confirmation, oldest first, at most ``capacity``. Thread-safe.

    ``recheck_after``: an id the platform rejected is not asked about again for this long; its
    callbacks meanwhile are coalesced.
    """

    def __init__(self, capacity: int, *, recheck_after: float = 600.0) -> None:
        self.capacity = max(1, capacity)
        self.recheck_after = recheck_after
        self._items: OrderedDict[str, ParkedCallback] = OrderedDict()
        self._asking: set[str] = set()
        self._rejected: OrderedDict[str, float] = OrderedDict()
        self._dirty: set[str] = set()
        self._gone: set[str] = set()
        self._cv = threading.Condition()

    def __len__(self) -> int:
        with self._cv:
            return len(self._items)

    def add(self, id_payout: str, when: datetime, remote: str, body: str = "") -> str:
        """Park a callback: ``"parked"``, ``"coalesced"`` (already waiting, being asked about, or
        just rejected) or ``"full"`` (no room: answer 503)."""
        with self._cv:
            item = self._items.get(id_payout)
            if item is not None:
                self._items[id_payout] = replace(item, last_at=when, repeats=item.repeats + 1)
                self._dirty.add(id_payout)
                return "coalesced"
            if id_payout in self._asking or self._recently_rejected(id_payout):
                return "coalesced"
            if len(self._items) >= self.capacity:
                return "full"
            self._items[id_payout] = ParkedCallback(id_payout, when, when, 1, remote, body)
            self._dirty.add(id_payout)
            self._gone.discard(id_payout)
            self._cv.notify_all()
            return "parked"

    def restore(self, parked: list[ParkedCallback]) -> None:
        """Put back what an earlier run left parked (already in the store)."""
        with self._cv:
            for p in parked[: self.capacity - len(self._items)]:
                self._items.setdefault(p.id_payout, p)
            self._cv.notify_all()

    def _recently_rejected(self, id_payout: str) -> bool:
        at = self._rejected.get(id_payout)
        if at is None:
            return False
        if time.monotonic() - at > self.recheck_after:
            del self._rejected[id_payout]
            return False
        return True

    def take(self, n: int) -> list[ParkedCallback]:
        """The ``n`` oldest waiting ids, now being asked about."""
        with self._cv:
            out: list[ParkedCallback] = []
            while self._items and len(out) < n:
                _, item = self._items.popitem(last=False)
                self._asking.add(item.id_payout)
                out.append(item)
            return out

    def done(self, item: ParkedCallback, *, rejected: bool) -> None:
        """The platform answered about ``item`` (the store already holds the outcome)."""
        with self._cv:
            self._asking.discard(item.id_payout)
            self._gone.add(item.id_payout)  # a flush racing with the answer must not revive it
            if rejected:
                self._rejected[item.id_payout] = time.monotonic()
                while len(self._rejected) > 10 * self.capacity:
                    self._rejected.popitem(last=False)

    def put_back(self, items: list[ParkedCallback]) -> None:
        """Items taken but not asked about (the run stopped, credentials refused): waiting again."""
        with self._cv:
            for item in reversed(items):
                self._asking.discard(item.id_payout)
                self._items[item.id_payout] = item
                self._items.move_to_end(item.id_payout, last=False)
                self._dirty.add(item.id_payout)
            self._cv.notify_all()

    def changes(self) -> tuple[list[ParkedCallback], list[str]]:
        """What to write to the store since the last call: (new or updated, no longer waiting)."""
        with self._cv:
            ups = [self._items[i] for i in self._dirty if i in self._items]
            gone = [i for i in self._gone if i not in self._items]
            self._dirty.clear()
            self._gone.clear()
            return ups, gone

    def oldest_wait(self) -> float:
        """Seconds the oldest waiting id has waited (0 when none waits)."""
        with self._cv:
            if not self._items:
                return 0.0
            first = next(iter(self._items.values()))
        return max(0.0, (datetime.now(first.first_at.tzinfo) - first.first_at).total_seconds())

    def busy(self) -> bool:
        """Whether an id waits or is being asked about."""
        with self._cv:
            return bool(self._items or self._asking)

    def wait(self, timeout: float) -> None:
        """Sleep until something is parked, or ``timeout`` passes."""
        with self._cv:
            if not self._items:
                self._cv.wait(timeout)

    def wake(self) -> None:
        with self._cv:
            self._cv.notify_all()


#: ``fetch(ids, stop) -> outcomes``: one token for the batch (payrecon.client._fetch.fetch_few).
BatchFetch = Callable[[list[str], threading.Event], list[FetchOutcome]]
#: ``settle(parked, outcome) -> confirmed``: record what the platform said (the store).
Settle = Callable[[ParkedCallback, FetchOutcome], bool]


class Confirmer:
    """The thread that asks the platform about parked ids, a batch at a time, within budget.

    Parameters
    ----------
    area
        Where ids wait.
    budget
        Platform calls it may spend (a token request and a GET per id in each batch).
    batch
        Ids asked for under one token at most.
    gather
        Seconds to let a batch fill before asking for fewer ids.
    retries_per_failure
        Calls charged for an id whose fetch failed after the client's retries (its
        ``max_retries``): what those retries cost.
    platform_limit, share
        The platform's rate limit as the client has estimated it from 429s (``None`` until
        then): the budget is then at most ``share`` of it, whatever ``budget.rate`` says.
    count
        ``count(name, n)``: the receiver's counters.
    """

    def __init__(
        self,
        area: ParkingArea,
        budget: TokenBucket,
        fetch: BatchFetch,
        settle: Settle,
        *,
        batch: int = 20,
        gather: float = 1.0,
        retries_per_failure: int = 0,
        count: Callable[[str, int], None] = lambda _name, _n: None,
        platform_limit: Callable[[], float | None] = lambda: None,
        share: float = 0.05,
    ) -> None:
        self.area, self.budget, self.fetch, self.settle = area, budget, fetch, settle
        self.rate = budget.rate
        self.platform_limit, self.share = platform_limit, share
        self.batch = max(1, min(batch, int(budget.burst) - 1)) if budget.burst >= 2 else 1
        self.gather = gather
        self.retries_per_failure = retries_per_failure
        self.count = count
        self.stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.stop.clear()
        self._thread = threading.Thread(target=self._run, name="payrecon-confirm", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self.stop.set()
        self.area.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self._step()
            except Exception as exc:  # the lane must outlive any one batch's trouble
                if self.stop.is_set():
                    return  # stopping: the store may be closed; parked ids are kept
                log.error("confirming parked callbacks failed: %s", exc)
                self.stop.wait(5.0)

    def _step(self) -> None:
        waiting = len(self.area)
        if not waiting:
            self.area.wait(0.5)
            return
        if waiting < self.batch and self.area.oldest_wait() < self.gather:
            self.stop.wait(min(0.2, self.gather))
            return
        limit = self.platform_limit()  # once the client has met the platform's rate limit
        if limit:
            self.budget.rate = max(0.05, min(self.rate, self.share * limit))
        n = min(waiting, self.batch)
        pause = self.budget.wait_for(n + 1)
        if pause > 0:
            self.stop.wait(min(pause, 1.0))
            return
        items = self.area.take(n)
        if not items:
            return
        cost = len(items) + 1
        self.budget.spend(cost)
        try:
            outcomes = self.fetch([p.id_payout for p in items], self.stop)
        except CredentialsError as exc:
            self.area.put_back(items)
            self.count("budget_calls", 1)
            log.error(
                "parked callbacks not confirmed, the platform refused the credentials: %s", exc
            )
            self.stop.wait(30.0)
            return
        retried = sum(o.error in RETRIED_WORDS for o in outcomes) * self.retries_per_failure
        if retried:
            self.budget.spend(retried)
        self.count("budget_calls", cost + retried)
        stopped = []
        for item, outcome in zip(items, outcomes, strict=True):
            if outcome.error == "interrupted":
                stopped.append(item)
                continue
            confirmed = self.settle(item, outcome)
            self.area.done(item, rejected=not confirmed)
            self.count("confirmed" if confirmed else "rejected", 1)
        if stopped:
            self.area.put_back(stopped)


__all__ = ["RETRIED_WORDS", "Confirmer", "ParkingArea"]
