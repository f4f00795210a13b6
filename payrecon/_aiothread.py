"""An aiohttp app served from its own event loop in a daemon thread, for callers that are not async.

The sandbox (the platform's emulator) and the callback receiver each listen on a port while the
rest of the program (a test, a notebook, the command) goes on synchronously. This is the one place
that starts such a loop, returns once the port is open (or raises why it could not open), runs
code on the loop, and stops it. It knows nothing of either of them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from payrecon.errors import ConfigError

T = TypeVar("T")

#: Seconds to wait for the loop to run something, or to stop.
WAIT = 30.0


class ServedApp:
    """A running app: the port it listens on, and calls into its loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
        runner: web.AppRunner,
        port: int,
        server: asyncio.Server | None = None,
    ) -> None:
        self.loop, self.thread, self.runner, self.port = loop, thread, runner, port
        self.server = server  # the listening socket, when serve() made it itself

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` run on the app's loop (where its state lives), its result returned here."""

        async def on_loop() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(on_loop(), self.loop).result(timeout=WAIT)

    def stop(self, shutdown: Callable[[web.AppRunner], Awaitable[None]] | None = None) -> None:
        """Run ``shutdown(runner)`` on the loop (default ``runner.cleanup()``: close the site and
        the connections), then stop the loop and join its thread."""
        if self.server is not None:
            self.loop.call_soon_threadsafe(self.server.close)
        close = shutdown(self.runner) if shutdown is not None else self.runner.cleanup()
        asyncio.run_coroutine_threadsafe(_awaited(close), self.loop).result(timeout=WAIT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=WAIT)


async def _awaited(step: Awaitable[None]) -> None:
    await step


def serve(
    make_app: Callable[[], web.Application],
    host: str,
    port: int,
    *,
    name: str,
    wrap_protocol: Callable[[Callable[[], Any]], Callable[[], asyncio.Protocol]] | None = None,
    exception_handler: Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object] | None = None,
    **runner_options: Any,
) -> ServedApp:
    """Listen on ``host:port`` (0: a free port) from a new daemon thread named ``name``.

    A port that cannot be listened on (taken, privileged) raises :class:`ConfigError` naming it.

    ``make_app`` is called on the new loop, so whatever the app creates belongs to it.
    ``runner_options`` go to :class:`aiohttp.web.AppRunner` (limits, ``shutdown_timeout``).
    ``wrap_protocol`` wraps aiohttp's protocol factory (to watch each connection: the callback
    receiver caps them); ``exception_handler`` replaces the loop's (to keep its errors quiet).
    """
    loop = asyncio.new_event_loop()
    if exception_handler is not None:
        loop.set_exception_handler(exception_handler)
    ready = threading.Event()
    failure: list[BaseException] = []
    started: list[tuple[web.AppRunner, int, asyncio.Server | None]] = []

    async def listen() -> None:
        runner = web.AppRunner(make_app(), access_log=None, handle_signals=False, **runner_options)
        await runner.setup()
        if wrap_protocol is not None and runner.server is not None:
            own = await loop.create_server(
                wrap_protocol(runner.server), host, port, backlog=1024, reuse_address=True
            )
            started.append((runner, own.sockets[0].getsockname()[1], own))
            return
        site = web.TCPSite(runner, host, port, backlog=1024)
        await site.start()
        sockets = getattr(getattr(site, "_server", None), "sockets", None) or []
        started.append((runner, sockets[0].getsockname()[1] if sockets else port, None))

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(listen())
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    ready.wait()
    if failure:
        thread.join()
        if isinstance(failure[0], OSError):  # the port is taken, or not ours to take
            reason = failure[0].strerror or str(failure[0])
            raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from None
        raise failure[0]
    runner, bound, own = started[0]
    return ServedApp(loop, thread, runner, bound, own)


__all__ = ["ServedApp", "serve"]
