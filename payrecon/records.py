"""Typed records of what the platform says about one payout, parsed exactly.

Amounts arrive as JSON numbers; they are parsed with ``parse_float=Decimal`` (see
:func:`loads`) so no binary float ever touches money. Fields the platform marks optional are
``None`` when absent, and unknown fields are kept in ``raw`` rather than rejected (§5.6: new
values and fields may appear without a version bump).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol


def loads(text: str | bytes) -> Any:
    """Parse platform JSON with every non-integer number as an exact ``Decimal``."""
    return json.loads(text, parse_float=Decimal)


def parse_timestamp(value: object) -> datetime | None:
    """Parse any RFC 3339 timestamp (``Z``, an offset, with or without a fraction) to aware UTC."""
    if not isinstance(value, str) or not value:
        return None
    from datetime import UTC

    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:  # RFC 3339 requires an offset; treat a bare one as UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _money(obj: object) -> tuple[Decimal | None, str | None]:
    if not isinstance(obj, Mapping):
        return None, None
    amount = obj.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal | str):
        amount_dec = None
    else:
        amount_dec = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    currency = obj.get("currencyCode")
    return amount_dec, currency if isinstance(currency, str) else None


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
        """Build from a parsed detail body. ``id_payout`` is the id asked for, the key we trust."""
        requested = data.get("paymentRequested") or {}
        amount, currency = _money(
            requested.get("money") if isinstance(requested, Mapping) else None
        )
        fee_amount, fee_currency = _money(data.get("fee"))
        process = data.get("process") or {}
        if not isinstance(process, Mapping):
            process = {}
        failure = process.get("failureReasons")
        if not isinstance(failure, Mapping):  # the spec says one object; tolerate a list of them
            failure = failure[0] if isinstance(failure, list) and failure else {}
        method = data.get("paymentMethodResponse") or {}
        if not isinstance(method, Mapping):
            method = {}
        is_test = process.get("isTest")
        return cls(
            id_payout=id_payout,
            status=str(process.get("status") or ""),
            amount=amount,
            currency=currency,
            fee_amount=fee_amount,
            fee_currency=fee_currency,
            payment_method_code=method.get("paymentMethodCode"),
            id_payment=method.get("idPayment"),
            reference=method.get("reference"),
            created_at=parse_timestamp(process.get("createdAt")),
            processed_at=parse_timestamp(process.get("processedAt")),
            is_test=is_test if isinstance(is_test, bool) else None,
            failure_reason_code=failure.get("failureReasonCode"),
            failure_message=failure.get("message"),
            failed_at=parse_timestamp(failure.get("failedAt")),
            processor_status=process.get("processorStatus"),
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
    """

    id_payout: str
    detail: PayoutDetail | None
    http_status: int | None
    error: str = ""
    from_store: bool = False


class OutcomeSink(Protocol):
    """What a bulk fetch asks of a store: which ids it may skip, and where each answer goes.

    ``record`` is called from the thread that called the fetch, once per outcome, as it arrives.
    """

    def known_final(self, ids: Sequence[str]) -> Mapping[str, PayoutDetail]: ...

    def record(self, outcome: FetchOutcome) -> None: ...
