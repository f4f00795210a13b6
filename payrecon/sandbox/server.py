"""Running a sandbox: on its own event loop in a daemon thread, on a free loopback port.

``running()`` is what tests and notebooks use: the sandbox is up when the ``with`` block starts and
gone (port closed, timers and callback deliveries cancelled, HTTP session closed, thread joined)
when it ends. State lives on the sandbox's loop; the handle's methods hop onto that loop to read
or change it, so they are safe to call from any thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from payrecon._aiothread import ServedApp, serve
from payrecon.sandbox.app import SandboxApp
from payrecon.sandbox.config import Faults, SandboxConfig
from payrecon.sandbox.stats import SandboxStats

T = TypeVar("T")

#: Seconds a stopping sandbox lets calls in flight finish: it does not wait out injected latency.
STOP_GRACE = 1.0


class Sandbox:
    """A handle on one emulator: build it, ``start()`` it, ``stop()`` it (or use ``running``).

    Attributes
    ----------
    config
        The ``SandboxConfig``; ``config.faults`` is the same live object as ``faults``.
    faults
        The live ``Faults``: setting an attribute changes the next requests' fate.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        config = config or SandboxConfig()
        self.faults: Faults = dataclasses.replace(config.faults)
        self.config: SandboxConfig = dataclasses.replace(config, faults=self.faults)
        self._app = SandboxApp(self.config, self.faults)
        self._served: ServedApp | None = None
        self._host = "127.0.0.1"
        self._clients: list[Any] = []

    def __repr__(self) -> str:
        state = self.base_url if self._served is not None else "stopped"
        return f"<Sandbox {state} merchant={self.merchant_code!r}>"

    # ------------------------------------------------------------------ identity

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def port(self) -> int:
        if self._served is None:
            raise RuntimeError("the sandbox is not running")
        return self._served.port

    @property
    def merchant_code(self) -> str:
        return self.config.merchants[0].code

    @property
    def secret(self) -> str:
        return self.config.merchants[0].secret

    # ------------------------------------------------------------------ life

    def start(self, port: int = 0, host: str = "127.0.0.1") -> Sandbox:
        """Serve on ``host:port`` (0: a free port) from a daemon thread; returns once listening."""
        if self._served is not None:
            raise RuntimeError("the sandbox is already running")
        self._served = serve(
            self._app.build,
            host,
            port,
            name="payrecon-sandbox",
            shutdown_timeout=STOP_GRACE,
            max_line_size=self.config.max_header,
            max_field_size=self.config.max_header,
        )
        self._host = host
        return self

    @staticmethod
    async def _shutdown(runner: web.AppRunner) -> None:
        """Close the site, the connections, the callback sender (on_cleanup) and any stragglers.

        A connection accepted in the server's last instant may register itself only after aiohttp
        swept its connections, so a second sweep closes those too (no unclosed transports).
        """
        server = runner.server
        # Let connections already queued be accepted while the server is still open: Python
        # 3.11 leaks a transport whose accept task runs after the listening socket closed.
        for _ in range(3):
            await asyncio.sleep(0)
        await runner.cleanup()
        for _ in range(3):
            await asyncio.sleep(0)
        for handler in list(server.connections if server is not None else ()):
            handler.force_close()
            if handler.transport is not None:
                handler.transport.close()
        current = asyncio.current_task()
        rest = [t for t in asyncio.all_tasks() if t is not current]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        await asyncio.sleep(0.01)  # closed transports finish closing in callbacks of their own

    def stop(self) -> None:
        """Stop serving, cancel pending lifecycle timers and callbacks, join the thread."""
        for client in self._clients:
            close = getattr(client, "close", None)
            if callable(close):
                close()
        self._clients.clear()
        served, self._served = self._served, None
        if served is not None:
            served.stop(self._shutdown)

    def __enter__(self) -> Sandbox:
        if self._served is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers for tests

    def _on_loop(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the sandbox's loop (or here when stopped) and return its result."""
        return fn() if self._served is None else self._served.call(fn)

    def client(self, **kw: Any) -> Any:
        """A ``payrecon.client._client.Client`` for the first merchant; closed when the sandbox
        stops."""
        from payrecon.client._client import Client

        client = Client(
            base_url=self.base_url, merchant_code=self.merchant_code, secret=self.secret, **kw
        )
        self._clients.append(client)
        return client

    def seed(self, path: str | Path) -> int:
        """Load a seed CSV (see ``payrecon.sandbox.seed``); returns the number of rows loaded."""
        from payrecon.sandbox.seed import read_seed

        payouts = read_seed(path, self.config.merchants, now=time.time())

        def load() -> int:
            for payout in payouts:
                self._app.book.put(payout)
            return len(payouts)

        return self._on_loop(load)

    def stats(self) -> SandboxStats:
        """A snapshot of the requests, tokens, GETs and callbacks seen so far."""
        return self._on_loop(self._app.recorder.snapshot)

    def reset_stats(self) -> None:
        self._on_loop(self._app.recorder.reset)

    def payout_state(
        self, id_payout: str, merchant_code: str | None = None
    ) -> dict[str, Any] | None:
        """The server's view of one payout (its detail now, plus internals); None when unknown."""
        merchant = merchant_code or self.merchant_code

        def look() -> dict[str, Any] | None:
            payout = self._app.book.get(merchant, id_payout)
            if payout is None:
                return None
            now = time.time()
            return {
                "merchant": payout.merchant,
                "id_payout": payout.id_payout,
                "status": payout.status_at(now),
                "final_status": payout.final_status,
                "amount": payout.amount,
                "currency": payout.currency,
                "fee": payout.fee,
                "callback_url": payout.callback_url,
                "seeded": payout.seeded,
                "detail": payout.detail(now),
            }

        return self._on_loop(look)

    @property
    def pending_callbacks(self) -> int:
        """Callbacks scheduled or being delivered."""
        return self._on_loop(lambda: self._app.callbacks.pending)


@contextmanager
def running(
    config: SandboxConfig | None = None, *, seed: str | Path | None = None
) -> Iterator[Sandbox]:
    """Run a sandbox in-process on a free loopback port for the duration of a ``with`` block.

    Examples
    --------
    >>> with running() as sb:                     # doctest: +SKIP
    ...     client = sb.client()
    """
    sandbox = Sandbox(config)
    sandbox.start()
    try:
        if seed is not None:
            sandbox.seed(seed)
        yield sandbox
    finally:
        sandbox.stop()


def serve_forever(
    config: SandboxConfig,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    seed: str | Path | None = None,
    announce: Callable[[str], None] = print,
) -> int:
    """Run a sandbox in the foreground until SIGINT or SIGTERM; return the exit code (0).

    The first line announced is exactly the base URL (``http://127.0.0.1:PORT``), so a script can
    start the command and read where it listens.
    """
    import signal

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    sandbox = Sandbox(config)
    try:
        sandbox.start(port=port, host=host)  # a port taken is a ConfigError naming it
        announce(sandbox.base_url)
        if seed is not None:
            announce(f"seeded {sandbox.seed(seed)} payouts from {seed}")
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
