"""Seeding the sandbox with payouts that already exist, so a run has history to find.

The seed format is a CSV file (UTF-8, a header row, comma-separated), one payout a row:

========================  ========  =====================================================
column                    needed    meaning
========================  ========  =====================================================
``merchant_code``         no        a configured merchant; blank or absent: the first one
``id_payout``             yes       the Merchant Order ID (``^[A-Za-z0-9_-]{1,250}$``)
``amount``                yes       a decimal number > 0, read exactly (``Decimal``)
``currency``              yes       currency code, e.g. ``IDR``, ``USDT``
``payment_method_code``   no        default ``BANK_TRANSFER``
``payment_operator_code`` no        e.g. ``BNK_000``
``status``                yes       ``PROCESSING``, ``SUCCESS``, ``FAILED``, ``REFUSED`` (or a
                                    new upper-case word, to test a client's tolerance)
``fee_amount``            no        decimal >= 0; blank: the fee schedule's figure
``fee_currency``          no        blank: the payout's currency
``created_at``            no        RFC 3339 / ISO 8601 (``2024-05-02T08:15:00.000Z``); naive
                                    means UTC; blank: the moment of seeding
``processed_at``          no        when a final payout was processed; blank: not shown
``failure_reason_code``   no        ``failureReasons.failureReasonCode`` for FAILED / REFUSED
``is_test``               no        ``true``/``false`` (also 1/0, yes/no); blank: ``true``
========================  ========  =====================================================

Seeded payouts keep their status for ever: they are history, not new payouts, so the amount rules
do not apply to them and they send no callbacks. Seeding a row whose id the merchant already has
replaces it. A bad file raises ``InputError`` naming every bad row and column.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from payrecon.errors import InputError, Problem
from payrecon.platform import PROCESSING, is_valid_id
from payrecon.sandbox.config import Merchant
from payrecon.sandbox.payouts import Payout, fee_for, new_payment_ids

COLUMNS = (
    "merchant_code",
    "id_payout",
    "amount",
    "currency",
    "payment_method_code",
    "payment_operator_code",
    "status",
    "fee_amount",
    "fee_currency",
    "created_at",
    "processed_at",
    "failure_reason_code",
    "is_test",
)
REQUIRED = ("id_payout", "amount", "currency", "status")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


class _RowError(Exception):
    def __init__(self, column: str, message: str) -> None:
        self.column = column
        self.message = message


def _decimal(value: str, column: str, *, positive: bool) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise _RowError(column, f"not a decimal number: {value!r}") from None
    if not number.is_finite() or number < 0 or (positive and number == 0):
        raise _RowError(column, f"must be {'> 0' if positive else '>= 0'}: {value!r}")
    return number


def _moment(value: str, column: str) -> float | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _RowError(column, f"not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _payout(
    row: Mapping[str, str], merchants: Mapping[str, Merchant], first: str, now: float
) -> Payout:
    get = {k: (row.get(k) or "").strip() for k in COLUMNS}
    for column in REQUIRED:
        if not get[column]:
            raise _RowError(column, "is required")
    merchant = get["merchant_code"] or first
    if merchant not in merchants:
        raise _RowError("merchant_code", f"not a configured merchant: {merchant!r}")
    if not is_valid_id(get["id_payout"]):
        raise _RowError("id_payout", "breaks the id rule ^[A-Za-z0-9_-]{1,250}$")
    amount = _decimal(get["amount"], "amount", positive=True)
    currency = get["currency"].upper()
    status = get["status"].upper()
    if not status.replace("_", "").isalpha():
        raise _RowError("status", f"not a status word: {get['status']!r}")
    is_test = True
    if get["is_test"]:
        flag = get["is_test"].lower()
        if flag not in _TRUE | _FALSE:
            raise _RowError("is_test", f"not true/false: {get['is_test']!r}")
        is_test = flag in _TRUE
    fee = (
        _decimal(get["fee_amount"], "fee_amount", positive=False)
        if get["fee_amount"]
        else fee_for(amount, currency)
    )
    created = _moment(get["created_at"], "created_at")
    created = now if created is None else created
    processed = _moment(get["processed_at"], "processed_at")
    id_payment, reference = new_payment_ids()
    return Payout(
        merchant=merchant,
        id_payout=get["id_payout"],
        amount=amount,
        currency=currency,
        method=get["payment_method_code"] or "BANK_TRANSFER",
        operator=get["payment_operator_code"] or None,
        id_payment=id_payment,
        reference=reference,
        created_at=created,
        final_at=None if status == PROCESSING else (processed or created),
        final_status=status,
        failure_code=get["failure_reason_code"] or None,
        is_test=is_test,
        fee=fee,
        fee_currency=get["fee_currency"].upper() or currency,
        processed_at=processed,
        seeded=True,
    )


def parse_seed(
    rows: Iterable[Mapping[str, str]], merchants: Iterable[Merchant], *, source: str, now: float
) -> list[Payout]:
    """Payouts from seed rows (dicts keyed by column); ``InputError`` lists every bad cell."""
    by_code = {m.code: m for m in merchants}
    first = next(iter(by_code))
    payouts: list[Payout] = []
    problems: list[Problem] = []
    for line, row in enumerate(rows, start=2):
        try:
            payouts.append(_payout(row, by_code, first, now))
        except _RowError as err:
            problems.append(Problem(source, line, err.column, err.message))
    if problems:
        raise InputError(f"bad seed file {source}", problems)
    return payouts


def read_seed(path: str | Path, merchants: Iterable[Merchant], *, now: float) -> list[Payout]:
    """Read a seed CSV (the format in this module's docstring) into payouts."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise InputError(
                    f"bad seed file {path}",
                    [Problem(str(path), 1, c, "column missing from the header") for c in missing],
                )
            return parse_seed(reader, merchants, source=str(path), now=now)
    except OSError as exc:
        raise InputError(f"cannot read seed file {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"seed file {path} is not a UTF-8 CSV: {exc}") from None
