"""The bulk fetch engine: many ids, one outcome each, fast and never losing one.

How a run goes (:class:`BulkFetch`):

1. ids are de-duplicated in first-seen order; an id that breaks the platform's id rule becomes an
   ``invalid_id`` outcome and is never sent (it would go into a URL path and a token);
2. with a sink (the store) and no ``refresh``, ids the sink knows in a final status become
   outcomes with ``from_store=True`` and ``http_status`` 200 (the status of the answer the stored
   detail came from), without any request;
3. the rest is cut into batches of ``ops_per_token`` ids. A small pool mints each batch's token
   (``GET /payouts/{id}`` for exactly those ids) *ahead* of need, so token requests never
   serialise the run; several may be in flight;
4. GETs go through the client's retry loop and its adaptive pacer
(:mod:`payrecon.client._throttle`),
   each on a thread of its own. How many are in flight is not a fixed pool: a new one starts
   whenever fewer than a few (:func:`queue_target`) are waiting for the pacer, so the pacer is
   never starved and the calls in flight settle at rate x time per call (Little's law), the
   time per call counting latency, its tail and the waits a 429 asks for. At 300 calls a second
   that is about 6 in flight at 20 ms a call and 250 at the live host's 0.66 s.
   ``client.concurrency`` only caps it (memory: about 70 KB a call in flight). A token about to
   lapse, or answered 401, is renewed for the batch's ids still pending;
5. the calling thread collects outcomes as they arrive, hands each to ``sink.record`` and moves
   the progress bar (``tqdm.auto``: a widget in Jupyter, a bar in a terminal, nothing otherwise).

Per-id failures become outcomes (``not_found`` for 410, ``server_error``, ``transport_error``, ...),
never exceptions. Only what stops the whole run raises: refused credentials
(:class:`~payrecon.errors.CredentialsError`), or a token endpoint that cannot be reached or
answers nonsense. The exception then carries ``.outcomes``, the full list so far (ids not fetched
marked ``interrupted``), so a caller can still save them.

Ctrl-C (KeyboardInterrupt in the calling thread) stops sending, waits a moment for calls in flight,
and *returns* the outcomes: every id not answered is an ``interrupted`` row, so nothing is lost
and the caller (a notebook, the CLI) saves what was fetched.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any

from payrecon.client._auth import TokenSet
from payrecon.client._client import Stopped, error_word
from payrecon.client.records import FetchOutcome, OutcomeSink, PaceMemory
from payrecon.errors import (
    APIError,
    BadResponse,
    PlatformError,
    TokenRequestRejected,
    TransportError,
)
from payrecon.platform import is_valid_id, payout_operation

if TYPE_CHECKING:
    from payrecon.client._client import Client

log = logging.getLogger("payrecon.fetch")

INVALID_ID = "invalid_id"
INTERRUPTED = "interrupted"
#: Seconds to wait for calls in flight after Ctrl-C before giving up on them.
INTERRUPT_GRACE = 2.0


def queue_target(rate: float) -> int:
    """Calls to keep waiting for the pacer: a tenth of a second of its rate, at least 16.

    Enough that the pacer always has a call to send when a slot comes up (the thread that
    admits new calls wakes on each answer, or every quarter second), few enough that calls do
    not sit ready for long with tokens ageing.
    """
    return max(16, int(rate * 0.1))


def normalise_id(raw: object) -> tuple[str, bool]:
    """``(the id as text, whether it may be sent)``. Ints are accepted as their digits (a CSV
    column read as numbers); anything else that is not a string is shown as text and invalid."""
    if isinstance(raw, str):
        return raw, is_valid_id(raw)
    if isinstance(raw, int) and not isinstance(raw, bool):
        text = str(raw)
        return text, is_valid_id(text)
    return str(raw), False


def unique_ids(ids: Iterable[object]) -> tuple[list[str], list[str]]:
    """``(every unique id in first-seen order, the valid ones in the same order)``."""
    order: list[str] = []
    valid: list[str] = []
    seen: set[str] = set()
    for raw in ids:
        key, ok = normalise_id(raw)
        if key in seen:
            continue
        seen.add(key)
        order.append(key)
        if ok:
            valid.append(key)
    return order, valid


def interactive() -> bool:
    """True in a Jupyter kernel or when stderr is a terminal: where a progress bar helps."""
    shell = sys.modules.get("IPython")
    if shell is not None:
        try:
            ip = shell.get_ipython()
        except Exception:  # any failure means "not in a notebook"
            ip = None
        if ip is not None and type(ip).__name__ == "ZMQInteractiveShell":
            return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class _Flight:
    """A run's moving parts: ids without a token yet, tokens being minted (with their batch's
    size), ids ready with their token, calls in flight, and futures done (as they finish)."""

    queue: deque[str]
    minting: dict[Future[tuple[list[str], TokenSet]], int] = field(default_factory=dict)
    ready: deque[tuple[str, TokenSet]] = field(default_factory=deque)
    inflight: dict[Future[FetchOutcome | None], str] = field(default_factory=dict)
    finished: SimpleQueue[Future[Any]] = field(default_factory=SimpleQueue)

    def busy(self) -> bool:
        return bool(self.queue or self.minting or self.ready or self.inflight)


class BulkFetch:
    """One bulk fetch over a client. Use :meth:`Client.fetch`; this is the engine behind it."""

    def __init__(
        self,
        client: Client,
        *,
        sink: OutcomeSink | None = None,
        refresh: bool = False,
        progress: bool | None = None,
    ) -> None:
        self.client = client
        self.sink = sink
        self.refresh = refresh
        self.progress = interactive() if progress is None else progress
        self.stop = threading.Event()
        #: Most GETs in flight at once during the last run (a figure for benchmarks and logs).
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        self._unstarted = 0  # GETs handed to a thread that has not picked them up yet

    # ------------------------------------------------------------------ workers

    def _mint(self, ids: list[str]) -> tuple[list[str], TokenSet]:
        ops = [payout_operation("GET", i) for i in ids]
        return ids, TokenSet.issue(self.client.tokens, ops)

    def _fetch_one(self, id_payout: str, tokens: TokenSet) -> FetchOutcome | None:
        """One id's outcome; ``None`` when the run stopped before its answer came."""
        with self._lock:
            self._unstarted -= 1
        op = payout_operation("GET", id_payout)
        try:
            detail = self.client._get_detail(id_payout, tokens, self.stop)
            return FetchOutcome(id_payout, detail, 200)
        except Stopped:
            return None
        except TokenRequestRejected as exc:
            return FetchOutcome(id_payout, None, None, error_word(exc))
        except BadResponse as exc:  # that payout's row says so; the store keeps the body
            return FetchOutcome(id_payout, None, 200, error_word(exc), unreadable=exc.content)
        except APIError as exc:
            return FetchOutcome(id_payout, None, exc.status, error_word(exc))
        except TransportError:
            return FetchOutcome(id_payout, None, None, "transport_error")
        finally:
            tokens.done(op)

    # ------------------------------------------------------------------ the run

    def run(self, ids: Iterable[object]) -> list[FetchOutcome]:
        """Fetch every id; one outcome per unique id, in first-seen order."""
        order, valid = unique_ids(ids)
        outcomes: dict[str, FetchOutcome] = {
            i: FetchOutcome(i, None, None, INVALID_ID) for i in order
        }
        for i in valid:
            del outcomes[i]
        todo = valid
        if self.sink is not None and not self.refresh and todo:
            known = self.sink.known_final(todo)
            for i in todo:
                detail = known.get(i)
                if detail is not None:
                    outcomes[i] = FetchOutcome(i, detail, 200, from_store=True)
            todo = [i for i in todo if i not in outcomes]
        log.info(
            "fetch: %d ids, %d unique, %d invalid, %d from the store, %d to fetch",
            len(order),
            len(order),
            len(order) - len(valid),
            len(valid) - len(todo),
            len(todo),
        )
        if todo:
            memory = self.sink if isinstance(self.sink, PaceMemory) else None
            if memory is not None:
                self.client.throttle.resume(memory.learned_pace())
            try:
                self._run(todo, outcomes, done_before=len(order) - len(todo))
            except PlatformError as exc:
                self._mark_interrupted(todo, outcomes)
                exc.outcomes = [outcomes[i] for i in order]  # type: ignore[attr-defined]
                raise
            finally:
                learned = self.client.throttle.learned_limit()
                if memory is not None and learned is not None:
                    memory.remember_pace(learned)
        return [outcomes[i] for i in order]

    def _run(self, todo: list[str], outcomes: dict[str, FetchOutcome], done_before: int) -> None:
        from tqdm.auto import tqdm

        client = self.client
        flight = _Flight(deque(todo))
        mint_pool = ThreadPoolExecutor(client.token_workers, thread_name_prefix="payrecon-token")
        # Threads are made as calls need them (up to the cap) and reused after.
        get_pool = ThreadPoolExecutor(client.concurrency, thread_name_prefix="payrecon-get")
        bar = tqdm(
            total=done_before + len(todo),
            initial=done_before,
            disable=not self.progress,
            unit="id",
            desc="payouts",
            dynamic_ncols=True,
        )
        interrupted = False
        started = time.monotonic()
        reported = 0.0
        try:
            while flight.busy():
                target = queue_target(client.throttle.rate)
                self._mint_ahead(flight, mint_pool, target)
                self._start_calls(flight, get_pool, target)
                self.peak_in_flight = max(self.peak_in_flight, len(flight.inflight))
                self._take_finished(flight, outcomes, bar)
                reported = self._report_pace(flight, bar, reported)
        except KeyboardInterrupt:
            interrupted = True
            log.warning("interrupted: stopping; ids not fetched are marked %r", INTERRUPTED)
        except PlatformError:  # credentials refused, token endpoint unreachable: stop the run
            self._stop(get_pool, mint_pool, flight.inflight, outcomes, bar, grace=0.0)
            raise
        finally:
            if not interrupted and not self.stop.is_set():
                get_pool.shutdown(wait=True)
                mint_pool.shutdown(wait=True)
            bar.close()
        if interrupted:
            self._stop(get_pool, mint_pool, flight.inflight, outcomes, bar, grace=INTERRUPT_GRACE)
            self._mark_interrupted(todo, outcomes)
        log.info(
            "fetched %d ids in %.1fs (%s)", len(todo), time.monotonic() - started, client.throttle
        )

    def _mint_ahead(self, flight: _Flight, pool: ThreadPoolExecutor, target: int) -> None:
        """Tokens ahead of need: the ids of the next second or two, and a batch more, so no GET
        waits for its token."""
        tokens = self.client.tokens
        lookahead = max(len(flight.inflight), 2 * target) + 2 * tokens.max_operations
        ahead = len(flight.ready) + sum(flight.minting.values())
        while (
            flight.queue and len(flight.minting) < self.client.token_workers and ahead < lookahead
        ):
            chunk = [
                flight.queue.popleft() for _ in range(min(tokens.max_operations, len(flight.queue)))
            ]
            mint = pool.submit(self._mint, chunk)
            flight.minting[mint] = len(chunk)
            mint.add_done_callback(flight.finished.put)
            ahead += len(chunk)

    def _start_calls(self, flight: _Flight, pool: ThreadPoolExecutor, target: int) -> None:
        """A new call whenever few wait for the pacer: so in flight = rate x time per call."""
        while (
            flight.ready
            and len(flight.inflight) < self.client.concurrency
            and self._unstarted + self.client.throttle.waiting < target
        ):
            id_payout, tokens = flight.ready.popleft()
            with self._lock:
                self._unstarted += 1
            get = pool.submit(self._fetch_one, id_payout, tokens)
            flight.inflight[get] = id_payout
            get.add_done_callback(flight.finished.put)

    def _take_finished(self, flight: _Flight, outcomes: dict[str, FetchOutcome], bar: Any) -> None:
        """Tokens minted join the ready ids; answers become outcomes (and go to the sink)."""
        for fut in self._finished(flight.finished):
            if fut in flight.minting:
                del flight.minting[fut]
                chunk, tokens = fut.result()  # raises what stops the run
                flight.ready.extend((i, tokens) for i in chunk)
            elif fut in flight.inflight:
                self._collect(fut, flight.inflight.pop(fut), outcomes, bar)

    def _report_pace(self, flight: _Flight, bar: Any, reported: float) -> float:
        """The pace on the progress bar and in the debug log, twice a second at most."""
        now = time.monotonic()
        if now - reported <= 0.5:
            return reported
        pacer = self.client.throttle
        if self.progress:
            bar.set_postfix(rate=f"{pacer.rate:.0f}/s", refresh=False)
        log.debug(
            "pace %.0f/s, %d in flight, %d waiting, %s",
            pacer.rate,
            len(flight.inflight),
            pacer.waiting + self._unstarted,
            pacer.stats(),
        )
        return now

    @staticmethod
    def _finished(finished: SimpleQueue[Future[Any]]) -> list[Future[Any]]:
        """Futures done since the last look: waits for one (at most a twentieth of a second,
        so calls that left the pacer's queue are replaced soon), then takes all there are."""
        try:
            done = [finished.get(timeout=0.05)]
        except Empty:
            return []
        while True:
            try:
                done.append(finished.get_nowait())
            except Empty:
                return done

    def _collect(
        self,
        fut: Future[FetchOutcome | None],
        id_payout: str,
        outcomes: dict[str, FetchOutcome],
        bar: Any,
    ) -> None:
        outcome = fut.result()  # CredentialsError from a renewal stops the run
        if outcome is None:
            return
        # Kept first, then counted: if Ctrl-C or SIGTERM lands while the store writes, the id
        # is ``interrupted`` in the table, so the table never shows an answer the store lacks.
        if self.sink is not None:
            self.sink.record(outcome)
        outcomes[id_payout] = outcome
        bar.update(1)

    def _stop(
        self,
        get_pool: ThreadPoolExecutor,
        mint_pool: ThreadPoolExecutor,
        inflight: dict[Future[FetchOutcome | None], str],
        outcomes: dict[str, FetchOutcome],
        bar: Any,
        grace: float,
    ) -> None:
        """Stop sending; keep the answers of calls that finish within ``grace`` seconds."""
        self.stop.set()
        get_pool.shutdown(wait=False, cancel_futures=True)
        mint_pool.shutdown(wait=False, cancel_futures=True)
        if inflight and grace > 0:
            with contextlib.suppress(KeyboardInterrupt):
                wait(set(inflight), timeout=grace)
        for fut, id_payout in list(inflight.items()):
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self._collect(fut, id_payout, outcomes, bar)

    @staticmethod
    def _mark_interrupted(todo: list[str], outcomes: dict[str, FetchOutcome]) -> None:
        for i in todo:
            if i not in outcomes:
                outcomes[i] = FetchOutcome(i, None, None, INTERRUPTED)


def fetch_few(
    client: Client,
    ids: Iterable[str],
    *,
    stop: threading.Event | None = None,
    workers: int = 4,
) -> list[FetchOutcome]:
    """A few ids under one token naming exactly their ``GET /payouts/{id}``: one outcome each.

    What the callback receiver uses, so its answers carry the very error words a bulk fetch
    writes (``not_found``, ``server_error``, ``transport_error``, ...) and go through the client's
    one retry loop, once: nothing retries on top of it. ``stop`` ends waits early; ids whose
    answer did not come are ``interrupted``.

    Raises
    ------
    CredentialsError
        The platform refused the credentials: nothing can be fetched.
    """
    from payrecon.errors import CredentialsError

    order, valid = unique_ids(ids)
    outcomes = {i: FetchOutcome(i, None, None, INVALID_ID) for i in order if i not in valid}
    engine = BulkFetch(client)
    if stop is not None:
        engine.stop = stop
    if valid:
        try:
            _, tokens = engine._mint(valid)
        except CredentialsError:
            raise
        except PlatformError as exc:  # the token endpoint failed after the client's retries
            status = exc.status if isinstance(exc, APIError) else None
            return [
                outcomes.get(i) or FetchOutcome(i, None, status, error_word(exc)) for i in order
            ]
        with ThreadPoolExecutor(
            max(1, min(workers, len(valid))), thread_name_prefix="payrecon-few"
        ) as pool:
            answers = list(pool.map(lambda i: engine._fetch_one(i, tokens), valid))
        for i, answer in zip(valid, answers, strict=True):
            outcomes[i] = answer or FetchOutcome(i, None, None, INTERRUPTED)
    return [outcomes[i] for i in order]


def summarise(frame: Any, *, listed: int, seconds: float, out: object) -> str:
    """A one-screen summary of a statuses table: counts by status and by error word."""
    n = len(frame)
    from_store = int(frame["from_store"].fillna(False).sum()) if n else 0
    lines = [
        f"payrecon fetch: {listed} id(s) listed, {n} unique, written to {out} in {seconds:.1f}s"
    ]
    if from_store:
        lines.append(f"  from the store (already final): {from_store}")

    def counts(series: Any, empty: str) -> str:
        values = series.fillna("").replace("", empty).value_counts()
        shown = [f"{k} {v}" for k, v in values.head(12).items()]
        if len(values) > 12:
            shown.append(f"... {len(values) - 12} more")
        return ", ".join(shown) if shown else "none"

    lines.append(f"  by status: {counts(frame['status'], '(none)')}")
    errors = frame["error"][frame["error"] != ""]
    lines.append(f"  by error:  {counts(errors, '?') if len(errors) else 'none'}")
    return "\n".join(lines)
