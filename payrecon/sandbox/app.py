"""The HTTP face of the sandbox: aiohttp handlers for the documented endpoints.

Every business call (``/payouts/...``, ``/balances``) runs the same gauntlet, in this order:
injected latency, ``X-API-Version`` (400), the id rule (400, payouts only), injected faults (500 /
429 / 401), the bearer token (401), the merchant's rate limit (429, ``Retry-After`` unless
configured without), the operation named in the token (403).
Only then is the payout read or created. Everything the sandbox does not implement is a JSON 404,
a wrong method a JSON 405, an oversized body 413: nothing but an injected fault is ever a 5xx.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from payrecon.platform import API_VERSION, OPERATION_RULE, PROCESSING, is_valid_id
from payrecon.sandbox import openapi
from payrecon.sandbox.balances import balances
from payrecon.sandbox.callbacks import CallbackSender
from payrecon.sandbox.config import Faults, Merchant, SandboxConfig
from payrecon.sandbox.faults import delay_for, random_failure
from payrecon.sandbox.payouts import Payout, PayoutBook, fee_for, new_payment_ids, outcome_for
from payrecon.sandbox.ratelimit import RateLimiter
from payrecon.sandbox.stats import Recorder
from payrecon.sandbox.tokens import Claims, TokenAuthority
from payrecon.sandbox.validation import parse_json, payout_request, token_request
from payrecon.sandbox.wire import Refusal, basic_error, dumps

log = logging.getLogger("payrecon.sandbox")

_JSON = "application/json"
_VERSION = str(API_VERSION)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge key by key, ``None`` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _json(status: int, body: str | bytes, headers: dict[str, str] | None = None) -> web.Response:
    data = body.encode() if isinstance(body, str) else body
    return web.Response(status=status, body=data, content_type=_JSON, headers=headers)


def _refused(exc: Refusal) -> web.Response:
    return _json(exc.status, exc.body, exc.headers or None)


class SandboxApp:
    """The platform's state and its handlers; everything runs on one event loop."""

    def __init__(self, config: SandboxConfig, faults: Faults) -> None:
        self.config = config
        self.faults = faults
        self.merchants: dict[str, Merchant] = {m.code: m for m in config.merchants}
        self.tokens = TokenAuthority()
        self.book = PayoutBook()
        self.recorder = Recorder()
        self.limiter = RateLimiter(config.rate_limit, config.burst)
        self.callbacks = CallbackSender(config, self.recorder)
        self.rng = random.Random(faults.random_seed)

    def build(self) -> web.Application:
        app = web.Application(middlewares=[self._errors], client_max_size=self.config.max_body)
        app.router.add_post("/auth-tokens", self.post_auth_tokens)
        app.router.add_get("/payouts/{idPayout}", self.get_payout, allow_head=False)
        app.router.add_post("/payouts/{idPayout}", self.post_payout)
        app.router.add_get("/balances", self.get_balances, allow_head=False)
        app.router.add_get("/openapi.json", self.get_openapi, allow_head=False)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _cleanup(self, app: web.Application) -> None:
        await self.callbacks.close()

    # ------------------------------------------------------------------ cross-cutting

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """aiohttp's own refusals (404, 405, 413) as JSON ``BasicError``; a crash as a JSON 500."""
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            self.recorder.requests[(request.method, "other", exc.status)] += 1
            headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            return _json(exc.status, basic_error(exc.reason), headers)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sandbox bug on %s %s", request.method, request.path)
            self.recorder.requests[(request.method, "other", 500)] += 1
            return _json(500, basic_error("Internal server error."))

    async def _delay(self) -> None:
        seconds = delay_for(self.faults, self.rng)
        if seconds > 0:
            await asyncio.sleep(seconds)

    @staticmethod
    def _check_version(request: web.Request) -> None:
        version = request.headers.get("X-API-Version")
        if version is None:
            raise Refusal.basic(400, "The X-API-Version header is required.")
        if version.strip() != _VERSION:
            raise Refusal.basic(400, f"Unsupported API version {version!r}; use {_VERSION}.")

    def _gate(self, request: web.Request, method: str, id_payout: str) -> Claims:
        """Checks shared by both payout operations; the claims of an allowed caller."""
        self._check_version(request)
        if not is_valid_id(id_payout):
            raise Refusal.basic(400, "idPayout must match ^[A-Za-z0-9_-]{1,250}$.")
        return self._authorize(request, f"{method} /payouts/{id_payout}")

    def _authorize(self, request: web.Request, operation: str) -> Claims:
        """Faults, the bearer token, the rate limit, the operation, the merchant: the claims."""
        failure = random_failure(self.faults, self.rng)
        if failure == 500:
            raise Refusal.basic(500, "Internal server error (injected).")
        if failure == 429:
            after = self.faults.error_429_retry_after
            extra = {} if after is None else {"Retry-After": f"{after:g}"}
            raise Refusal.basic(429, "Too many requests (injected).", **extra)
        if failure == 401:
            raise Refusal.basic(401, "The token was revoked (injected).")
        auth = request.headers.get("Authorization", "")
        claims = None
        if auth[:7].lower() == "bearer ":
            claims = self.tokens.check(auth[7:].strip())
        if claims is None:
            raise Refusal.basic(401, "Missing, malformed or expired authorization token.")
        wait = self.limiter.take(claims.sub)
        if wait is not None:
            extra = {"Retry-After": str(wait)} if self.config.rate_limit_retry_after else {}
            raise Refusal.basic(429, "Too many requests.", **extra)
        if operation not in claims.operations:
            raise Refusal.basic(403, "The token does not allow this operation.")
        merchant = self.merchants.get(claims.sub)
        if merchant is None or not merchant.active:
            raise Refusal.business("MERCHANT_INACTIVE", "The merchant is not active.")
        return claims

    # ------------------------------------------------------------------ handlers

    async def post_auth_tokens(self, request: web.Request) -> web.Response:
        await self._delay()
        try:
            self._check_version(request)
            if self.rng.random() < self.faults.error_500_rate:
                raise Refusal.basic(500, "Internal server error (injected).")
            req = token_request(parse_json(await request.read()), self.faults.max_operations)
            merchant = self.merchants.get(req.merchant_code)
            if merchant is None:
                raise Refusal.business("MERCHANT_NOT_FOUND", "Unknown merchant.", "merchantCode")
            if not hmac.compare_digest(merchant.secret.encode(), req.secret.encode()):
                raise Refusal.basic(403, "The secret does not have permission.")
            if not merchant.active:
                raise Refusal.business("MERCHANT_INACTIVE", "The merchant is not active.")
            for op in req.operations:
                if OPERATION_RULE.fullmatch(op) is None:
                    raise Refusal.business(
                        "OPERATION_INVALID", f"Invalid operation {op[:100]!r}.", "operations"
                    )
        except Refusal as exc:
            self.recorder.requests[("POST", "auth-tokens", exc.status)] += 1
            return _refused(exc)
        token = self.tokens.mint(
            merchant.code,
            req.operations,
            req.validity,
            money=req.money,
            lifetime_cap=self.faults.token_lifetime,
        )
        self.recorder.token_operations.append(list(req.operations))
        self.recorder.tokens_per_merchant[merchant.code] += 1
        self.recorder.requests[("POST", "auth-tokens", 200)] += 1
        return _json(200, dumps({"token": token}))

    async def get_payout(self, request: web.Request) -> web.Response:
        id_payout = request.match_info["idPayout"]
        self.recorder.get_attempts[id_payout] += 1
        if self.faults.latency or self.faults.latency_profile:
            await self._delay()
        try:
            claims = self._gate(request, "GET", id_payout)
            payout = self.book.get(claims.sub, id_payout)
            if payout is None:
                raise Refusal.basic(410, "Entity not found.")
        except Refusal as exc:
            self.recorder.requests[("GET", "payout", exc.status)] += 1
            return _refused(exc)
        self.recorder.requests[("GET", "payout", 200)] += 1
        self.recorder.gets_ok[(claims.sub, id_payout)] += 1
        patch = self.faults.detail_patches.get(id_payout)
        if patch is not None:  # an injected oddity in this payout's detail
            return _json(200, dumps(merge_patch(payout.detail(time.time()), patch)))
        return _json(200, payout.detail_body(time.time()))

    async def post_payout(self, request: web.Request) -> web.Response:
        id_payout = request.match_info["idPayout"]
        await self._delay()
        try:
            claims = self._gate(request, "POST", id_payout)
            req = payout_request(parse_json(await request.read()))
            if claims.money is not None and (req.amount, req.currency) != claims.money:
                raise Refusal.basic(403, "The token is locked to another amount or currency.")
            if self.book.get(claims.sub, id_payout) is not None:
                raise Refusal.basic(409, "The provided Merchant Order ID is duplicated.")
        except Refusal as exc:
            self.recorder.requests[("POST", "payout", exc.status)] += 1
            return _refused(exc)
        payout = self.create(claims.sub, id_payout, req.amount, req.currency, req.method)
        payout.operator = req.operator
        payout.callback_url = req.callback_url
        payout.segment_code = req.segment_code
        payout.exchanged_to = req.exchanged_to
        self._schedule_callbacks(payout)
        self.recorder.requests[("POST", "payout", 201)] += 1
        body = {
            "paymentRequested": payout.requested(),
            "paymentMethodResponse": payout.method_response(),
        }
        return _json(201, dumps(body))

    async def get_balances(self, request: web.Request) -> web.Response:
        """``GET /balances``: each currency account (:mod:`payrecon.sandbox.balances`)."""
        if self.faults.latency or self.faults.latency_profile:
            await self._delay()
        try:
            self._check_version(request)
            claims = self._authorize(request, "GET /balances")
        except Refusal as exc:
            self.recorder.requests[("GET", "balances", exc.status)] += 1
            return _refused(exc)
        wanted = request.query.get("currencyCodes")
        codes = None if wanted is None else {c.strip() for c in wanted.split(",") if c.strip()}
        data = balances(self.book.of(claims.sub), time.time(), self.config.opening_balance, codes)
        self.recorder.requests[("GET", "balances", 200)] += 1
        return _json(200, dumps({"data": data}))

    async def get_openapi(self, request: web.Request) -> web.Response:
        self.recorder.requests[("GET", "openapi", 200)] += 1
        return _json(200, openapi.document_bytes())

    # ------------------------------------------------------------------ state

    def create(
        self, merchant: str, id_payout: str, amount: Decimal, currency: str, method: str
    ) -> Payout:
        """A new payout, PROCESSING now and final ``final_after`` seconds later by amount rules."""
        now = time.time()
        status, code, message = outcome_for(amount)
        final_at = None if status == PROCESSING else now + self.config.final_after
        id_payment, reference = new_payment_ids()
        payout = Payout(
            merchant=merchant,
            id_payout=id_payout,
            amount=amount,
            currency=currency,
            method=method,
            operator=None,
            id_payment=id_payment,
            reference=reference,
            created_at=now,
            final_at=final_at,
            final_status=status,
            failure_code=code,
            failure_message=message,
            fee=fee_for(amount, currency),
            fee_currency=currency,
            processed_at=final_at,
        )
        added = self.book.add(payout)
        assert added, "caller checked for a duplicate"
        return payout

    def _schedule_callbacks(self, payout: Payout) -> None:
        if not payout.callback_url:
            return
        if self.config.callback_on_create and payout.final_at != payout.created_at:
            self.callbacks.schedule(payout, 0)
        if payout.final_at is not None:
            self.callbacks.schedule(payout, payout.final_at - time.time())
