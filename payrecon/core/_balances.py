"""The balance tie-out: payouts in flight on the platform against those payrecon can name.

``GET /balances`` answers, per currency account, ``balance``, ``availableBalance``,
``pendingSettlementAmount``, ``pendingPayoutAmount`` and ``lastBalanceMovement``
(platform-api.md §3.5, "useful for reconciliation"). ``pendingPayoutAmount`` is the money of
every payout still in flight, whoever created it. payrecon sees a payout only by its id, so it
can only sum the payouts it asked for (the ledger's and ``--ids``) that the platform says are
``PROCESSING``. The tie-out puts the two side by side per currency:

``gap = platform pendingPayoutAmount - sum of the amounts payrecon sees PROCESSING``

A gap other than zero means payouts in flight that neither the ledger nor ``--ids`` names (a
positive gap: someone created payouts the books do not know of yet), or payouts that finished
between the fetch of their status and the call for balances (a negative gap, usually: run again).

What the sum includes, and why: the **requested amounts** (``paymentRequested.money.amount``) of
the distinct payouts whose status is ``PROCESSING``, in their own currency; **no fees**. The
field's name says "payout amount", the docs do not say that fees are held with it, and a fee may
be charged in another currency (``fee.currencyCode``). So that a platform which does hold fees
shows up as such rather than as a mystery, ``processing_fees_seen`` gives the fees of the same
payouts (those charged in the same currency): a gap equal to it means the platform's figure
includes fees. The emulator (:mod:`payrecon.sandbox`) holds amounts only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from payrecon.client.records import parse_timestamp
from payrecon.platform import PROCESSING

if TYPE_CHECKING:
    from payrecon.core.result import Reconciliation

#: The only operation a balances token names (§2.1: ``METHOD /path``; the query is not part of it).
BALANCES_OPERATION = "GET /balances"

COLUMNS = (
    "currency",
    "platform_pending_payout_amount",
    "processing_seen_amount",
    "processing_seen_count",
    "processing_fees_seen",
    "gap",
    "balance",
    "available_balance",
    "pending_settlement_amount",
    "last_balance_movement",
    "note",
)


@dataclass(frozen=True, slots=True)
class Balance:
    """One currency account of ``GET /balances`` (money exact; absent fields ``None``)."""

    currency: str
    balance: Decimal | None = None
    available_balance: Decimal | None = None
    pending_settlement_amount: Decimal | None = None
    pending_payout_amount: Decimal | None = None
    last_balance_movement: datetime | None = None

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> Balance:
        def money(name: str) -> Decimal | None:
            v = item.get(name)
            if isinstance(v, bool) or not isinstance(v, int | Decimal):
                return None
            return Decimal(v)

        return cls(
            currency=str(item.get("currencyCode") or ""),
            balance=money("balance"),
            available_balance=money("availableBalance"),
            pending_settlement_amount=money("pendingSettlementAmount"),
            pending_payout_amount=money("pendingPayoutAmount"),
            last_balance_movement=parse_timestamp(item.get("lastBalanceMovement")),
        )


def parse_balances(body: object) -> list[Balance]:
    """``{"data": [...]}`` as :class:`Balance` records; items without a currency are skipped."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, list):
        raise ValueError("the balances answer has no data list")
    out = [Balance.from_json(item) for item in data if isinstance(item, Mapping)]
    return [b for b in out if b.currency]


def processing_seen(rows: pd.DataFrame) -> dict[str, tuple[Decimal, int, Decimal]]:
    """Per currency: the amounts, count and same-currency fees of the distinct payouts that
    ``rows`` (a reconciliation's) shows ``PROCESSING``."""
    status = rows["platform_status"]
    part = rows.loc[(status == PROCESSING).fillna(False).to_numpy(), :]
    part = part.drop_duplicates("id_payout")
    out: dict[str, tuple[Decimal, int, Decimal]] = {}
    for cur, amount, fee in zip(
        part["platform_currency"].tolist(),
        part["platform_amount"].tolist(),
        part["platform_fee"].tolist(),
        strict=True,
    ):
        if cur is None or pd.isna(cur):
            continue
        total, n, fees = out.get(cur, (Decimal(0), 0, Decimal(0)))
        out[cur] = (
            total + (amount if isinstance(amount, Decimal) else Decimal(0)),
            n + 1,
            fees + (fee if isinstance(fee, Decimal) else Decimal(0)),
        )
    return out


def tie_out(balances: Sequence[Balance], rows: pd.DataFrame) -> pd.DataFrame:
    """The tie-out table (:data:`COLUMNS`), one row per currency the platform or the rows name.

    ``gap`` is empty where the platform lists no account in the currency (then ``note`` says
    so): its payouts cannot be in flight there, so that is a question for the platform.
    """
    seen = processing_seen(rows)
    by_cur = {b.currency: b for b in balances}
    records: list[dict[str, Any]] = []
    zero = Decimal(0)
    for cur in sorted(set(by_cur) | set(seen)):
        b = by_cur.get(cur)
        amount, n, fees = seen.get(cur, (zero, 0, zero))
        platform = None if b is None else b.pending_payout_amount
        gap = None if platform is None else platform - amount
        if b is None:
            note = "the platform lists no balance in this currency"
        elif platform is None:
            note = "the platform gave no pendingPayoutAmount"
        elif gap == 0:
            note = ""
        elif n and gap == fees:
            note = "the gap equals the fees of the payouts in flight: the platform holds fees too"
        elif gap is not None and gap > 0:
            note = "payouts in flight that neither the ledger nor --ids names"
        else:
            note = "payrecon sees more in flight than the platform: some finished since; rerun"
        records.append(
            {
                "currency": cur,
                "platform_pending_payout_amount": platform,
                "processing_seen_amount": amount,
                "processing_seen_count": n,
                "processing_fees_seen": fees,
                "gap": gap,
                "balance": None if b is None else b.balance,
                "available_balance": None if b is None else b.available_balance,
                "pending_settlement_amount": None if b is None else b.pending_settlement_amount,
                "last_balance_movement": None if b is None else b.last_balance_movement,
                "note": note,
            }
        )
    return _frame(records)


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    from payrecon.statuses._table import MONEY, MONEY_TYPE, STRING, TIMESTAMP

    def col(name: str) -> list[Any]:
        return [r[name] for r in records]

    money = {
        "platform_pending_payout_amount",
        "processing_seen_amount",
        "processing_fees_seen",
        "gap",
        "balance",
        "available_balance",
        "pending_settlement_amount",
    }
    data: dict[str, pd.Series] = {}
    for name in COLUMNS:
        if name in money:
            data[name] = pd.Series(pa.array(col(name), MONEY_TYPE), dtype=MONEY)
        elif name == "processing_seen_count":
            data[name] = pd.Series(col(name), dtype="Int64")
        elif name == "last_balance_movement":
            data[name] = pd.to_datetime(pd.Series(col(name), dtype=object), utc=True).astype(
                TIMESTAMP
            )
        else:
            data[name] = pd.Series(col(name), dtype=STRING)
    return pd.DataFrame(data)


def with_balances(rec: Reconciliation, balances: Iterable[Balance]) -> Reconciliation:
    """``rec`` with its :attr:`~payrecon.core.result.Reconciliation.balances` tie-out."""
    return dataclasses.replace(rec, balances=tie_out(list(balances), rec.rows))


def gaps(table: pd.DataFrame) -> dict[str, Decimal]:
    """The currencies of a tie-out with a gap other than zero, and the gap."""
    out: dict[str, Decimal] = {}
    for cur, gap in zip(table["currency"].tolist(), table["gap"].tolist(), strict=True):
        if isinstance(gap, Decimal) and gap != 0:
            out[str(cur)] = gap
    return out


__all__ = [
    "BALANCES_OPERATION",
    "COLUMNS",
    "Balance",
    "gaps",
    "parse_balances",
    "processing_seen",
    "tie_out",
    "with_balances",
]
