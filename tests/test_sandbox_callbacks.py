"""Callbacks: POST {"idEntity": id} to the callbackUrl, retried until a 200, never in the way."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sandbox_helpers import create, detail, wait_final, wait_for

from payrecon.sandbox import SandboxConfig, running


class Receiver:
    """A merchant's callback endpoint on loopback that answers from a script of statuses."""

    def __init__(self, statuses: list[int], default: int = 200) -> None:
        self.statuses = list(statuses)
        self.default = default
        self.hold = threading.Event()
        self.hold.set()  # cleared by a test to keep a callback waiting for its answer
        self.arrived = threading.Event()
        self.received: list[tuple[str, str, dict[str, object]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                receiver.received.append((self.path, self.headers["Content-Type"], body))
                receiver.arrived.set()
                receiver.hold.wait(10)
                status = receiver.statuses.pop(0) if receiver.statuses else receiver.default
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/payouts"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def fast() -> SandboxConfig:
    return SandboxConfig(final_after=0.05, callback_interval=0.05, callback_timeout=5)


def test_a_failing_receiver_is_retried_until_it_answers_200(fast: SandboxConfig) -> None:
    with Receiver([500, 503], default=200) as rx, running(fast) as sb:
        assert create(sb, "CB-1", callback=rx.url).status_code == 201
        assert wait_for(lambda: len(rx.received) >= 3)
        assert wait_for(lambda: sb.pending_callbacks == 0)
        attempts = [(a.attempt, a.http_status) for a in sb.stats().callbacks]
    assert attempts == [(1, 500), (2, 503), (3, 200)]  # and no fourth after the 200
    assert rx.received == [("/hooks/payouts", "application/json", {"idEntity": "CB-1"})] * 3


@pytest.mark.parametrize("status", [201, 202, 204, 404, 500])
def test_anything_but_200_is_retried_four_more_times(fast: SandboxConfig, status: int) -> None:
    with Receiver([], default=status) as rx, running(fast) as sb:
        assert create(sb, "CB-2", callback=rx.url).status_code == 201
        assert wait_for(lambda: len(sb.stats().callbacks) >= 5 and sb.pending_callbacks == 0)
        attempts = sb.stats().callbacks
    assert [a.attempt for a in attempts] == [1, 2, 3, 4, 5]
    assert {a.http_status for a in attempts} == {status}
    assert len(rx.received) == 5


def test_a_receiver_that_is_down_is_retried_too(fast: SandboxConfig) -> None:
    with Receiver([]) as rx:
        url = rx.url  # a port that was just free and is closed again below
    with running(fast) as sb:
        assert create(sb, "CB-3", callback=url).status_code == 201
        assert wait_for(lambda: sb.pending_callbacks == 0 and len(sb.stats().callbacks) == 5)
        attempts = sb.stats().callbacks
    assert all(a.http_status is None and a.error for a in attempts)


def test_a_slow_receiver_never_holds_up_the_api(fast: SandboxConfig) -> None:
    with Receiver([]) as rx, running(fast) as sb:
        rx.hold.clear()  # the receiver sits on the callback until released
        assert create(sb, "CB-4", callback=rx.url).status_code == 201
        assert rx.arrived.wait(10)
        # The callback is still waiting for its answer, and the API answers meanwhile.
        assert create(sb, "CB-5").status_code == 201
        assert detail(sb, "CB-4")["process"]["status"] == "SUCCESS"
        assert sb.stats().callbacks == []  # the first attempt has not finished
        rx.hold.set()
        assert wait_for(lambda: len(sb.stats().callbacks) == 1)


def test_the_callback_follows_the_final_status_and_optionally_creation() -> None:
    config = SandboxConfig(final_after=0.3, callback_on_create=True, callback_interval=0.05)
    with Receiver([]) as rx, running(config) as sb:
        assert create(sb, "CB-6", callback=rx.url).status_code == 201
        assert wait_for(lambda: len(rx.received) >= 1)
        assert detail(sb, "CB-6")["process"]["status"] == "PROCESSING"  # first: at creation
        assert wait_final(sb, "CB-6")["process"]["status"] == "SUCCESS"
        assert wait_for(lambda: len(rx.received) == 2)  # second: the final status


def test_pending_payouts_send_no_final_callback(fast: SandboxConfig) -> None:
    with Receiver([]) as rx, running(fast) as sb:
        assert create(sb, "CB-7", amount="10099", callback=rx.url).status_code == 201
        assert create(sb, "CB-8", amount="10000", callback=rx.url).status_code == 201
        assert wait_for(lambda: len(rx.received) == 1)
        assert sb.pending_callbacks == 0
    assert [body["idEntity"] for _, _, body in rx.received] == ["CB-8"]


def test_stopping_the_sandbox_cancels_pending_callbacks_cleanly() -> None:
    config = SandboxConfig(final_after=0.0, callback_interval=60)
    with Receiver([], default=500) as rx:
        with running(config) as sb:
            assert create(sb, "CB-9", callback=rx.url).status_code == 201
            assert wait_for(lambda: len(sb.stats().callbacks) == 1)
            assert sb.pending_callbacks == 1  # waiting 60 s for its retry
        assert threading.active_count() < 50
        assert not [t for t in threading.enumerate() if t.name == "payrecon-sandbox"]
