"""What keeps strangers from wearing the callback receiver down: limits on senders and sockets.

The receiver is the one part of payrecon anyone on the internet can reach. This module holds the
parts of its defence that know nothing of payouts:

* :class:`TokenBucket`: a rate with a burst, also the receiver's budget of platform calls;
* :class:`SenderLimits`: one bucket per sender (bounded in memory), and :func:`client_address`,
  which believes ``X-Forwarded-For`` only from proxies the operator named (``--trusted-proxy``);
* :class:`ConnectionGuard`: a cap on open connections (the oldest one that has not yet sent its
  request makes room for a new one) and a deadline for a request's headers, so slow or idle
  connections cannot hold file descriptors; :func:`descriptor_budget` keeps the cap below the
  process's descriptor limit;
* :class:`QuietLog`: a message logged at most once per interval with a count of the rest, so an
  attack (or a descriptor shortage, where every failed ``accept`` used to log a traceback) cannot
  fill the disk through stderr.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

#: Descriptors kept free for the store, the platform client and the rest of the process.
RESERVED_DESCRIPTORS: Final = 64
#: Longest sender text kept (a forwarded address is the sender's own words).
_MAX_SENDER: Final = 64


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up. Thread-safe.

    :meth:`spend` may take more than there is: the debt is paid back before anything else is
    allowed, so a cost learned after the fact (retries) still counts against the rate.
    """

    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate, self.burst, self._clock = float(rate), float(burst), clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    @property
    def available(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def take(self, n: float = 1.0) -> bool:
        """Take ``n`` tokens if there are that many; False (nothing taken) otherwise."""
        with self._lock:
            self._refill()
            if self._tokens < n:
                return False
            self._tokens -= n
            return True

    def spend(self, n: float) -> None:
        """Take ``n`` tokens whatever there is (the balance may go negative)."""
        with self._lock:
            self._refill()
            self._tokens -= n

    def wait_for(self, n: float) -> float:
        """Seconds until ``n`` tokens are there (0 when they are now)."""
        with self._lock:
            self._refill()
            return max(0.0, (min(n, self.burst) - self._tokens) / self.rate)


class SenderLimits:
    """A :class:`TokenBucket` per sender, for the newest ``max_senders`` senders seen.

    Used from the receiver's event loop only. A sender forgotten for room starts again with a
    full bucket, which is what a new sender gets anyway.
    """

    def __init__(self, rate: float, burst: float, *, max_senders: int = 10_000) -> None:
        self.rate, self.burst, self.max_senders = rate, burst, max(1, max_senders)
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def allow(self, sender: str) -> bool:
        """Whether ``sender`` may send one more request now (and count it)."""
        bucket = self._buckets.get(sender)
        if bucket is None:
            bucket = self._buckets[sender] = TokenBucket(self.rate, self.burst)
            while len(self._buckets) > self.max_senders:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(sender)
        return bucket.take()


def parse_networks(
    specs: Iterable[str],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``--trusted-proxy`` values (addresses or CIDR blocks, comma-separated or repeated)."""
    out = []
    for spec in specs:
        for part in spec.split(","):
            if part.strip():
                out.append(ipaddress.ip_network(part.strip(), strict=False))
    return tuple(out)


def _in(address: str, networks: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str, forwarded_for: str | None, trusted: tuple[Any, ...]) -> str:
    """Who sent a request: the peer, unless the peer is a trusted proxy.

    Behind trusted proxies, ``X-Forwarded-For`` is read from the right (each proxy appends the
    address it saw) and the first address that is not a trusted proxy is the sender. Entries to
    the left of it were written by the sender and are never believed. Without trusted proxies the
    header is ignored: anyone can write it.
    """
    if not trusted or not forwarded_for or not _in(peer, trusted):
        return peer[:_MAX_SENDER]
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop[:_MAX_SENDER]
    return (hops[0] if hops else peer)[:_MAX_SENDER]


def descriptor_budget(wanted: int, reserve: int = RESERVED_DESCRIPTORS) -> int:
    """``wanted`` open connections, lowered to fit under the process's descriptor limit."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return wanted
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(8, min(wanted, soft - max(reserve, soft // 4)))


@dataclass(slots=True)
class _Conn:
    transport: asyncio.Transport
    handling: bool = False
    timer: asyncio.TimerHandle | None = None


class ConnectionGuard:
    """Caps open connections and how long one may take to send its request's headers.

    Lives on the server's event loop. :meth:`wrap` turns aiohttp's protocol factory into one whose
    connections are counted; the request handler calls :meth:`handling` when a request's headers
    are in (the body has its own deadline there).

    At the cap, a new connection closes the oldest connection still waiting for its headers; if
    every open connection is busy with a request, the new one is closed instead. Either way the
    number of descriptors held stays bounded, and a sender that opens connections and sends
    nothing only ever pushes out its own kind.
    """

    def __init__(
        self,
        *,
        max_connections: int,
        header_timeout: float,
        on_event: Callable[[str], None] = lambda _name: None,
    ) -> None:
        self.max_connections = max(1, max_connections)
        self.header_timeout = header_timeout
        self._on_event = on_event
        self._open: OrderedDict[asyncio.BaseTransport, _Conn] = OrderedDict()

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def wrap(self, factory: Callable[[], Any]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory whose protocols report to this guard."""
        return lambda: _GuardedProtocol(factory(), self)

    def opened(self, transport: asyncio.Transport) -> bool:
        """A connection came in; False when it was closed at once for want of room."""
        if len(self._open) >= self.max_connections:
            victim = next((c for c in self._open.values() if not c.handling), None)
            if victim is None:
                self._on_event("connections_refused")
                transport.abort()
                return False
            self._on_event("connections_evicted")
            self._close(victim)
        conn = _Conn(transport)
        loop = asyncio.get_running_loop()
        conn.timer = loop.call_later(self.header_timeout, self._too_slow, transport)
        self._open[transport] = conn
        return True

    def _too_slow(self, transport: asyncio.BaseTransport) -> None:
        conn = self._open.get(transport)
        if conn is not None and not conn.handling:
            self._on_event("header_timeouts")
            self._close(conn)

    def _close(self, conn: _Conn) -> None:
        if conn.timer is not None:
            conn.timer.cancel()
        self._open.pop(conn.transport, None)
        conn.transport.abort()

    def handling(self, transport: asyncio.BaseTransport | None) -> None:
        """A request's headers arrived on ``transport``: it is no longer a candidate to close."""
        conn = self._open.get(transport) if transport is not None else None
        if conn is not None:
            conn.handling = True
            if conn.timer is not None:
                conn.timer.cancel()
                conn.timer = None

    def closed(self, transport: asyncio.BaseTransport) -> None:
        conn = self._open.pop(transport, None)
        if conn is not None and conn.timer is not None:
            conn.timer.cancel()

    def abort_all(self) -> None:
        """Close every connection now (stopping)."""
        for conn in list(self._open.values()):
            self._close(conn)


class _GuardedProtocol(asyncio.Protocol):
    """aiohttp's protocol, with its connection counted by a :class:`ConnectionGuard`."""

    def __init__(self, inner: Any, guard: ConnectionGuard) -> None:
        self._inner, self._guard = inner, guard
        self._transport: asyncio.BaseTransport | None = None
        self._started = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if self._guard.opened(transport):
            self._started = True
            self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._guard.closed(self._transport)
        if self._started:
            self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        result = self._inner.eof_received()
        return bool(result) if result is not None else None

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class QuietLog:
    """Log a kind of message at most once per ``interval`` seconds, with a count of the rest.

    ``key`` names the kind; the first message of a kind goes out at once, later ones within the
    interval are counted and summarised in the next one that goes out. Thread-safe.
    """

    def __init__(self, logger: logging.Logger, interval: float = 60.0) -> None:
        self.logger, self.interval = logger, interval
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def log(self, level: int, key: str, msg: str, *args: Any) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._held[key] = self._held.get(key, 0) + 1
                return
            self._last[key] = now
            held = self._held.pop(key, 0)
        if held:
            msg += f" ({held} more like it in the last {self.interval:g} s not shown)"
        self.logger.log(level, msg, *args)

    def install(self, *names: str) -> Callable[[], None]:
        """Route what the named loggers (aiohttp's server, asyncio) say through this one: at
        most one line per kind and interval, no traceback. Returns the call that undoes it."""
        quiet = _QuietFilter(self)
        loggers = [logging.getLogger(n) for n in names]
        for logger in loggers:
            logger.addFilter(quiet)

        def undo() -> None:
            for logger in loggers:
                logger.removeFilter(quiet)

        return undo

    def loop_exception_handler(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        """For ``loop.set_exception_handler``: an event-loop error (a failed ``accept`` when
        descriptors run out, a connection reset) is one quiet line, never a traceback per event."""
        message = str(context.get("message") or "event loop error")
        exc = context.get("exception")
        detail = f": {type(exc).__name__}: {exc}" if exc is not None else ""
        self.log(logging.WARNING, f"loop:{message}", "%s%s", message, detail)


class _QuietFilter(logging.Filter):
    """Drops a record, after handing a one-line version of it to a :class:`QuietLog`."""

    def __init__(self, quiet: QuietLog) -> None:
        super().__init__()
        self.quiet = quiet

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        detail = f": {type(exc).__name__}: {str(exc)[:200]}" if exc is not None else ""
        text = record.getMessage()[:300]
        self.quiet.log(record.levelno, f"{record.name}:{record.msg}", "%s%s", text, detail)
        return False


__all__ = [
    "ConnectionGuard",
    "QuietLog",
    "SenderLimits",
    "TokenBucket",
    "client_address",
    "descriptor_budget",
    "parse_networks",
]
