"""Payout state: the amount rules that pick an outcome, the fee schedule, the lifecycle, the detail.

The lifecycle is computed, not driven: a payout knows when it was created and when it turns final
(``final_at``), and its status at any moment follows from the clock. That keeps 40,000 payouts
cheap (no timer each) and makes ``final_after=0`` mean "final at once" with no race.

Amount rules (the platform's sandbox also picks outcomes by amount, §7), on the last two digits of
the amount's integer part:

========  =========  =================================
ends in   status     failureReasonCode
========  =========  =================================
``13``    FAILED     ``INVALID_ACCOUNT_NUMBER``
``14``    FAILED     ``INVALID_ACCOUNT_NAME``
``15``    FAILED     ``BALANCE_INSUFFICIENT``
``66``    REFUSED    ``PAYMENT_CHANNEL_AMOUNT_LIMITS``
``99``    PROCESSING (never final: a payout that stays pending)
other     SUCCESS    (the guide's IDR 10000 succeeds)
========  =========  =================================

Fees (``FEE_SCHEDULE``): percent of the amount plus a fixed part, in the payout's currency, rounded
half-up to the currency's precision. Every payout carries its fee whatever its status, FAILED and
REFUSED included: the spec makes ``fee`` required and greater than zero on every detail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal

from payrecon.platform import FAILED, PROCESSING, REFUSED, SUCCESS, currency_decimals
from payrecon.sandbox.wire import dumps, timestamp

#: Per-currency fee: (percent of the amount, fixed part), fee currency = payout currency. The keys
#: are also the currencies the sandbox supports; any other gets 406 CURRENCY_NOT_SUPPORTED.
FEE_SCHEDULE: dict[str, tuple[Decimal, Decimal]] = {
    "IDR": (Decimal("1"), Decimal("2500")),
    "INR": (Decimal("1"), Decimal("10")),
    "VND": (Decimal("1"), Decimal("5000")),
    "JPY": (Decimal("1"), Decimal("30")),
    "KRW": (Decimal("1"), Decimal("300")),
    "THB": (Decimal("1"), Decimal("5.00")),
    "CNY": (Decimal("1"), Decimal("1.50")),
    "ZAR": (Decimal("1.5"), Decimal("3.00")),
    "USD": (Decimal("1.5"), Decimal("0.30")),
    "EUR": (Decimal("1.2"), Decimal("0.25")),
    "USDT": (Decimal("1"), Decimal("1.00")),
}

#: Outcome by the last two digits of the integer part: (status, failureReasonCode, message).
AMOUNT_RULES: dict[int, tuple[str, str | None, str | None]] = {
    13: (FAILED, "INVALID_ACCOUNT_NUMBER", "The account number does not exist at the bank."),
    14: (FAILED, "INVALID_ACCOUNT_NAME", "The account name does not match the account."),
    15: (FAILED, "BALANCE_INSUFFICIENT", "The merchant balance does not cover the payout."),
    66: (REFUSED, "PAYMENT_CHANNEL_AMOUNT_LIMITS", "The amount is outside the channel's limits."),
    99: (PROCESSING, None, None),
}

#: Amounts at or above this are refused synchronously (406 PAYMENT_CHANNEL_AMOUNT_LIMITS); it also
#: keeps every amount well inside exact decimal arithmetic.
MAX_AMOUNT = Decimal("1e15")

_EXACT = Context(prec=60)


def outcome_for(amount: Decimal) -> tuple[str, str | None, str | None]:
    """The status a new payout of ``amount`` ends in, with its failure code and message."""
    return AMOUNT_RULES.get(int(amount) % 100, (SUCCESS, None, None))


def fee_for(amount: Decimal, currency: str) -> Decimal:
    """The schedule's fee for ``amount`` in ``currency``, rounded half-up to its precision."""
    percent, fixed = FEE_SCHEDULE.get(currency, (Decimal("1"), Decimal("0.10")))
    raw = _EXACT.add(_EXACT.divide(_EXACT.multiply(amount, percent), Decimal(100)), fixed)
    step = Decimal(1).scaleb(-currency_decimals(currency))
    return raw.quantize(step, rounding=ROUND_HALF_UP, context=_EXACT)


def fraction_digits(amount: Decimal) -> int:
    """Digits that matter after the point (``42.00`` has none), counted exactly."""
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    trailing = 0
    for d in reversed(digits):
        if d != 0 or exponent + trailing >= 0:
            break
        trailing += 1
    return max(0, -(exponent + trailing))


def new_payment_ids() -> tuple[str, str]:
    """A platform ``idPayment`` and a ``reference``, both within the id rule."""
    u = uuid.uuid4().hex.upper()
    return f"PAY{u[:20]}", f"REF-{u[20:32]}"


@dataclass(slots=True)
class Payout:
    """One payout as the platform holds it. ``final_at`` None: it never leaves its status."""

    merchant: str
    id_payout: str
    amount: Decimal
    currency: str
    method: str
    operator: str | None
    id_payment: str
    reference: str
    created_at: float
    final_at: float | None
    final_status: str
    failure_code: str | None = None
    failure_message: str | None = None
    is_test: bool = True
    fee: Decimal = Decimal(0)
    fee_currency: str = ""
    processed_at: float | None = None
    callback_url: str | None = None
    segment_code: str | None = None
    exchanged_to: str | None = None
    seeded: bool = False
    _final_body: bytes | None = field(default=None, repr=False)

    def status_at(self, now: float) -> str:
        if self.final_at is not None and now >= self.final_at:
            return self.final_status
        return PROCESSING

    def is_final_at(self, now: float) -> bool:
        return self.status_at(now) != PROCESSING

    def requested(self) -> dict[str, object]:
        req: dict[str, object] = {"money": {"amount": self.amount, "currencyCode": self.currency}}
        if self.segment_code is not None:
            req["segmentCode"] = self.segment_code
        if self.exchanged_to is not None:
            req["exchangedToCurrency"] = self.exchanged_to
        return req

    def method_response(self) -> dict[str, object]:
        return {
            "idPayout": self.id_payout,
            "idPayment": self.id_payment,
            "paymentMethodCode": self.method,
            "reference": self.reference,
        }

    def detail(self, now: float) -> dict[str, object]:
        """The ``PayoutDetail`` (§3.4) as it stands at ``now``."""
        status = self.status_at(now)
        process: dict[str, object] = {"status": status, "createdAt": timestamp(self.created_at)}
        if status != PROCESSING:
            if self.processed_at is not None:
                process["processedAt"] = timestamp(self.processed_at)
            if self.failure_code is not None:
                failed_at = self.processed_at if self.processed_at is not None else self.created_at
                reasons: dict[str, object] = {
                    "failedAt": timestamp(failed_at),
                    "failureReasonCode": self.failure_code,
                }
                if self.failure_message:
                    reasons["message"] = self.failure_message
                process["failureReasons"] = reasons
        process["isTest"] = self.is_test
        if status == PROCESSING:
            process["processorStatus"] = "ACCEPTED"
        elif status in (SUCCESS, FAILED):
            process["processorStatus"] = "PROCESSED"
        return {
            "paymentRequested": self.requested(),
            "process": process,
            "fee": {"amount": self.fee, "currencyCode": self.fee_currency or self.currency},
            "paymentMethodResponse": self.method_response(),
        }

    def detail_body(self, now: float) -> bytes:
        """The detail as JSON bytes; cached once final, since a final payout never changes."""
        if self._final_body is not None:
            return self._final_body
        body = dumps(self.detail(now)).encode()
        if self.is_final_at(now):
            self._final_body = body
        return body


class PayoutBook:
    """Every payout, by (merchant, id): a Merchant Order ID is unique within its merchant."""

    def __init__(self) -> None:
        self._payouts: dict[tuple[str, str], Payout] = {}

    def __len__(self) -> int:
        return len(self._payouts)

    def get(self, merchant: str, id_payout: str) -> Payout | None:
        return self._payouts.get((merchant, id_payout))

    def add(self, payout: Payout) -> bool:
        """Store ``payout``; False (and nothing stored) when its id is already used."""
        key = (payout.merchant, payout.id_payout)
        if key in self._payouts:
            return False
        self._payouts[key] = payout
        return True

    def of(self, merchant: str) -> list[Payout]:
        """Every payout of one merchant."""
        return [p for (m, _), p in self._payouts.items() if m == merchant]

    def put(self, payout: Payout) -> None:
        """Store or replace (seeding a file twice replaces its rows)."""
        self._payouts[(payout.merchant, payout.id_payout)] = payout
