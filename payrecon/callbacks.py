"""The callback receiver: the platform says "this payout changed", we record it and ask for it.

The platform POSTs ``{"idEntity": "<Merchant Order ID>"}`` to a payout's ``callbackUrl`` on every
status change (platform-api.md §5.1). The body carries no status and no signature, so the only
truth is the authenticated ``GET /payouts/{id}`` that follows. The platform counts exactly 200 as
delivered and retries anything else 4 more times, 2 minutes apart.

So the receiver

1. commits the callback to the store, then answers 200 at once (before any fetch: the platform
   is not kept waiting; and a callback is never acknowledged before it is on disk),
2. hands the id to a small pool of worker threads that fetch the detail through the
   :class:`~payrecon.client.Client` and record it (the status change is attributed to the
   callback). An id already waiting is not queued twice; one whose fetch is running when a new
   callback comes is fetched once more after it, since the new callback may announce a change
   the running fetch did not see;
3. answers 400 to a body that is not JSON or whose ``idEntity`` breaks the id rule (recorded with
   the reason, logged, never a crash), 413 to an oversized body, and 503 when the queue is full or
   the store cannot be written (the platform will retry), and 200 to any ``GET`` (health checks).

Any path is accepted, since the registered ``callbackUrl`` may name any. Callbacks recorded but not
yet fetched when the receiver stops are fetched when it starts again
(:meth:`~payrecon.store.Store.pending_callback_ids`).

Examples
--------
>>> with run_receiver(store, client, port=0) as receiver:      # doctest: +SKIP
...     receiver.url                  # register this (or your public URL) as callbackUrl
"""

from __future__ import annotations

import asyncio
import logging
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from aiohttp import web

from payrecon.aiothread import ServedApp, serve
from payrecon.errors import (
    APIError,
    CredentialsError,
    PayoutNotFound,
    PayreconError,
    PlatformError,
    TransportError,
)
from payrecon.platform import is_valid_id
from payrecon.records import FetchOutcome, PayoutDetail, loads
from payrecon.store import Store, now_utc

log = logging.getLogger("payrecon.callbacks")

#: A callback body is ``{"idEntity": "..."}``; anything much larger is not one.
MAX_BODY: Final = 64 * 1024
#: How much of a refused body is kept in the store (enough to see what was sent).
KEPT_REFUSED_BODY: Final = 4096


class PayoutFetcher(Protocol):
    """What the receiver needs of a client: one payout's detail (``PayoutNotFound`` on 410)."""

    def get_payout(self, id_payout: str) -> PayoutDetail: ...


def parse_callback(body: bytes) -> tuple[str | None, str]:
    """The id a callback body names, or why it is refused: ``(id, "")`` or ``(None, reason)``.

    Fields other than ``idEntity`` are ignored: the schema does not forbid them (§5.1).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not_utf8"
    try:
        data = loads(text)
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
class ReceiverStats:
    """Counts since the receiver started."""

    received: int = 0  # POSTs answered, whatever the answer
    accepted: int = 0  # recorded and answered 200
    refused: int = 0  # answered 4xx
    unavailable: int = 0  # answered 503 (queue full, store not writable)
    coalesced: int = 0  # callbacks whose id was already waiting to be fetched
    fetched: int = 0  # details fetched and recorded
    fetch_failures: int = 0  # fetches that failed after every attempt (error recorded)


def _error_word(exc: BaseException) -> str:
    if isinstance(exc, APIError):
        return f"http_{exc.status}"
    if isinstance(exc, TransportError):
        return "unreachable"
    if isinstance(exc, CredentialsError):
        return "credentials_refused"
    return type(exc).__name__


class CallbackReceiver:
    """An HTTP listener for callbacks plus the workers that fetch what they announce.

    Parameters
    ----------
    store
        Where callbacks and the fetched details are recorded (shared safely across threads).
    client
        Fetches a payout's detail: a :class:`payrecon.client.Client` (thread-safe).
    host, port
        Where to listen; port 0 picks a free one (see :attr:`url`). Keep the default loopback
        host behind a reverse proxy; listen on ``0.0.0.0`` only when the platform must reach
        this process directly.
    workers
        Fetches run at once.
    queue_size
        Distinct ids that may wait to be fetched; beyond it callbacks get 503 and are retried.
    fetch_attempts, retry_delay
        A fetch that fails (5xx, unreachable, ...) is tried again this many times in all, the
        delay doubling; then the error is recorded as the payout's last error.
    resume
        On start, queue the ids whose callbacks were recorded after their last fetch.
    """

    def __init__(
        self,
        store: Store,
        client: PayoutFetcher,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        workers: int = 4,
        queue_size: int = 10_000,
        fetch_attempts: int = 3,
        retry_delay: float = 1.0,
        resume: bool = True,
    ) -> None:
        self.store = store
        self.client = client
        self.host = host
        self._want_port = port
        self._workers_n = max(1, workers)
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=max(1, queue_size))
        self._fetch_attempts = max(1, fetch_attempts)
        self._retry_delay = retry_delay
        self._resume = resume
        self._cv = threading.Condition()
        self._waiting: set[str] = set()  # queued, not started
        self._running: set[str] = set()  # being fetched
        self._again: set[str] = set()  # called back while being fetched: fetch once more
        self._counts: dict[str, int] = dict.fromkeys(ReceiverStats.__dataclass_fields__, 0)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._served: ServedApp | None = None

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

    def stats(self) -> ReceiverStats:
        with self._cv:
            return ReceiverStats(**self._counts)

    def _count(self, name: str, n: int = 1) -> None:
        with self._cv:
            self._counts[name] += n

    # -- queue -----------------------------------------------------------------------------

    def submit(self, id_payout: str) -> bool:
        """Ask for one payout to be fetched; False when the queue is full. Thread-safe."""
        with self._cv:
            if id_payout in self._waiting:
                self._counts["coalesced"] += 1
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
        """Block until no fetch is waiting or running; False if ``timeout`` passed first."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._waiting and not self._running, timeout)

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
                log.error("callback for %s: could not record its detail: %s", pid, exc)
            finally:
                with self._cv:
                    self._running.discard(pid)
                    again = pid in self._again
                    self._again.discard(pid)
                    self._cv.notify_all()
                if again and not self._stopping.is_set():
                    self.submit(pid)

    def _fetch_and_record(self, pid: str) -> None:
        outcome: FetchOutcome | None = None
        last: PayreconError | None = None
        for attempt in range(self._fetch_attempts):
            try:
                detail = self.client.get_payout(pid)
            except PayoutNotFound:
                outcome = FetchOutcome(pid, None, 410, "not_found")
                break
            except CredentialsError as exc:
                last = exc
                break
            except PlatformError as exc:
                last = exc
                if attempt + 1 < self._fetch_attempts and not self._stopping.wait(
                    self._retry_delay * 2**attempt
                ):
                    continue
                break
            else:
                outcome = FetchOutcome(pid, detail, 200)
                break
        if outcome is None:
            status = last.status if isinstance(last, APIError) else None
            word = _error_word(last) if last is not None else "error"
            log.warning("callback for %s: fetching its detail failed: %s", pid, last)
            outcome = FetchOutcome(pid, None, status, word)
            self._count("fetch_failures")
        else:
            self._count("fetched")
        self.store.record(outcome, source="callback")

    # -- HTTP ------------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/{tail:.*}", self._on_post)
        app.router.add_get("/{tail:.*}", self._on_get)
        return app

    async def _on_get(self, request: web.Request) -> web.Response:
        return web.Response(text="payrecon callback receiver: ok\n")

    async def _on_post(self, request: web.Request) -> web.Response:
        received = now_utc()
        remote = request.remote or ""
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.warning("callback from %s refused: body over %d bytes", remote, MAX_BODY)
            await self._keep_refused(received, "", remote, "too_large")
            return self._answer(413, "body too large\n", "refused")
        pid, reason = parse_callback(body)
        text = body.decode("utf-8", errors="replace")
        if pid is None:
            log.warning("callback from %s refused (%s): %r", remote, reason, text[:200])
            await self._keep_refused(received, text[:KEPT_REFUSED_BODY], remote, reason)
            return self._answer(400, f"{reason}\n", "refused")
        try:
            await asyncio.to_thread(self.store.record_callback, pid, received, text, remote)
        except PayreconError as exc:
            log.error("callback for %s not recorded (answered 503, will be retried): %s", pid, exc)
            return self._answer(503, "store unavailable\n", "unavailable")
        if not self.submit(pid):
            log.warning("callback for %s: fetch queue full (answered 503, will be retried)", pid)
            return self._answer(503, "busy\n", "unavailable")
        log.info("callback for %s from %s", pid, remote)
        return self._answer(200, "OK\n", "accepted")

    async def _keep_refused(self, received: datetime, text: str, remote: str, reason: str) -> None:
        try:
            await asyncio.to_thread(
                self.store.record_callback, None, received, text, remote, error=reason
            )
        except PayreconError as exc:
            log.error("refused callback not recorded: %s", exc)

    def _answer(self, status: int, text: str, counter: str) -> web.Response:
        with self._cv:
            self._counts["received"] += 1
            self._counts[counter] += 1
        return web.Response(status=status, text=text)

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> CallbackReceiver:
        """Start the workers, listen, then resume what the store left; returns once the port is
        open. A port that cannot be had fails here, before any call to the platform."""
        if self._served is not None:
            raise RuntimeError("the receiver is already running")
        self._stopping.clear()
        for n in range(self._workers_n):
            t = threading.Thread(target=self._work, name=f"payrecon-callback-{n}", daemon=True)
            t.start()
            self._threads.append(t)
        try:
            self._served = serve(self._app, self.host, self._want_port, name="payrecon-callbacks")
        except BaseException:
            self._stop_workers()
            raise
        if self._resume:
            pending = self.store.pending_callback_ids()
            if pending:
                log.info("resuming %d callback(s) recorded but not yet fetched", len(pending))
            for pid in pending:
                self.submit(pid)
        return self

    def stop(self, *, drain: float = 10.0) -> None:
        """Stop listening, give queued fetches up to ``drain`` seconds, then stop the workers.

        Fetches not done by then are not lost: their callbacks are in the store and are fetched
        when a receiver starts again on it.
        """
        served, self._served = self._served, None
        if served is not None:
            served.stop()
        if drain > 0:
            self.wait_idle(drain)
        self._stop_workers()

    def _stop_workers(self) -> None:
        self._stopping.set()
        with self._cv:  # forget what is still queued; the store remembers it
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            self._waiting.clear()
            self._cv.notify_all()
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=30)
        self._threads.clear()

    def __enter__(self) -> CallbackReceiver:
        if self._served is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def run_receiver(store: Store, client: PayoutFetcher, **kw: Any) -> Iterator[CallbackReceiver]:
    """A receiver listening for the duration of a ``with`` block (options: CallbackReceiver)."""
    receiver = CallbackReceiver(store, client, **kw).start()
    try:
        yield receiver
    finally:
        receiver.stop()


def serve_forever(
    store: Store,
    client: PayoutFetcher,
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
            log.info("stopping: %s", receiver.stats())
            stats = receiver.stats()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return stats


__all__ = [
    "CallbackReceiver",
    "PayoutFetcher",
    "ReceiverStats",
    "parse_callback",
    "run_receiver",
    "serve_forever",
]
