"""Documented facts of the payouts platform's API (OpenAPI v2.47 and the payout guide).

This module is the only thing the client and the emulator (``payrecon.sandbox``) share, so it holds
facts and nothing else: constants and tiny pure predicates. Behaviour lives on each side of the
wire, so the emulator can catch the client's mistakes instead of repeating them. The source of each
fact is ``shared/platform-api.md``; the section is named beside it.
"""

from __future__ import annotations

import re
from typing import Final

#: Hosts by preset name (§1). The AOPay live host is documented nowhere: no preset for it.
PRESETS: Final[dict[str, str]] = {
    "aopay-sandbox": "https://api.sandbox.aopay.io",
    "echelonpay-sandbox": "https://api.sandbox.echelonpay.com",
    "echelonpay": "https://api.echelonpay.com",
}

#: ``X-API-Version`` is required on every operation; 2 is the only value ever seen (§1, §5.6).
API_VERSION: Final = 2

#: Merchant Order ID and platform id rule (§3.1): the id goes into a URL path and a token's
#: ``operations``, so anything outside this set must never be sent.
ID_RULE: Final = re.compile(r"[A-Za-z0-9_-]{1,250}")

#: ``operations`` item pattern (§2.1). The spec has no ``$`` anchor; we anchor it on both sides.
OPERATION_RULE: Final = re.compile(r"(POST|GET|PATCH|PUT|DELETE) /[^ ]+")

# Token validity bounds in seconds for POST /auth-tokens (§2.1).
TOKEN_VALIDITY_MIN: Final = 60
TOKEN_VALIDITY_MAX: Final = 3600
TOKEN_VALIDITY_DEFAULT: Final = 1800

# Payment statuses (§4.1). Unknown future values must be accepted by clients (§5.6).
PROCESSING: Final = "PROCESSING"
SUCCESS: Final = "SUCCESS"
FAILED: Final = "FAILED"
REFUSED: Final = "REFUSED"
STATUSES: Final = (PROCESSING, SUCCESS, FAILED, REFUSED)
FINAL_STATUSES: Final = frozenset({SUCCESS, FAILED, REFUSED})

PROCESSOR_STATUSES: Final = ("ACCEPTED", "PROCESSED")

#: Payout method codes (§3.2, §7).
PAYOUT_METHODS: Final = ("BANK_TRANSFER", "CRYPTO_TRANSFER", "WALLET_TRANSFER")

#: Currencies with no fractional part allowed (§6 names IDR and INR; the issue adds the usual
#: zero-decimal ISO 4217 ones the platform lists). Every other currency takes two decimals.
ZERO_DECIMAL_CURRENCIES: Final = frozenset({"IDR", "INR", "VND", "JPY", "KRW"})
DEFAULT_CURRENCY_DECIMALS: Final = 2

#: ``failureReasons.failureReasonCode`` values on a payout detail (§4.2).
FAILURE_REASON_CODES: Final = (
    "SYSTEM",
    "PAYMENT_PROCESS_ERROR",
    "ENTITY_EXPIRED",
    "DIFFERENT_AMOUNT_CONFIRMED",
    "CURRENCY_NOT_SUPPORTED",
    "CURRENCY_PRECISION_EXCEEDED",
    "PAYMENT_METHOD_NOT_FOUND",
    "PAYMENT_METHOD_ERROR",
    "PAYMENT_OPERATOR_NOT_FOUND",
    "PAYMENT_OPERATOR_INVALID",
    "PAYMENT_OPERATOR_UNAVAILABLE",
    "PAYMENT_CHANNEL_NO_ACTIVE_FOUND",
    "PAYMENT_CHANNEL_NO_OPENED_FOUND",
    "PAYMENT_CHANNEL_NO_SEGMENT_FOUND",
    "PAYMENT_CHANNEL_AMOUNT_LIMITS",
    "PAYMENT_CHANNEL_DAILY_LIMITS",
    "IP_DENIED",
    "BALANCE_INSUFFICIENT",
    "INVALID_ACCOUNT_NUMBER",
    "INVALID_ACCOUNT_NAME",
    "INCORRECT_CURRENCY",
)

#: 406 codes of POST /auth-tokens (§2.1).
AUTH_TOKEN_406_CODES: Final = ("MERCHANT_NOT_FOUND", "OPERATION_INVALID", "MERCHANT_INACTIVE")

#: 406 codes of POST /payouts/{idPayout} (§3.3).
PAYOUT_CREATE_406_CODES: Final = (
    "CURRENCY_NOT_SUPPORTED",
    "CURRENCY_PRECISION_EXCEEDED",
    "PAYMENT_METHOD_NOT_FOUND",
    "PAYMENT_METHOD_ERROR",
    "PAYMENT_OPERATOR_NOT_FOUND",
    "PAYMENT_OPERATOR_INVALID",
    "PAYMENT_OPERATOR_REQUIRED",
    "PAYMENT_OPERATOR_UNAVAILABLE",
    "PAYMENT_CHANNEL_NO_ACTIVE_FOUND",
    "PAYMENT_CHANNEL_NO_OPENED_FOUND",
    "PAYMENT_CHANNEL_NO_SEGMENT_FOUND",
    "PAYMENT_CHANNEL_AMOUNT_LIMITS",
    "PAYMENT_CHANNEL_DAILY_LIMITS",
    "IP_DENIED",
    "CLIENT_IP_INVALID",
    "BALANCE_INSUFFICIENT",
    "BANK_CODE_REQUIRED",
)

#: Callback retry policy (§5.1): anything but exactly 200 is retried 4 more times, 2 minutes apart.
CALLBACK_ATTEMPTS: Final = 5
CALLBACK_RETRY_INTERVAL_SECS: Final = 120.0


def is_valid_id(value: object) -> bool:
    """True when ``value`` may be sent as an ``idPayout`` (it goes into a URL path unescaped)."""
    return isinstance(value, str) and ID_RULE.fullmatch(value) is not None


def currency_decimals(currency_code: str) -> int:
    """Fraction digits the platform accepts for an amount in this currency (§6)."""
    return 0 if currency_code.upper() in ZERO_DECIMAL_CURRENCIES else DEFAULT_CURRENCY_DECIMALS


def payout_operation(method: str, id_payout: str) -> str:
    """The ``operations`` string that authorizes ``method`` on one payout (§2.1)."""
    return f"{method} /payouts/{id_payout}"
