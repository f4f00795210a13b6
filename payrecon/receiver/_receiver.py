"""The callback receiver: the platform says "this payout changed"; payrecon checks and records.

The platform POSTs ``{"idEntity": "<Merchant Order ID>"}`` to a payout's ``callbackUrl`` on every
status change (platform-api.md §5.1). The body carries no status and no signature, and the URL is
reachable by anyone who learns it. So a callback is a **hint, never a fact**: an id becomes a
payout in the store only when the platform answers its ``GET /payouts/{id}`` with 200.

How a ``POST`` (on any path: the registered URL may name any) is handled:

1. its body is read within ``body_timeout`` and ``max_body`` bytes (the headers had
   ``header_timeout``; open connections are capped, see :mod:`payrecon.receiver._guard`); a body
   that is not JSON, too large or nested too deep, or whose ``idEntity`` breaks the id rule, is
   answered 4xx and kept in the store cut short, under a total cap
   (:mod:`payrecon.store._callbacks`);
2. a URL signed by payrecon (``payrecon_sig``, :mod:`payrecon.receiver._keys`) is checked: a right
   signature is trusted at once; a wrong one is refused (403) and logged;
3. anything not rightly signed counts against its sender's rate (``X-Forwarded-For`` is believed
   only from ``trusted_proxies``): past it, 429;
4. a signed id, or one the store already knows, is committed to the store, answered 200, and
   fetched **at once** by a small pool of workers (repeats of an id waiting to be fetched
   coalesce; one being fetched is fetched once more after it);
5. any other id is **parked** (:mod:`payrecon.receiver._confirm`), answered 200 (503 when the
   parking area is full, so a real callback is retried by the platform), and confirmed later in
   batches, one token per batch, within a small budget of platform calls. Confirmed: recorded as
   a payout and its callback. Rejected (410, or a failed fetch): kept as a rejected callback with
   the fetch's error word, never as a payout.

Fetches go through the client's one retry loop, once (:func:`payrecon.client._fetch.fetch_few`), and
failures are stored with the words a bulk fetch writes (``server_error``, ``transport_error``...),
so the store reads the same whichever path wrote it. What was parked, coalesced, dropped, limited
or refused is counted: :meth:`CallbackReceiver.stats`, a log line every ``log_interval`` seconds,
and lifetime totals in the store (``payrecon callbacks --stats``). ``GET`` on any path answers 200
(health checks). SIGTERM stops it within seconds; callbacks recorded but not fetched, and parked
ids, are taken up again when a receiver next starts on the store.

Examples
--------
>>> with run_receiver(store, client, port=0) as receiver:      # doctest: +SKIP
...     receiver.url                  # register this (or your public URL) as callbackUrl
"""

from __future__ import annotations

import asyncio
import logging
import queue
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

from aiohttp import web

from payrecon._aiothread import ServedApp, serve
from payrecon.client.records import FetchOutcome, PayoutDetail, loads
from payrecon.errors import CredentialsError, PayreconError
from payrecon.platform import is_valid_id
from payrecon.receiver._confirm import Confirmer, ParkingArea
from payrecon.receiver._guard import (
    ConnectionGuard,
    QuietLog,
    SenderLimits,
    TokenBucket,
    client_address,
    descriptor_budget,
    parse_networks,
)
from payrecon.receiver._keys import SIG_PARAM, CallbackKey, key_for_store
from payrecon.store._callbacks import KEPT_BODY, CallbackBook, ParkedCallback, RefusedCallback
from payrecon.store._store import Store, now_utc

if TYPE_CHECKING:
    from payrecon.client._client import Client

log = logging.getLogger("payrecon.callbacks")
#: The periodic counts line; ``payrecon callbacks`` shows it without ``-v``.
stats_log = logging.getLogger("payrecon.callbacks.stats")

#: A callback body is ``{"idEntity": "..."}``; anything much larger is not one.
MAX_BODY: Final = 64 * 1024
#: JSON nested deeper than this is refused before it is parsed.
MAX_DEPTH: Final = 32
#: Refused callbacks waiting to be written (beyond it they are only counted).
_REFUSED_QUEUE: Final = 2000
_JSON_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


class PayoutFetcher(Protocol):
    """What a story needs of a client: one payout's detail (``PayoutNotFound`` on 410)."""

    def get_payout(self, id_payout: str) -> PayoutDetail: ...


def _depth(text: str, limit: int) -> int:
    """How deep ``text``'s JSON arrays and objects nest (strings skipped); stops past ``limit``."""
    if text.count("[") + text.count("{") <= limit:
        return 0  # cannot nest deeper than it has containers: the common case, in C
    depth = 0
    for ch in re.findall(r"[\[\]{}]", _JSON_STRING.sub("", text)):
        depth += 1 if ch in "[{" else -1
        if depth > limit:
            return depth
    return 0


def parse_callback(body: bytes, *, max_depth: int = MAX_DEPTH) -> tuple[str | None, str]:
    """The id a callback body names, or why it is refused: ``(id, "")`` or ``(None, reason)``.

    Fields other than ``idEntity`` are ignored: the schema does not forbid them (§5.1). JSON
    nested deeper than ``max_depth`` is refused unparsed (``too_deep``).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not_utf8"
    if _depth(text, max_depth):
        return None, "too_deep"
    try:
        data = loads(text)
    except RecursionError:
        return None, "too_deep"
    except ValueError:
        return None, "not_json"
    if not isinstance(data, dict):
        return None, "not_an_object"
    if "idEntity" not in data:
        return None, "no_idEntity"
    value = data["idEntity"]
    if not isinstance(value, str):
        return None, "idEntity_not_a_string"
    if not is_valid_id(value):
        return None, "idEntity_breaks_id_rule"
    return value, ""


@dataclass(frozen=True, slots=True)
class ReceiverLimits:
    """Every bound the receiver keeps; the defaults suit one merchant's callbacks on the internet.

    Attributes
    ----------
    max_body, max_depth
        Largest body in bytes (413 above), deepest JSON nesting (400 above).
    header_timeout, body_timeout
        Seconds a connection may take to send its request's headers (then it is closed), and
        then its body (408).
    max_connections
        Open connections at most (lowered to fit the process's descriptor limit); at the cap the
        oldest connection still sending its headers is closed to make room.
    sender_rate, sender_burst
        Requests a second per sender, and the burst, for anything not rightly signed (429 above).
    trusted_proxies
        Addresses or CIDR blocks of proxies whose ``X-Forwarded-For`` names the sender.
    park_capacity
        Unknown ids that may wait for confirmation (503 beyond: the platform retries).
    budget_rate, batch
        Platform calls a second spent confirming unknown ids, and ids per token (a batch costs
        ``batch + 1`` calls; the budget saves up at most one batch's worth). Once the client
        has found the platform's rate limit (from 429s), the budget is at most 5 % of it.
    refused_cap
        Bytes of refused and rejected callbacks the store keeps; the oldest go first.
    log_interval
        Seconds between counts lines in the log, and between repeats of one kind of warning.
    """

    max_body: int = MAX_BODY
    max_depth: int = MAX_DEPTH
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    max_connections: int = 512
    sender_rate: float = 20.0
    sender_burst: float = 100.0
    trusted_proxies: tuple[str, ...] = ()
    park_capacity: int = 10_000
    budget_rate: float = 2.0
    batch: int = 20
    refused_cap: int = 4 * 1024 * 1024
    log_interval: float = 60.0


@dataclass(frozen=True, slots=True)
class ReceiverStats:
    """Counts since the receiver started (lifetime totals are in the store)."""

    received: int = 0  # POSTs answered, whatever the answer
    accepted: int = 0  # answered 200
    signed: int = 0  # accepted with a right signature: fetched at once
    known: int = 0  # accepted for an id the store knows: fetched at once
    parked: int = 0  # accepted for an unknown id, waiting for confirmation
    coalesced: int = 0  # accepted for an id already waiting (or just rejected): no new work
    confirmed: int = 0  # parked ids the platform answered 200: now payouts
    rejected: int = 0  # ids the platform did not confirm (410, failed fetch): kept as rejected
    refused: int = 0  # answered 4xx for what was sent (bad body, bad signature, too large...)
    bad_signature: int = 0  # of which: a wrong signature
    limited: int = 0  # answered 429: the sender went over its rate
    dropped: int = 0  # answered 503: the parking area was full
    unavailable: int = 0  # answered 503: the store could not be written, or the queue was full
    fetched: int = 0  # details fetched at once and recorded
    fetch_failures: int = 0  # fetches at once that failed (error recorded)
    budget_calls: int = 0  # platform calls spent confirming unknown ids
    refused_unstored: int = 0  # refused callbacks only counted (writing fell behind)
    refused_trimmed: int = 0  # refused callbacks dropped from the store to stay under its cap
    connections_evicted: int = 0  # slow connections closed to make room for new ones
    connections_refused: int = 0  # connections closed at once: every slot busy
    header_timeouts: int = 0  # connections closed for not sending headers in time


COUNTERS: Final = tuple(f.name for f in fields(ReceiverStats))


class CallbackReceiver:
    """An HTTP listener for callbacks, the workers that fetch what they announce, and the lane
    that confirms unknown ids within a budget.

    Parameters
    ----------
    store
        Where callbacks and the fetched details are recorded (shared safely across threads).
    client
        The :class:`payrecon.client._client.Client` that fetches (thread-safe).
    host, port
        Where to listen; port 0 picks a free one (see :attr:`url`). Keep the default loopback
        host behind a reverse proxy; listen on ``0.0.0.0`` only when the platform must reach
        this process directly.
    workers
        Fetches of known and signed ids run at once.
    queue_size
        Distinct known ids that may wait to be fetched; beyond it callbacks get 503.
    limits
        Timeouts, caps, rates and the budget (:class:`ReceiverLimits`).
    callback_key
        The key signed callback URLs are checked with; default the one beside the store.
    resume
        On start, queue the ids whose callbacks were recorded after their last fetch, and the
        ids an earlier run left parked.
    """

    def __init__(
        self,
        store: Store,
        client: Client,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        workers: int = 4,
        queue_size: int = 10_000,
        limits: ReceiverLimits | None = None,
        callback_key: CallbackKey | None = None,
        resume: bool = True,
    ) -> None:
        self.store = store
        self.client = client
        self.host = host
        self.limits = limits or ReceiverLimits()
        self.key = callback_key
        self._want_port = port
        self._workers_n = max(1, workers)
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=max(1, queue_size))
        self._resume = resume
        self._cv = threading.Condition()
        self._waiting: set[str] = set()  # queued, not started
        self._running: set[str] = set()  # being fetched
        self._again: set[str] = set()  # called back while being fetched: fetch once more
        self._counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._unsaved: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._served: ServedApp | None = None
        self._book: CallbackBook | None = None
        self._quiet = QuietLog(log, self.limits.log_interval)
        self._trusted = parse_networks(self.limits.trusted_proxies)
        self._senders = SenderLimits(self.limits.sender_rate, self.limits.sender_burst)
        self._guard = ConnectionGuard(
            max_connections=descriptor_budget(self.limits.max_connections),
            header_timeout=self.limits.header_timeout,
            on_event=self._count,
        )
        self.parking = ParkingArea(self.limits.park_capacity)
        self.budget = TokenBucket(self.limits.budget_rate, self.limits.batch + 1)
        self._confirmer = Confirmer(
            self.parking,
            self.budget,
            self._fetch_batch,
            self._settle,
            batch=self.limits.batch,
            retries_per_failure=getattr(client, "max_retries", 0),
            count=self._count,
            platform_limit=self._platform_limit,
        )
        self._refused: deque[RefusedCallback] = deque()
        self._writer: ThreadPoolExecutor | None = None
        self._last_line: tuple[int, ...] = ()
        self._unquiet: Callable[[], None] | None = None

    # -- identity --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._served is None:
            raise RuntimeError("the receiver is not running")
        return self._served.port

    @property
    def url(self) -> str:
        """The local URL it listens on (register your public URL, if it is behind a proxy)."""
        return f"http://{self.host}:{self.port}/"

    @property
    def book(self) -> CallbackBook:
        if self._book is None:
            raise RuntimeError("the receiver is not running")
        return self._book

    def stats(self) -> ReceiverStats:
        with self._cv:
            return ReceiverStats(**self._counts)

    def _count(self, name: str, n: int = 1) -> None:
        with self._cv:
            self._counts[name] += n
            self._unsaved[name] += n

    # -- the lane of known and signed ids: fetched at once -------------------------------------

    def submit(self, id_payout: str) -> bool:
        """Ask for one payout to be fetched at once; False when the queue is full. Thread-safe."""
        with self._cv:
            if id_payout in self._waiting:
                self._counts["coalesced"] += 1
                self._unsaved["coalesced"] += 1
                return True
            if id_payout in self._running:
                self._again.add(id_payout)
                return True
            try:
                self._queue.put_nowait(id_payout)
            except queue.Full:
                return False
            self._waiting.add(id_payout)
            return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no fetch of a known or signed id is waiting or running."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._waiting and not self._running, timeout)

    def wait_settled(self, timeout: float = 60.0) -> bool:
        """Block until nothing waits at all: no fetch, no parked id (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.wait_idle(0.05) and not self.parking.busy():
                return True
            time.sleep(0.05)
        return False

    def _work(self) -> None:
        while True:
            pid = self._queue.get()
            if pid is None:
                return
            with self._cv:
                self._waiting.discard(pid)
                self._running.add(pid)
            try:
                self._fetch_and_record(pid)
            except Exception as exc:  # a worker must outlive any one payout's trouble
                if not self._stopping.is_set():
                    self._quiet.log(
                        logging.ERROR, "record", "callback for %s: not recorded: %s", pid, exc
                    )
            finally:
                with self._cv:
                    self._running.discard(pid)
                    again = pid in self._again
                    self._again.discard(pid)
                    self._cv.notify_all()
                if again and not self._stopping.is_set():
                    self.submit(pid)

    def _fetch_and_record(self, pid: str) -> None:
        from payrecon.client._fetch import INTERRUPTED, fetch_few

        try:
            outcome = fetch_few(self.client, [pid], stop=self._stopping)[0]
        except CredentialsError as exc:  # the callback stays pending: fetched on a later start
            self._count("fetch_failures")
            self._quiet.log(logging.ERROR, "credentials", "callback for %s: %s", pid, exc)
            return
        if outcome.error == INTERRUPTED:
            return
        if outcome.detail is None:
            self._count("fetch_failures")
            if outcome.http_status == 410 and not self.book.is_known(pid):
                # signed, yet the platform has no such payout: a rejected callback, no payout
                self.book.reject_accepted(pid, outcome.error)
                self._count("rejected")
                return
            self._quiet.log(
                logging.WARNING, "fetch", "callback for %s: fetch failed: %s", pid, outcome.error
            )
        else:
            self._count("fetched")
        self.store.record(outcome, source="callback")

    # -- the lane of unknown ids: parked, confirmed within the budget ------------------------

    def _fetch_batch(self, ids: list[str], stop: threading.Event) -> list[FetchOutcome]:
        from payrecon.client._fetch import fetch_few

        return fetch_few(self.client, ids, stop=stop)

    def _platform_limit(self) -> float | None:
        """The platform's rate limit, once the client's pacer has found it (from 429s)."""
        throttle = getattr(self.client, "throttle", None)
        return throttle.stats().limit_estimate if throttle is not None else None

    def _settle(self, parked: ParkedCallback, outcome: FetchOutcome) -> bool:
        return self.book.settle(parked, outcome)

    # -- HTTP ------------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=self.limits.max_body)
        app.router.add_post("/{tail:.*}", self._on_post)
        app.router.add_get("/{tail:.*}", self._on_get)
        return app

    async def _on_get(self, request: web.Request) -> web.Response:
        self._guard.handling(request.transport)
        return self._answer(200, "payrecon callback receiver: ok\n", None)

    async def _on_post(self, request: web.Request) -> web.Response:
        self._guard.handling(request.transport)
        received = now_utc()
        sender = client_address(
            request.remote or "", request.headers.get("X-Forwarded-For"), self._trusted
        )
        try:
            body = await asyncio.wait_for(request.read(), self.limits.body_timeout)
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(413, "too_large", received, "", sender)
        except TimeoutError:
            return self._refuse(408, "body_timeout", received, "", sender)
        text = body.decode("utf-8", errors="replace")
        pid, reason = parse_callback(body, max_depth=self.limits.max_depth)
        sig = request.query.get(SIG_PARAM)
        signed = pid is not None and sig is not None and self._key().verify(pid, sig)
        if not signed and not self._senders.allow(sender):
            self._quiet.log(
                logging.WARNING, "limited", "callbacks from %s over its rate: 429", sender
            )
            return self._answer(429, "too many requests\n", "limited")
        if pid is None:
            return self._refuse(400, reason, received, text, sender)
        if sig is not None and not signed:
            return self._refuse(403, "bad_signature", received, text, sender, pid)
        if signed or self.book.is_known(pid):
            return await self._accept_now(pid, received, text, sender, signed)
        verdict = self.parking.add(pid, received, sender, text[:KEPT_BODY])
        if verdict == "full":
            self._quiet.log(
                logging.WARNING, "full", "callback for %s: parking area full (503)", pid
            )
            return self._answer(503, "busy\n", "dropped")
        self._count(verdict)
        return self._answer(200, "OK\n", "accepted")

    async def _accept_now(
        self, pid: str, received: datetime, text: str, sender: str, signed: bool
    ) -> web.Response:
        """Commit the callback, then answer 200 and fetch the payout at once."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                self._writer, self.store.record_callback, pid, received, text, sender
            )
        except PayreconError as exc:
            self._quiet.log(
                logging.ERROR, "store", "callback for %s not recorded (503, retried): %s", pid, exc
            )
            return self._answer(503, "store unavailable\n", "unavailable")
        if not self.submit(pid):
            self._quiet.log(
                logging.WARNING, "queue", "callback for %s: fetch queue full (503)", pid
            )
            return self._answer(503, "busy\n", "unavailable")
        self._count("signed" if signed else "known")
        log.info("callback for %s from %s%s", pid, sender, " (signed)" if signed else "")
        return self._answer(200, "OK\n", "accepted")

    def _refuse(
        self,
        status: int,
        reason: str,
        received: datetime,
        text: str,
        sender: str,
        pid: str | None = None,
    ) -> web.Response:
        """Answer 4xx; the body is kept (cut short) by the housekeeping thread."""
        self._quiet.log(
            logging.WARNING,
            f"refused:{reason}",
            "callback from %s refused (%s): %r",
            sender,
            reason,
            text[:200],
        )
        with self._cv:
            if len(self._refused) < _REFUSED_QUEUE:
                self._refused.append(
                    RefusedCallback(received, text[:KEPT_BODY], sender, reason, pid)
                )
            else:
                self._counts["refused_unstored"] += 1
                self._unsaved["refused_unstored"] += 1
        if reason == "bad_signature":
            self._count("bad_signature")
        return self._answer(status, f"{reason}\n", "refused")

    def _answer(self, status: int, text: str, counter: str | None) -> web.Response:
        if counter is not None:
            with self._cv:
                self._counts["received"] += 1
                self._unsaved["received"] += 1
                self._counts[counter] += 1
                self._unsaved[counter] += 1
        response = web.Response(status=status, text=text)
        response.force_close()  # one request per connection: nothing idles on a descriptor
        return response

    def _key(self) -> CallbackKey:
        if self.key is None:
            self.key = key_for_store(self.store.path)
        return self.key

    # -- housekeeping: what is written in the background --------------------------------------

    def _housekeep(self) -> None:
        while not self._stopping.wait(1.0):
            self._flush()

    def _flush(self) -> None:
        """Write refused bodies, parked ids and counts; log the counts line when it is time."""
        book = self._book
        if book is None:
            return
        with self._cv:
            refused = list(self._refused)
            self._refused.clear()
        try:
            trimmed = book.keep_refused(refused)
            if trimmed:
                self._count("refused_trimmed", trimmed)
            book.keep_parked(*self.parking.changes())
        except PayreconError as exc:
            self._quiet.log(logging.ERROR, "flush", "callbacks: store not written: %s", exc)
        with self._cv:
            deltas, self._unsaved = self._unsaved, dict.fromkeys(COUNTERS, 0)
        try:
            book.add_counters(deltas)
        except PayreconError as exc:
            with self._cv:
                for k, v in deltas.items():
                    self._unsaved[k] += v
            self._quiet.log(logging.ERROR, "flush", "callbacks: counts not written: %s", exc)
        now = time.monotonic()
        if now - getattr(self, "_logged_at", 0.0) >= self.limits.log_interval:
            self._logged_at = now
            self.log_counts()

    def log_counts(self, *, force: bool = False) -> None:
        """The counts line (``payrecon.receiver._receiver.stats``), when anything changed since the
        last."""
        st = self.stats()
        line = tuple(getattr(st, n) for n in COUNTERS)
        if line == self._last_line and not force:
            return
        self._last_line = line
        stats_log.info(
            "callbacks: %d received, %d accepted (%d signed, %d known, %d parked, %d coalesced); "
            "%d confirmed, %d rejected; %d refused (%d bad signature), %d limited, %d dropped, "
            "%d unavailable; %d fetched at once, %d failed; %d platform calls on unknown ids; "
            "%d waiting; %d connections evicted, %d header timeouts",
            st.received,
            st.accepted,
            st.signed,
            st.known,
            st.parked,
            st.coalesced,
            st.confirmed,
            st.rejected,
            st.refused,
            st.bad_signature,
            st.limited,
            st.dropped,
            st.unavailable,
            st.fetched,
            st.fetch_failures,
            st.budget_calls,
            len(self.parking),
            st.connections_evicted,
            st.header_timeouts,
        )

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> CallbackReceiver:
        """Start the workers, listen, then resume what the store left; returns once the port is
        open. A port that cannot be had fails here, before any call to the platform."""
        if self._served is not None:
            raise RuntimeError("the receiver is already running")
        self._stopping.clear()
        self._book = CallbackBook(self.store, refused_cap=self.limits.refused_cap)
        self._key()
        self._writer = ThreadPoolExecutor(2, thread_name_prefix="payrecon-callback-write")
        for n in range(self._workers_n):
            t = threading.Thread(target=self._work, name=f"payrecon-callback-{n}", daemon=True)
            t.start()
            self._threads.append(t)
        self._unquiet = self._quiet.install("aiohttp.server", "aiohttp.web", "asyncio")
        try:
            self._served = serve(
                self._app,
                self.host,
                self._want_port,
                name="payrecon-callbacks",
                wrap_protocol=self._guard.wrap,
                exception_handler=self._quiet.loop_exception_handler,
                shutdown_timeout=1.0,
            )
        except BaseException:
            self._stop_workers(1.0)
            raise
        if self._resume:
            pending = self.store.pending_callback_ids()
            parked = self._book.parked(self.limits.park_capacity)
            if pending or parked:
                log.info(
                    "resuming %d callback(s) not yet fetched and %d parked id(s)",
                    len(pending),
                    len(parked),
                )
            for pid in pending:
                self.submit(pid)
            self.parking.restore(parked)
        self._confirmer.start()
        keeper = threading.Thread(
            target=self._housekeep, name="payrecon-callback-keep", daemon=True
        )
        keeper.start()
        self._threads.append(keeper)
        return self

    def stop(self, *, drain: float = 3.0) -> None:
        """Stop listening, give fetches already queued up to ``drain`` seconds, then stop.

        Nothing is lost: callbacks recorded but not fetched, and parked ids, are in the store and
        taken up when a receiver starts again on it.
        """
        served, self._served = self._served, None
        if served is not None:

            async def shutdown(runner: web.AppRunner) -> None:
                self._guard.abort_all()
                await runner.cleanup()

            served.stop(shutdown)
        if drain > 0:
            self.wait_idle(drain)
        self._stop_workers(2.0)

    def _stop_workers(self, grace: float) -> None:
        self._stopping.set()
        self._confirmer.close(grace)
        with self._cv:  # forget what is still queued; the store remembers it
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            self._waiting.clear()
            self._cv.notify_all()
        for t in self._threads:
            if t.name.startswith("payrecon-callback-") and t.name[-1].isdigit():
                self._queue.put(None)
        deadline = time.monotonic() + grace
        for t in self._threads:
            t.join(timeout=max(0.1, deadline - time.monotonic()))
        self._threads.clear()
        if self._writer is not None:
            self._writer.shutdown(wait=False)
        self._flush()
        self.log_counts(force=True)
        if self._book is not None:
            self._book.close()
        if self._unquiet is not None:
            self._unquiet()
            self._unquiet = None

    def __enter__(self) -> CallbackReceiver:
        if self._served is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def run_receiver(store: Store, client: Client, **kw: Any) -> Iterator[CallbackReceiver]:
    """A receiver listening for the duration of a ``with`` block (options: CallbackReceiver)."""
    receiver = CallbackReceiver(store, client, **kw).start()
    try:
        yield receiver
    finally:
        receiver.stop()


def serve_forever(
    store: Store,
    client: Client,
    *,
    on_ready: Callable[[CallbackReceiver], None] | None = None,
    **kw: Any,
) -> ReceiverStats:
    """Run a receiver until SIGINT or SIGTERM (the ``payrecon callbacks`` command)."""
    done = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with run_receiver(store, client, **kw) as receiver:
            if on_ready is not None:
                on_ready(receiver)
            while not done.wait(0.5):
                pass
            log.info("stopping")
        stats = receiver.stats()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return stats


__all__ = [
    "COUNTERS",
    "CallbackReceiver",
    "PayoutFetcher",
    "ReceiverLimits",
    "ReceiverStats",
    "parse_callback",
    "run_receiver",
    "serve_forever",
]
