"""Callback delivery: ``POST {"idEntity": id}`` to a payout's ``callbackUrl`` (§5.1).

Only an HTTP 200 counts as delivered; anything else (another status, a refused connection, a
timeout) is retried until ``callback_attempts`` attempts in all, ``callback_interval`` seconds
apart. Delivery runs in background tasks on the sandbox's loop, so a slow receiver never slows the
API, and every pending timer and task is cancelled at shutdown.

By default only loopback receivers are contacted (``SandboxConfig.callback_remote``): the guide's
``https://callback.example.com`` is recorded as ``skipped`` rather than called from a test run.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from urllib.parse import urlsplit

import aiohttp

from payrecon.sandbox.config import SandboxConfig
from payrecon.sandbox.payouts import Payout
from payrecon.sandbox.stats import CallbackAttempt, Recorder
from payrecon.sandbox.wire import dumps

log = logging.getLogger("payrecon.sandbox")


def is_loopback(url: str) -> bool:
    """True when ``url`` names this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CallbackSender:
    """Schedules and delivers callbacks; create and close it on the sandbox's loop."""

    def __init__(self, config: SandboxConfig, recorder: Recorder) -> None:
        self._config = config
        self._recorder = recorder
        self._session: aiohttp.ClientSession | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, payout: Payout, delay: float) -> None:
        """Send a callback for ``payout`` after ``delay`` seconds (now when 0)."""
        if not payout.callback_url:
            return
        loop = asyncio.get_running_loop()
        if delay <= 0:
            self._start(payout)
            return
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            self._start(payout)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    def _start(self, payout: Payout) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(payout))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, payout: Payout) -> None:
        url = payout.callback_url
        assert url is not None
        body = dumps({"idEntity": payout.id_payout}).encode()
        if not (self._config.callback_remote or is_loopback(url)):
            self._record(payout, url, 1, None, "skipped: not a loopback host")
            return
        attempts = self._config.callback_attempts
        for attempt in range(1, attempts + 1):
            status, error = await self._post(url, body)
            self._record(payout, url, attempt, status, error)
            if status == 200:
                return
            if attempt < attempts:
                await asyncio.sleep(self._config.callback_interval)
        log.info("callback for %s not delivered after %d attempts", payout.id_payout, attempts)

    async def _post(self, url: str, body: bytes) -> tuple[int | None, str | None]:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self._config.callback_timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        headers = {"Content-Type": "application/json"}
        try:
            async with self._session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                return resp.status, None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return None, type(exc).__name__

    def _record(
        self, payout: Payout, url: str, attempt: int, status: int | None, error: str | None
    ) -> None:
        self._recorder.callbacks.append(
            CallbackAttempt(
                payout.merchant, payout.id_payout, url, attempt, status, error, time.time()
            )
        )

    @property
    def pending(self) -> int:
        """Callbacks scheduled or under way."""
        return len(self._timers) + len(self._tasks)

    async def close(self) -> None:
        """Cancel every timer and delivery, then close the HTTP session."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
