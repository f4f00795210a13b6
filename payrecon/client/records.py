"""Typed records of what the platform says about one payout, parsed exactly.

Amounts arrive as JSON numbers; they are parsed with ``parse_float=Decimal`` (see
:func:`loads`) so no binary float ever touches money. Fields the platform marks optional are
``None`` when absent, and unknown fields are kept in ``raw`` rather than rejected (§5.6: new
values and fields may appear without a version bump).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable


def loads(text: str | bytes) -> Any:
    """Parse platform JSON with every non-integer number as an exact ``Decimal``."""
    return json.loads(text, parse_float=Decimal)


class UnreadableDetail(ValueError):
    """A payout detail that breaks the documented types: the message names the field and why.

    The bulk fetch turns it into that payout's ``bad_response`` row (the body kept in the
    store), never into a failed run.
    """


#: RFC 3339 ``date-time`` (section 5.6): ``T`` or ``t`` (or, as the RFC allows, a space)
#: between date and time, a fraction of any length, ``Z``/``z`` or a numeric offset (its
#: colon may be missing, as ISO 8601's basic form has it).
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)


def parse_timestamp(value: object, where: str = "timestamp") -> datetime | None:
    """Any RFC 3339 timestamp as an aware UTC ``datetime``; ``None`` when absent or empty.

    Every form the RFC allows is read: ``Z`` or ``z``, ``T``, ``t`` or a space, an offset
    (``-00:00`` is UTC), a fraction of any length (cut to the microsecond a ``datetime``
    holds), a leap second (``23:59:60`` is the instant after ``23:59:59``). A time without an
    offset is taken as UTC, as the platform's own examples are. Anything else raises
    :class:`UnreadableDetail` naming ``where``.
    """
    if value is None or value == "":
        return None
    match = _RFC3339.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise UnreadableDetail(f"{where} is not an RFC 3339 timestamp: {_shown(value)}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zulu, sign, off_h, off_m = match.groups()[6:]
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    leap = second == 60
    try:
        if leap:
            second = 59
        offset = timedelta(0)
        if sign is not None:
            if int(off_h) > 23 or int(off_m) > 59:
                raise ValueError("offset out of range")
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            offset = -offset if sign == "-" else offset
        parsed = datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone(offset))
    except ValueError:
        raise UnreadableDetail(f"{where} is not a valid date and time: {_shown(value)}") from None
    if leap:
        parsed += timedelta(seconds=1)
    del zulu  # Z, z or nothing: UTC, which the offset of 0 already says
    return parsed.astimezone(UTC)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


#: Exact money the statuses table can hold: ``decimal128(30, 8)``, 22 digits before the point.
MONEY_SCALE = 8
MONEY_INTEGER_DIGITS = 22


def money_fits(value: Decimal | None) -> bool:
    """True when ``value`` is finite and fits the statuses table's exact money type."""
    if value is None:
        return True
    if not value.is_finite():
        return False
    if value.is_zero():
        return True
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    scale = max(0, -(exponent + trailing))  # decimals needed once trailing zeros go
    int_digits = max(0, value.adjusted() + 1)  # no context: 1e999999999 must not overflow
    return scale <= MONEY_SCALE and int_digits <= MONEY_INTEGER_DIGITS


def _money(obj: object, where: str) -> tuple[Decimal | None, str | None]:
    """``(amount, currencyCode)`` of a money object; a number the table cannot hold exactly,
    or one that is not a JSON number at all (a string, NaN, ``true``), is unreadable."""
    if obj is None:
        return None, None
    if not isinstance(obj, Mapping):
        raise UnreadableDetail(f"{where} is not an object")
    amount = obj.get("amount")
    if amount is None:
        amount_dec = None
    elif isinstance(amount, bool) or not isinstance(amount, int | Decimal):
        raise UnreadableDetail(f"{where}.amount is not a JSON number: {_shown(amount)}")
    else:
        amount_dec = Decimal(amount) if isinstance(amount, int) else amount
        if not money_fits(amount_dec):
            raise UnreadableDetail(
                f"{where}.amount has more than {MONEY_SCALE} decimals or "
                f"{MONEY_INTEGER_DIGITS} integer digits (or is not finite)"
            )
    return amount_dec, _text(obj, "currencyCode", where)


def _text(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise UnreadableDetail(f"{where}.{key} is not text: {_shown(value)}")


def _object(obj: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UnreadableDetail(f"{where}{key} is not an object")
    return value


@dataclass(frozen=True, slots=True)
class PayoutDetail:
    """``GET /payouts/{idPayout}`` parsed (§3.4). ``raw`` is the JSON as received."""

    id_payout: str
    status: str
    amount: Decimal | None
    currency: str | None
    fee_amount: Decimal | None
    fee_currency: str | None
    payment_method_code: str | None
    id_payment: str | None
    reference: str | None
    created_at: datetime | None
    processed_at: datetime | None
    is_test: bool | None
    failure_reason_code: str | None
    failure_message: str | None
    failed_at: datetime | None
    processor_status: str | None
    raw: Mapping[str, Any]

    @property
    def is_final(self) -> bool:
        from payrecon.platform import FINAL_STATUSES

        return self.status in FINAL_STATUSES

    @classmethod
    def from_json(cls, id_payout: str, data: Mapping[str, Any]) -> PayoutDetail:
        """Build from a parsed detail body. ``id_payout`` is the id asked for, the key we trust.

        Absent optional parts are ``None`` (the status ``""``); parts of the wrong type, an
        amount that is not an exact number the table can hold, a timestamp that is not RFC
        3339 raise :class:`UnreadableDetail` naming the field.
        """
        requested = _object(data, "paymentRequested", "")
        amount, currency = _money(requested.get("money"), "paymentRequested.money")
        fee_amount, fee_currency = _money(data.get("fee"), "fee")
        process = _object(data, "process", "")
        failure = process.get("failureReasons")
        if isinstance(failure, list):  # the spec says one object; tolerate a list of them
            failure = failure[0] if failure else None
        failure = _object({"failureReasons": failure}, "failureReasons", "process.")
        method = _object(data, "paymentMethodResponse", "")
        is_test = process.get("isTest")
        if is_test is not None and not isinstance(is_test, bool):
            raise UnreadableDetail(f"process.isTest is not true or false: {_shown(is_test)}")
        return cls(
            id_payout=id_payout,
            status=_text(process, "status", "process") or "",
            amount=amount,
            currency=currency,
            fee_amount=fee_amount,
            fee_currency=fee_currency,
            payment_method_code=_text(method, "paymentMethodCode", "paymentMethodResponse"),
            id_payment=_text(method, "idPayment", "paymentMethodResponse"),
            reference=_text(method, "reference", "paymentMethodResponse"),
            created_at=parse_timestamp(process.get("createdAt"), "process.createdAt"),
            processed_at=parse_timestamp(process.get("processedAt"), "process.processedAt"),
            is_test=is_test,
            failure_reason_code=_text(failure, "failureReasonCode", "process.failureReasons"),
            failure_message=_text(failure, "message", "process.failureReasons"),
            failed_at=parse_timestamp(failure.get("failedAt"), "process.failureReasons.failedAt"),
            processor_status=_text(process, "processorStatus", "process"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class PayoutAccepted:
    """``POST /payouts/{idPayout}`` answered 201 (§3.3); ``id_payment``, ``reference`` may lack."""

    id_payout: str
    amount: Decimal | None
    currency: str | None
    payment_method_code: str | None
    id_payment: str | None
    reference: str | None
    raw: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What one id's fetch ended with: a detail, or an error word (``not_found``, ...).

    ``http_status`` is the final HTTP status (``None`` when nothing was sent or nothing came back).
    ``from_store`` is True when the answer was served from the store instead of the platform.
    ``unreadable`` is the body of an answer the parser could not read (``error`` says
    ``bad_response``), so the store keeps it for whoever investigates.
    """

    id_payout: str
    detail: PayoutDetail | None
    http_status: int | None
    error: str = ""
    from_store: bool = False
    #: The body of an answer that could not be read (``bad_response``), kept for the store.
    unreadable: bytes | None = field(default=None, repr=False)


class OutcomeSink(Protocol):
    """What a bulk fetch asks of a store: which ids it may skip, and where each answer goes.

    ``record`` is called from the thread that called the fetch, once per outcome, as it arrives.
    """

    def known_final(self, ids: Sequence[str]) -> Mapping[str, PayoutDetail]: ...

    def record(self, outcome: FetchOutcome) -> None: ...


@runtime_checkable
class PaceMemory(Protocol):
    """A sink that also remembers the rate limit a run met, so the next run need not find it
    again (the store does; see :meth:`payrecon.client._throttle.AdaptiveRate.resume`)."""

    def learned_pace(self) -> float | None: ...

    def remember_pace(self, limit: float) -> None: ...
