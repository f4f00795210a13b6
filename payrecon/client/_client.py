"""The platform client: one HTTP session, one retry loop, typed answers and typed errors.

Built on the documented contract (platform-api.md), not on any emulator's habits:

* every call sends ``X-API-Version: 2``, ``Accept: application/json`` and a User-Agent naming
  payrecon and its version; business calls send ``Authorization: Bearer <token>`` with a token
  naming exactly that call (:mod:`payrecon.client._auth`);
* one ``requests.Session`` whose connection pool holds as many connections as calls in flight;
* one retry loop (:meth:`Client._call`) for every call. What is retried is listed once, in
  :data:`RETRY_STATUSES` and :data:`RETRY_EXCEPTIONS`: connection errors and timeouts, every
  5xx, and 429. Waits are exponential with full jitter and a cap; a 429 waits what its
  ``Retry-After`` says (that call, not the others: the pacer judges the pace) and draws on a
  budget of its own (:data:`MAX_THROTTLED_PER_CALL`). A 401 renews the token and retries
  without waiting;
* answers map to the error tree of :mod:`payrecon.errors` in one function, :func:`error_for`;
  406 bodies are accepted as one object or a list of them (§5.2).

The merchant secret lives in a :class:`~payrecon.config.Secret` and is revealed only into the body
of ``POST /auth-tokens``. Logs name method, path, status and timing, never a header or a body;
errors are raised outside ``except`` blocks so no traceback chains back to a request object.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import requests
from requests.adapters import HTTPAdapter

from payrecon import __version__
from payrecon.client._auth import CREDENTIAL_CODES, TokenProvider, TokenSet
from payrecon.client._throttle import AdaptiveRate
from payrecon.client.records import (
    FetchOutcome,
    OutcomeSink,
    PayoutAccepted,
    PayoutDetail,
    UnreadableDetail,
    loads,
)
from payrecon.config import ENV_CONCURRENCY, ENV_MAX_RETRIES, Secret, Settings, resolve_base_url
from payrecon.errors import (
    APIError,
    BadRequest,
    BadResponse,
    BusinessError,
    CredentialsError,
    DuplicatePayout,
    Forbidden,
    InputError,
    PayoutNotFound,
    PlatformError,
    RateLimited,
    ServerError,
    TokenRequestRejected,
    TransportError,
    Unauthorized,
)
from payrecon.platform import API_VERSION, PAYOUT_METHODS, is_valid_id, payout_operation

if TYPE_CHECKING:
    import pandas as pd

    from payrecon.core._balances import Balance
    from payrecon.receiver._keys import CallbackKey
    from payrecon.store._store import Store

log = logging.getLogger("payrecon.client")

USER_AGENT: Final = f"payrecon/{__version__} (+requests/{requests.__version__})"

#: Statuses worth asking again: the platform throttled us or failed (§5.3: any 5xx).
RETRY_STATUSES: Final = frozenset({429}) | frozenset(range(500, 600))
#: No answer at all: connection refused or reset, DNS, timeouts, a body cut short.
RETRY_EXCEPTIONS: Final = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
#: 401s on one call answered by renewing the token before giving up.
MAX_RENEWALS_PER_CALL: Final = 3
#: 429s one call may meet before giving up. They are the platform saying "later", not a fault:
#: they have a budget of their own, well above ``max_retries``, so that a merchant whose calls
#: are throttled at random 30 % of the time (other processes, the platform's own load) still
#: gets every answer; each waits what ``Retry-After`` says, or a backoff.
MAX_THROTTLED_PER_CALL: Final = 20
#: Calls in flight at most, by default: room for a 300/s limit at the live host's latency and
#: its tail (300 x 0.7 s is 210), and for the waits random 429s ask for.
DEFAULT_CONCURRENCY: Final = 512
#: Longest ``Retry-After`` honoured as given; longer ones are capped (a stuck run helps no one).
MAX_RETRY_AFTER: Final = 120.0


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer, reduced to what the client reads. No request, no headers sent."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    elapsed: float


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: wait ``uniform(0, min(cap, base * 2**retry))``."""

    base: float = 0.25
    cap: float = 20.0

    def delay(self, retry: int, answer: Answer | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (0-based) after ``answer``."""
        if answer is not None and answer.status == 429:
            after = retry_after(answer.headers)
            if after is not None:  # the platform said how long: wait that, plus a little jitter
                return min(after, MAX_RETRY_AFTER) + rng.uniform(0, min(1.0, 0.1 * after + 0.05))
        return rng.uniform(0, min(self.cap, self.base * 2**retry))


def retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), ``None`` when absent or odd."""
    raw = headers.get("retry-after") or headers.get("Retry-After")
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Stopped(Exception):
    """Internal: the run was interrupted while this call waited; it was not sent again."""


# --------------------------------------------------------------------------- error mapping


def _body(answer: Answer) -> Any:
    try:
        return loads(answer.content) if answer.content else None
    except (ValueError, UnicodeDecodeError):
        return None


def _business_error(body: Any) -> tuple[str | None, str | None, str | None]:
    """``(code, attrCode, description)`` from a 406 body: one object, or a list of them."""
    item = body[0] if isinstance(body, list) and body else body
    if not isinstance(item, Mapping):
        return None, None, None
    code, attr, desc = item.get("code"), item.get("attrCode"), item.get("description")
    return (
        code if isinstance(code, str) else None,
        attr if isinstance(attr, str) else None,
        desc if isinstance(desc, str) else None,
    )


def error_for(answer: Answer, method: str, path: str) -> APIError:
    """The typed error for a non-success answer of a business endpoint."""
    status = answer.status
    body = _body(answer)
    desc = body.get("description") if isinstance(body, Mapping) else None
    text = desc if isinstance(desc, str) and desc else f"HTTP {status}"
    kw: dict[str, Any] = {"status": status, "method": method, "path": path}
    if status == 406:
        code, attr, desc406 = _business_error(body)
        return BusinessError(desc406 or code or text, code=code, attr_code=attr, **kw)
    if status == 429:
        return RateLimited(text, retry_after=retry_after(answer.headers), **kw)
    classes: dict[int, type[APIError]] = {
        400: BadRequest,
        401: Unauthorized,
        403: Forbidden,
        409: DuplicatePayout,
        410: PayoutNotFound,
    }
    if status in classes:
        return classes[status](text, **kw)
    if 500 <= status <= 599:
        return ServerError(text, **kw)
    return APIError(text, **kw)


def error_word(exc: BaseException) -> str:
    """The short, stable word a statuses table shows for a per-id failure."""
    if isinstance(exc, PayoutNotFound):
        return "not_found"
    if isinstance(exc, BusinessError):
        return f"business_error:{exc.code or 'UNKNOWN'}"
    if isinstance(exc, TokenRequestRejected):
        return f"token_rejected:{exc.code or exc.status}"
    words: list[tuple[type[BaseException], str]] = [
        (BadRequest, "bad_request"),
        (Unauthorized, "unauthorized"),
        (Forbidden, "forbidden"),
        (RateLimited, "rate_limited"),
        (ServerError, "server_error"),
        (TransportError, "transport_error"),
    ]
    for cls, word in words:
        if isinstance(exc, cls):
            return word
    if isinstance(exc, APIError):
        return "bad_response" if exc.code == "bad_response" else f"http_{exc.status}"
    return "error"


def parse_detail(id_payout: str, answer: Answer, path: str) -> PayoutDetail:
    """A 200 ``GET /payouts/{id}`` body as a :class:`PayoutDetail`, or :class:`BadResponse`
    (``bad_response``) naming what could not be read, the body kept for the store."""
    body = _body(answer)
    problem = None
    if not isinstance(body, Mapping):
        problem = "the body is not a JSON object"
    else:
        try:
            detail = PayoutDetail.from_json(id_payout, body)
        except UnreadableDetail as exc:
            problem = str(exc)
        else:
            if detail.status:
                return detail
            problem = "process.status is missing"
    raise BadResponse(
        f"unreadable payout detail: {problem}",
        status=200,
        method="GET",
        path=path,
        code="bad_response",
        content=answer.content,
    )


def _json_body(payload: Mapping[str, Any]) -> bytes:
    """JSON with ``Decimal`` amounts written as exact JSON numbers (the stdlib cannot)."""
    marks: dict[str, str] = {}

    def default(value: object) -> object:
        if isinstance(value, Decimal):
            mark = f"\x00dec{len(marks)}\x00"
            marks[json.dumps(mark)] = _decimal_text(value)
            return mark
        raise TypeError(f"cannot send {type(value).__name__} as JSON")

    text = json.dumps(payload, default=default, separators=(",", ":"))
    for mark, number in marks.items():
        text = text.replace(mark, number)
    return text.encode()


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise InputError(f"amount {value} is not a finite number")
    text = format(value, "f")
    return text


# --------------------------------------------------------------------------- the client


class Client:
    """A client for the payouts platform (AOPay / EchelonPay).

    Parameters
    ----------
    base_url
        The platform's base URL or a preset name (``aopay-sandbox``, ``echelonpay-sandbox``,
        ``echelonpay``).
    merchant_code, secret
        The merchant's credentials; the secret is never shown (repr, logs, errors).
    concurrency
        The cap on calls in flight during a bulk fetch (the connection pool matches it). Below
        it, calls in flight follow the pace times the time per call (:mod:`payrecon.client._fetch`):
        the real hosts answer in 0.3-0.8 s with tails of seconds, so a limit of a few hundred
        calls a second takes 100-300 in flight (platform-api.md §5.7). Each costs a thread and
        a connection, about 70 KB.
    ops_per_token
        Operations named in one token at most (halved if the platform refuses a request as big).
    token_validity
        ``validitySecs`` asked for each token (60..3600).
    timeout
        ``(connect, read)`` seconds for one HTTP call. Calls of several seconds happen.
    max_retries
        Retries of one call after connection errors, 5xx and 429.
    progress
        Default for :meth:`fetch`'s progress bar: ``None`` shows it in Jupyter and terminals only.
    backoff
        Waits between retries.
    throttle
        The adaptive pacer (one per client, shared by every call).
    """

    def __init__(
        self,
        base_url: str,
        merchant_code: str,
        secret: str | Secret,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        ops_per_token: int = 100,
        token_validity: int = 600,
        timeout: tuple[float, float] = (10, 60),
        max_retries: int = 6,
        progress: bool | None = None,
        backoff: Backoff | None = None,
        throttle: AdaptiveRate | None = None,
        token_workers: int = 4,
        seed: int | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        if not merchant_code:
            raise ValueError("merchant_code must not be empty")
        self.base_url = resolve_base_url(base_url)
        self.merchant_code = merchant_code
        self._secret = Secret(secret)
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.progress = progress
        self.token_workers = max(1, token_workers)
        self.backoff = backoff or Backoff()
        self.throttle = throttle or AdaptiveRate()
        self._rng = random.Random(seed)  # jitter, not security
        self._rng_lock = threading.Lock()
        self.tokens = TokenProvider(
            self._mint, max_operations=ops_per_token, validity=token_validity
        )
        self._session = requests.Session()
        adapter = HTTPAdapter(
            pool_connections=1, pool_maxsize=concurrency + self.token_workers, max_retries=0
        )
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update(
            {
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "X-API-Version": str(API_VERSION),
            }
        )
        self._session.trust_env = False  # no ~/.netrc credentials, no proxies picked up silently

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_env(
        cls, *, base_url: str | None = None, env_file: str | Path | None = ".env", **kw: Any
    ) -> Client:
        """A client from ``PAYRECON_BASE_URL``, ``PAYRECON_MERCHANT_CODE``, ``PAYRECON_SECRET``.

        Arguments win over the environment, which wins over ``env_file`` (read when present,
        never loaded into ``os.environ``). ``PAYRECON_CONCURRENCY`` and ``PAYRECON_MAX_RETRIES``
        set those options when not given here. Raises ConfigError when something is missing.
        """
        settings = Settings.load(
            base_url=base_url,
            merchant_code=kw.pop("merchant_code", None),
            secret=kw.pop("secret", None),
            env_file=env_file,
        )
        concurrency = settings.int_extra(ENV_CONCURRENCY)
        if concurrency:
            kw.setdefault("concurrency", concurrency)
        retries = settings.int_extra(ENV_MAX_RETRIES)
        if retries is not None:
            kw.setdefault("max_retries", retries)
        return cls(settings.base_url, settings.merchant_code, settings.secret, **kw)

    def __repr__(self) -> str:
        return (
            f"Client(base_url={self.base_url!r}, merchant_code={self.merchant_code!r}, "
            f"secret={self._secret!r}, concurrency={self.concurrency})"
        )

    def close(self) -> None:
        """Close the HTTP session and its connections."""
        self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Client holds a secret and cannot be pickled")

    # ------------------------------------------------------------------ the one retry loop

    def _sleep(self, seconds: float, stop: threading.Event | None) -> None:
        if stop is not None:
            if stop.wait(seconds):
                raise Stopped
        else:
            time.sleep(seconds)

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | Callable[[], bytes] | None = None,
        bearer: Callable[[], str] | None = None,
        on_unauthorized: Callable[[str | None], None] | None = None,
        paced: bool = True,
        stop: threading.Event | None = None,
    ) -> Answer:
        """Send one call, retrying what :data:`RETRY_STATUSES` / :data:`RETRY_EXCEPTIONS` list.

        Returns the last answer (success or not); raises :class:`TransportError` when no answer
        came after every retry, :class:`Stopped` when ``stop`` was set while waiting.
        """
        url = self.base_url + path
        tries = _Tries()
        while True:
            _check(stop)
            sent_at = self.throttle.acquire(stop) if paced else time.monotonic()
            _check(stop)
            # The token is taken after the wait for a slot, so it is checked (and renewed if
            # about to lapse) at the moment it leaves, not before a queue of unknown length.
            token = bearer() if bearer is not None else None
            answer, failure = self._send(method, url, body, token)
            if answer is not None and paced:
                self.throttle.on_response(sent_at, throttled=answer.status == 429)
            _log_try(method, path, answer, failure, tries.retries)
            if answer is not None:
                if (
                    answer.status == 401
                    and on_unauthorized is not None
                    and tries.renewals < MAX_RENEWALS_PER_CALL
                ):
                    tries.renewals += 1
                    on_unauthorized(token)
                    continue
                if answer.status not in RETRY_STATUSES:
                    return answer
            delay = self._retry_delay(answer, tries)
            if delay is None:  # out of tries
                if answer is not None:
                    return answer
                raise TransportError(
                    f"no answer after {tries.retries + 1} attempt(s): {failure}",
                    method=method,
                    path=path,
                )
            self._sleep(delay, stop)

    def _send(
        self, method: str, url: str, body: bytes | Callable[[], bytes] | None, token: str | None
    ) -> tuple[Answer | None, str]:
        """One HTTP exchange: the answer, or ``None`` and what went wrong. The body is built
        here (a token request's holds the secret), so it lives only as long as this frame."""
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = body() if callable(body) else body
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            resp = self._session.request(
                method, url, data=data, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except RETRY_EXCEPTIONS as exc:
            return None, f"{type(exc).__name__}: {_scrub(str(exc))}"
        return Answer(
            resp.status_code, resp.headers, resp.content, resp.elapsed.total_seconds()
        ), ""

    def _retry_delay(self, answer: Answer | None, tries: _Tries) -> float | None:
        """Seconds to wait before trying again, or ``None`` when this call is out of tries.

        A 429 is the platform saying "later", not a fault: it draws on a budget of its own
        (:data:`MAX_THROTTLED_PER_CALL`) and waits what ``Retry-After`` says, or a backoff that
        grows with the call's 429s. Anything else retryable draws on ``max_retries``.
        """
        throttled = answer is not None and answer.status == 429
        if throttled and tries.throttled >= MAX_THROTTLED_PER_CALL:
            return None
        if not throttled and tries.retries >= self.max_retries:
            return None
        step = min(tries.throttled, self.max_retries) if throttled else tries.retries
        with self._rng_lock:
            delay = self.backoff.delay(step, answer, self._rng)
        if throttled:
            tries.throttled += 1
        else:
            tries.retries += 1
        return delay

    # ------------------------------------------------------------------ tokens

    def _mint(self, operations: Iterable[str], validity: int) -> str:
        """``POST /auth-tokens`` for ``operations``: the token text, or a typed refusal."""
        ops = list(operations)
        path = "/auth-tokens"

        def body() -> bytes:  # built per attempt so the secret is revealed only while sending
            return json.dumps(
                {
                    "merchantCode": self.merchant_code,
                    "secret": self._secret.reveal(),
                    "validitySecs": validity,
                    "operations": ops,
                }
            ).encode()

        answer = self._call("POST", path, body=body, paced=False)
        if answer.status == 200:
            data = _body(answer)
            token = data.get("token") if isinstance(data, Mapping) else None
            if not isinstance(token, str) or not token:
                raise PlatformError("the token answer has no token", method="POST", path=path)
            return token
        if answer.status in (401, 403):
            raise CredentialsError(
                f"the platform refused the credentials of merchant {self.merchant_code!r} "
                f"(HTTP {answer.status}): check PAYRECON_MERCHANT_CODE and PAYRECON_SECRET",
                method="POST",
                path=path,
            )
        if answer.status == 406:
            code, _attr, _desc = _business_error(_body(answer))
            if code in CREDENTIAL_CODES:
                raise CredentialsError(
                    f"the platform refused merchant {self.merchant_code!r}: {code}",
                    method="POST",
                    path=path,
                )
            raise TokenRequestRejected(
                f"token request refused: {code or 'HTTP 406'}", status=406, code=code
            )
        if 400 <= answer.status < 500 and answer.status != 429:
            raise TokenRequestRejected(
                f"token request refused (HTTP {answer.status})", status=answer.status
            )
        raise error_for(answer, "POST", path)

    def _token_set(self, operations: list[str]) -> TokenSet:
        tokens = TokenSet.issue(self.tokens, operations)
        for op in operations:
            rejected = tokens.rejection(op)
            if rejected is not None:
                raise rejected
        return tokens

    # ------------------------------------------------------------------ single calls

    def _get_detail(
        self, id_payout: str, tokens: TokenSet, stop: threading.Event | None = None
    ) -> PayoutDetail:
        op = payout_operation("GET", id_payout)
        path = f"/payouts/{id_payout}"
        answer = self._call(
            "GET",
            path,
            bearer=lambda: tokens.bearer(op),
            on_unauthorized=lambda sent: tokens.renew_after_401(op, sent),
            stop=stop,
        )
        if answer.status == 200:
            return parse_detail(id_payout, answer, path)
        raise error_for(answer, "GET", path)

    def get_payout(self, id_payout: str) -> PayoutDetail:
        """One payout's detail (``GET /payouts/{id}``), with exact ``Decimal`` money.

        Raises
        ------
        InputError
            The id breaks the platform's id rule; nothing is sent.
        PayoutNotFound
            410 Gone: the platform has no payout with this id.
        APIError, TransportError, CredentialsError
            Any other failure, after retries.
        """
        _check_id(id_payout)
        tokens = self._token_set([payout_operation("GET", id_payout)])
        return self._get_detail(id_payout, tokens)

    def get_balances(self, currencies: Iterable[str] | None = None) -> list[Balance]:
        """The merchant's balances (``GET /balances``, §3.5), one per currency account, money
        exact. ``currencies`` narrows the answer (``currencyCodes``); the platform silently
        leaves out currencies the merchant has no account in. The token names only
        ``GET /balances``.

        Raises
        ------
        BusinessError
            406 ``MERCHANT_INACTIVE``.
        APIError, TransportError, CredentialsError
            Any other failure, after retries; an answer without a ``data`` list is an
            ``APIError`` with code ``bad_response``.
        """
        from urllib.parse import quote

        from payrecon.core._balances import BALANCES_OPERATION, parse_balances

        op = BALANCES_OPERATION
        tokens = self._token_set([op])
        path = "/balances"
        codes = [c.strip() for c in currencies or () if c and c.strip()]
        if codes:
            path += "?currencyCodes=" + quote(",".join(dict.fromkeys(codes)), safe=",")
        answer = self._call(
            "GET",
            path,
            bearer=lambda: tokens.bearer(op),
            on_unauthorized=lambda sent: tokens.renew_after_401(op, sent),
        )
        if answer.status != 200:
            raise error_for(answer, "GET", path)
        try:
            return parse_balances(_body(answer))
        except ValueError as exc:
            problem = str(exc)
        raise APIError(
            f"unreadable balances: {problem}",
            status=200,
            method="GET",
            path=path,
            code="bad_response",
        )

    def create_payout(
        self,
        id_payout: str,
        *,
        amount: Decimal | int | str,
        currency: str,
        method: str = "BANK_TRANSFER",
        account: Mapping[str, str],
        operator: str | None = None,
        callback_url: str | None = None,
        email: str | None = None,
        remark: str | None = None,
        customer_ip: str | None = None,
        store: Store | None = None,
        callback_key: CallbackKey | None = None,
    ) -> PayoutAccepted:
        """Create a payout (``POST /payouts/{id}``) with the documented body (§3.2).

        ``amount`` is sent as an exact JSON number in major units (``Decimal("10000")`` for IDR
        10000); a float is refused. Optional fields left empty are omitted, never sent as ``""``.
        If a retried POST meets 409, the first attempt may have been accepted: the payout is read
        back and, when it matches, counted as accepted.

        With a ``store``, an accepted payout's id goes on its register of known ids (source
        ``created``), so ``reconcile --include-known`` asks for it even if no ledger books it.

        ``callback_url`` is signed (:mod:`payrecon.receiver._keys`): a ``payrecon_sig`` query
        parameter with an HMAC of the id under ``callback_key``, by default the key beside
        ``store`` (created on first use). ``payrecon callbacks`` on that store trusts such a
        callback at once and refuses a forged one. Without a store or a key the URL is sent as
        given, and its callbacks are treated as unsigned.

        Raises
        ------
        BusinessError
            406, with ``code`` and ``attr_code`` (body as one object or a list).
        DuplicatePayout
            409: the id is already used.
        BadRequest, APIError, TransportError, CredentialsError
            Other failures.
        """
        _check_id(id_payout)
        money = _exact_amount(amount)
        if method not in PAYOUT_METHODS:
            log.info("payment method %r is not one the platform documents", method)
        if callback_url and callback_key is None and store is not None:
            from payrecon.receiver._keys import key_for_store

            callback_key = key_for_store(store.path)
        if callback_url and callback_key is not None:
            callback_url = callback_key.signed_url(callback_url, id_payout)
        payload = _payout_payload(
            money,
            currency,
            method,
            account,
            optional={"paymentOperatorCode": operator, "emailAddress": email, "remark": remark},
            callback_url=callback_url,
            customer_ip=customer_ip,
        )
        accepted = self._post_payout(id_payout, _json_body(payload), money, currency)
        if store is not None:
            store.register([id_payout], "created")
        return accepted

    def _post_payout(
        self, id_payout: str, body: bytes, money: Decimal, currency: str
    ) -> PayoutAccepted:
        """``POST /payouts/{id}`` under a token naming that POST and the GET that may follow:
        a retried POST that meets 409 may have been accepted the first time (its answer lost),
        so the payout is read back, and counted accepted when it matches."""
        post_op = payout_operation("POST", id_payout)
        tokens = self._token_set([post_op, payout_operation("GET", id_payout)])
        path = f"/payouts/{id_payout}"
        attempts = 0

        def bearer() -> str:
            nonlocal attempts
            attempts += 1
            return tokens.bearer(post_op)

        answer = self._call(
            "POST",
            path,
            body=body,
            bearer=bearer,
            on_unauthorized=lambda sent: tokens.renew_after_401(post_op, sent),
        )
        if answer.status == 201:
            data = _body(answer)
            return _accepted(id_payout, data if isinstance(data, Mapping) else {}, money, currency)
        if answer.status == 409 and attempts > 1:
            detail = self._get_detail(id_payout, tokens)
            if detail.amount == money and detail.currency == currency:
                log.info("POST %s: 409 on a retry; the payout matches, counted accepted", path)
                return _accepted(id_payout, detail.raw, money, currency)
        raise error_for(answer, "POST", path)

    # ------------------------------------------------------------------ bulk

    def fetch(
        self,
        ids: Iterable[str],
        *,
        sink: OutcomeSink | None = None,
        refresh: bool = False,
        progress: bool | None = None,
    ) -> list[FetchOutcome]:
        """One :class:`FetchOutcome` per unique id, first-seen order (see
        :mod:`payrecon.client._fetch`)."""
        from payrecon.client._fetch import BulkFetch

        show = self.progress if progress is None else progress
        return BulkFetch(self, sink=sink, refresh=refresh, progress=show).run(ids)

    def fetch_statuses(
        self,
        ids: Iterable[str],
        *,
        store: OutcomeSink | None = None,
        refresh: bool = False,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """The statuses table (``interface.md``) for ``ids``: one row per unique id, in order.

        Examples
        --------
        >>> statuses = client.fetch_statuses(["TST-1", "TST-2"])   # doctest: +SKIP
        >>> statuses["status"].value_counts()                       # doctest: +SKIP
        """
        from payrecon.statuses._table import statuses_frame

        return statuses_frame(self.fetch(ids, sink=store, refresh=refresh, progress=progress))


def _exact_amount(amount: Decimal | int | str) -> Decimal:
    """The amount as an exact decimal; a float (or a bool) is refused, never rounded."""
    if isinstance(amount, float | bool):
        raise InputError("amount must be a Decimal, int or decimal string, never a float")
    try:
        return Decimal(amount) if not isinstance(amount, Decimal) else amount
    except ArithmeticError:
        raise InputError(f"amount {amount!r} is not a number") from None


def _payout_payload(
    money: Decimal,
    currency: str,
    method: str,
    account: Mapping[str, str],
    *,
    optional: Mapping[str, str | None],
    callback_url: str | None,
    customer_ip: str | None,
) -> dict[str, Any]:
    """The documented body of ``POST /payouts/{id}`` (§3.2); fields left empty are omitted,
    never sent as ``""``."""
    payment_method: dict[str, Any] = {
        "paymentMethodCode": method,
        "account": {k: v for k, v in account.items() if v not in (None, "")},
    }
    payment_method.update({key: value for key, value in optional.items() if value})
    payload: dict[str, Any] = {
        "paymentRequested": {"money": {"amount": money, "currencyCode": currency}},
        "paymentMethod": payment_method,
    }
    if callback_url:
        payload["callbackUrl"] = callback_url
    if customer_ip:
        payload["customerIp"] = customer_ip
    return payload


@dataclass(slots=True)
class _Tries:
    """What one call has met so far: retries (errors, 5xx), renewals (401), and 429s."""

    retries: int = 0
    renewals: int = 0
    throttled: int = 0


def _check(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Stopped


def _log_try(method: str, path: str, answer: Answer | None, failure: str, retry: int) -> None:
    if answer is not None:
        log.debug(
            "%s %s -> %d in %.3fs (retry %d)", method, path, answer.status, answer.elapsed, retry
        )
    else:
        log.debug("%s %s -> no answer (%s) (retry %d)", method, path, failure, retry)


def _check_id(id_payout: object) -> None:
    if not is_valid_id(id_payout):
        shown = repr(id_payout)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        raise InputError(f"invalid payout id {shown}: the platform allows ^[A-Za-z0-9_-]{{1,250}}$")


def _accepted(
    id_payout: str, data: Mapping[str, Any], amount: Decimal, currency: str
) -> PayoutAccepted:
    requested = data.get("paymentRequested")
    money = requested.get("money") if isinstance(requested, Mapping) else None
    got_amount = money.get("amount") if isinstance(money, Mapping) else None
    got_currency = money.get("currencyCode") if isinstance(money, Mapping) else None
    method = data.get("paymentMethodResponse")
    method = method if isinstance(method, Mapping) else {}
    return PayoutAccepted(
        id_payout=id_payout,
        amount=Decimal(got_amount)
        if isinstance(got_amount, Decimal | int) and not isinstance(got_amount, bool)
        else amount,
        currency=got_currency if isinstance(got_currency, str) else currency,
        payment_method_code=method.get("paymentMethodCode"),
        id_payment=method.get("idPayment"),
        reference=method.get("reference"),
        raw=data,
    )


def _scrub(text: str) -> str:
    """A transport error's text, cut short: it names host and path, never a body."""
    return text if len(text) <= 300 else text[:297] + "..."
