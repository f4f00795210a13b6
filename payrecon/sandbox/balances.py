"""``GET /balances`` in the emulator: each currency account computed from the payouts it holds.

The platform's fields (platform-api.md §3.5): ``currencyCode``, ``balance``, ``availableBalance``,
``pendingSettlementAmount``, ``pendingPayoutAmount``, ``lastBalanceMovement``, with
``availableBalance = balance - (pendingSettlementAmount + pendingPayoutAmount)``. The docs give
no more, so the emulator decides, and says so here:

* the merchant has an account in every currency the sandbox supports (the fee schedule's) and in
  every currency one of its payouts uses, each opened with ``SandboxConfig.opening_balance``;
* ``balance`` is the opening balance less the amount and the fee of every ``SUCCESS`` payout (fees
  in their own currency): money that has left;
* ``pendingPayoutAmount`` is the sum of the **amounts** (not the fees) of the payouts that are
  ``PROCESSING`` now: money about to leave, still in ``balance``;
* ``pendingSettlementAmount`` is zero: settlements are made in the back-office only (§8);
* ``lastBalanceMovement`` is when the latest ``SUCCESS`` payout of that currency was processed,
  left out while there is none (the spec never sends ``null``);
* ``currencyCodes`` (comma-separated) narrows the answer; currencies without an account are
  silently ignored, as the docs say.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from payrecon.platform import PROCESSING, SUCCESS
from payrecon.sandbox.payouts import FEE_SCHEDULE, Payout
from payrecon.sandbox.wire import timestamp


def balances(
    payouts: Iterable[Payout],
    now: float,
    opening: Decimal,
    currencies: set[str] | None = None,
) -> list[dict[str, object]]:
    """The ``data`` list of ``GET /balances`` for one merchant's payouts at ``now``."""
    accounts: set[str] = set(FEE_SCHEDULE)
    debited: dict[str, Decimal] = {}
    pending: dict[str, Decimal] = {}
    moved: dict[str, float] = {}
    for p in payouts:
        accounts.add(p.currency)
        status = p.status_at(now)
        if status == PROCESSING:
            pending[p.currency] = pending.get(p.currency, Decimal(0)) + p.amount
        elif status == SUCCESS:
            debited[p.currency] = debited.get(p.currency, Decimal(0)) + p.amount
            fee_cur = p.fee_currency or p.currency
            accounts.add(fee_cur)
            debited[fee_cur] = debited.get(fee_cur, Decimal(0)) + p.fee
            when = p.processed_at if p.processed_at is not None else p.final_at or p.created_at
            moved[p.currency] = max(moved.get(p.currency, when), when)
    out: list[dict[str, object]] = []
    for cur in sorted(accounts):
        if currencies is not None and cur not in currencies:
            continue
        balance = opening - debited.get(cur, Decimal(0))
        in_flight = pending.get(cur, Decimal(0))
        settling = Decimal(0)
        item: dict[str, object] = {
            "currencyCode": cur,
            "balance": balance,
            "availableBalance": balance - (settling + in_flight),
            "pendingSettlementAmount": settling,
            "pendingPayoutAmount": in_flight,
        }
        if cur in moved:
            item["lastBalanceMovement"] = timestamp(moved[cur])
        out.append(item)
    return out


__all__ = ["balances"]
