"""Write the demo data set: a platform's payouts, a messy ledger export that books them, the ids.

Rerun to regenerate (the output is the same byte for byte: one seeded random generator, exact
``Decimal`` money, a fixed anchor date)::

    .venv/bin/python data/make_demo_data.py

It writes, next to itself:

``demo_payouts.csv``
    The sandbox seed (format: ``payrecon/sandbox/seed.py``): 320 payouts over the three weeks before
    2026-11-20 12:00 UTC, in IDR, INR, VND, USD, EUR, THB and USDT, by bank transfer, wallet and
    crypto, every status (amounts follow the sandbox's amount rules: FAILED ones end in 13/14/15,
    REFUSED in 66, PROCESSING in 99), a few test payouts, fees from ``fee_schedule.toml`` except a
    few overcharged ones (the ``fee_schedule_mismatch`` flag).
``demo_ledger.csv``
    The bookkeeping system's export (read it with ``demo_mapping.toml``): a title line above the
    header, semicolons, decimal commas with dots grouping thousands, payouts booked as negative
    debits, padded currency codes, its own status words in mixed case, day-first dates. Every
    category of ``interface.md`` is planted in it at least three times (see ``PLANTED``).
``demo_ids.txt``
    Every payout id the platform has (as a platform export would list them); those the ledger lacks
    come out as ``missing_in_ledger``. One payout in flight is left out on purpose: the balance
    tie-out finds it (``RECURRING``).
``demo_ledger_previous.csv``, ``demo_payouts_previous.csv``
    Yesterday: the ledger as exported the day before (no bookings of the last day, one fee not yet
    corrected, one status booked wrong), and the one payout whose status the platform has changed
    since (``SUCCESS`` then, ``FAILED`` now). ``payrecon demo`` reconciles yesterday first, then
    today, so its report shows what changed since the last run, a status regression included.

The plan of what is planted is printed, and the demo's test checks that each category shows up.
"""

from __future__ import annotations

import csv
import math
import random
import tomllib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ANCHOR = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
N_PAYOUTS = 320
SEED = 20261120

#: currency: (weight, lowest, highest, decimals, [(method, operator), ...])
CURRENCIES: dict[str, tuple[int, int, int, int, list[tuple[str, str]]]] = {
    "IDR": (30, 50_000, 25_000_000, 0, [("BANK_TRANSFER", "BNK_000"), ("WALLET_TRANSFER", "OVO")]),
    "INR": (18, 500, 200_000, 0, [("BANK_TRANSFER", "INR_IMPS"), ("WALLET_TRANSFER", "INR_UPI")]),
    "VND": (6, 200_000, 50_000_000, 0, [("BANK_TRANSFER", "VND_NAPAS")]),
    "USD": (12, 10, 5_000, 2, [("BANK_TRANSFER", "USD_ACH")]),
    "EUR": (12, 10, 5_000, 2, [("BANK_TRANSFER", "EUR_SEPA")]),
    "THB": (10, 300, 50_000, 2, [("BANK_TRANSFER", "THB_PROMPT")]),
    "USDT": (12, 10, 10_000, 2, [("CRYPTO_TRANSFER", "USDT_TRC20")]),
}
#: status: (weight, amount endings, failure reason codes)
STATUSES: dict[str, tuple[int, list[int], list[str]]] = {
    "SUCCESS": (74, [], []),
    "FAILED": (
        9,
        [13, 14, 15],
        ["INVALID_ACCOUNT_NUMBER", "INVALID_ACCOUNT_NAME", "BALANCE_INSUFFICIENT"],
    ),
    "REFUSED": (4, [66], ["PAYMENT_CHANNEL_AMOUNT_LIMITS"]),
    "PROCESSING": (13, [99], []),
}
RULE_ENDINGS = {13, 14, 15, 66, 99}
LEDGER_WORDS = {  # the bookkeeping system's status words (demo_mapping.toml maps them back)
    "SUCCESS": ["Paid", "PAID", "paid"],
    "FAILED": ["Rejected", "REJECTED"],
    "REFUSED": ["Refused"],
    "PROCESSING": ["In progress", "IN PROGRESS", ""],
}


@dataclass(frozen=True)
class Payout:
    id_payout: str
    amount: Decimal
    currency: str
    method: str
    operator: str
    status: str
    fee: Decimal
    created_at: datetime
    processed_at: datetime | None
    failure_reason_code: str
    is_test: bool


def load_schedule() -> dict[str, tuple[Decimal, Decimal]]:
    with (HERE / "fee_schedule.toml").open("rb") as fh:
        doc = tomllib.load(fh, parse_float=Decimal)
    return {r["currency"]: (Decimal(r["percent"]), Decimal(r["fixed"])) for r in doc["fee"]}


def quantum(decimals: int) -> Decimal:
    return Decimal(1).scaleb(-decimals)


def contract_fee(
    schedule: dict[str, tuple[Decimal, Decimal]], amount: Decimal, cur: str
) -> Decimal:
    percent, fixed = schedule[cur]
    decimals = CURRENCIES[cur][3]
    return (amount * percent / 100 + fixed).quantize(quantum(decimals), ROUND_HALF_UP)


def pick(rng: random.Random, table: dict[str, tuple]) -> str:  # type: ignore[type-arg]
    keys = list(table)
    return rng.choices(keys, weights=[table[k][0] for k in keys])[0]


def make_amount(rng: random.Random, cur: str, status: str) -> Decimal:
    _, lo, hi, decimals, _ = CURRENCIES[cur]
    # log-uniform: many small payouts, a few large ones, as in real payout books
    whole = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    if decimals == 0 and whole > 10_000:
        whole = whole // 1000 * 1000  # round thousands, as IDR/VND payouts usually are
    endings = STATUSES[status][1]
    if endings:
        whole = whole // 100 * 100 + rng.choice(endings)
    elif whole % 100 in RULE_ENDINGS:
        whole += 1
    cents = Decimal(rng.choice([0, 0, 0, 50, rng.randrange(100)])) / 100 if decimals else 0
    return (Decimal(whole) + cents).quantize(quantum(decimals))


def make_payouts(rng: random.Random, schedule: dict[str, tuple[Decimal, Decimal]]) -> list[Payout]:
    start = ANCHOR - timedelta(days=21)
    payouts = []
    for i in range(1, N_PAYOUTS + 1):
        cur = pick(rng, CURRENCIES)
        status = pick(rng, STATUSES)
        method, operator = rng.choice(CURRENCIES[cur][4])
        amount = make_amount(rng, cur, status)
        if status == "PROCESSING":
            # most are a few hours old; some have been stuck for days (the aging chart)
            age = rng.choice([rng.uniform(0.2, 6), rng.uniform(6, 48), rng.uniform(48, 400)])
            created = ANCHOR - timedelta(hours=age)
            processed = None
        else:
            created = start + timedelta(seconds=rng.uniform(0, 21 * 86_400 - 7_200))
            # minutes usually, hours sometimes: a lognormal around three minutes
            secs = min(rng.lognormvariate(math.log(180), 1.3), 36 * 3600)
            processed = min(created + timedelta(seconds=secs), ANCHOR - timedelta(minutes=5))
        reasons = STATUSES[status][2]
        code = reasons[STATUSES[status][1].index(int(amount) % 100)] if reasons else ""
        payouts.append(
            Payout(
                id_payout=f"PO-DEMO-{i:04d}",
                amount=amount,
                currency=cur,
                method=method,
                operator=operator,
                status=status,
                fee=contract_fee(schedule, amount, cur),
                created_at=created.replace(microsecond=created.microsecond // 1000 * 1000),
                processed_at=processed.replace(microsecond=processed.microsecond // 1000 * 1000)
                if processed
                else None,
                failure_reason_code=code,
                is_test=rng.random() < 0.04,
            )
        )
    payouts.sort(key=lambda p: p.created_at)
    return payouts


def iso(t: datetime | None) -> str:
    return "" if t is None else t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def ledger_money(value: Decimal, decimals: int) -> str:
    """-1.234.567,89: a negative debit with a decimal comma and dots grouping thousands."""
    text = f"{value:,.{max(decimals, 2)}f}"  # 1,234,567.89 (zero-decimal currencies: ,00 too)
    return "-" + text.replace(",", "X").replace(".", ",").replace("X", ".")


def booking(
    when: datetime, pid: str, text: str, amount: Decimal, fee: Decimal, cur: str
) -> list[str]:
    """One ledger line booked as paid."""
    d = CURRENCIES[cur][3]
    return [when.strftime("%d.%m.%Y"), pid, text, ledger_money(amount, d), cur,
            ledger_money(fee, d), "Paid"]  # fmt: skip


def write_seed(path: Path, payouts: list[Payout]) -> None:
    """A sandbox seed file (``payrecon/sandbox/seed.py``'s format)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            [
                "id_payout", "amount", "currency", "payment_method_code", "payment_operator_code",
                "status", "fee_amount", "fee_currency", "created_at", "processed_at",
                "failure_reason_code", "is_test",
            ]
        )  # fmt: skip
        for p in payouts:
            w.writerow(
                [
                    p.id_payout, p.amount, p.currency, p.method, p.operator, p.status, p.fee,
                    p.currency, iso(p.created_at), iso(p.processed_at), p.failure_reason_code,
                    "true" if p.is_test else "false",
                ]
            )  # fmt: skip


def write_ledger(path: Path, rows: list[tuple[datetime, list[str]]], generated: datetime) -> None:
    """The bookkeeping system's export: a title line, then the header and the rows."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        fh.write(
            f"Payout bookings export;generated {generated:%d.%m.%Y %H:%M};merchant demo-merchant\n"
        )
        w = csv.writer(fh, delimiter=";", lineterminator="\n")
        w.writerow(
            [
                "Booking date",
                "Merchant Order ID",
                "Description",
                "Amount",
                "Currency",
                "Fee",
                "State",
            ]
        )
        for _, line in rows:
            w.writerow(line)
        # What bookkeeping exports put under the rows: the reader sets these aside, with reasons.
        w.writerow(["", "", "Total", "", "", "", ""])
        fh.write("\nExported by LedgerPro 7.2\n")


@dataclass(frozen=True)
class Recurring:
    """What the recurring-run features need planted: payouts, ledger rows, ids left unlisted."""

    payouts: list[Payout]
    ledger_rows: list[tuple[datetime, list[str]]]
    unlisted: tuple[str, ...]
    story: str


def recurring_plants(schedule: dict[str, tuple[Decimal, Decimal]]) -> Recurring:
    """Fixed values, no random draws (so every payout above stays byte for byte the same):

    * ``PO-DEMO-0401`` EUR 1,250.00, booked under the typo ``PO-DEMO 0401`` (breaks the id rule):
      a one-to-one suggestion;
    * ``PO-DEMO-0402`` INR 48,500, booked as ``PO-DEMO-0420`` (digits swapped: 410 Gone) a day
      later: a one-to-one suggestion one day apart;
    * ``PO-DEMO-0403`` + ``PO-DEMO-0404`` IDR 1,200,000 + 800,000, booked as one line
      ``BATCH 18.11`` of 2,000,000: a one-to-several suggestion;
    * ``PO-DEMO-0499`` IDR 2,500,099 ``PROCESSING``, in no list and no ledger: the balance
      tie-out's gap.
    """

    def payout(pid: str, amount: str, cur: str, status: str, when: datetime) -> Payout:
        method, operator = CURRENCIES[cur][4][0]
        value = Decimal(amount)
        processed = None if status == "PROCESSING" else when + timedelta(minutes=4)
        return Payout(
            pid, value, cur, method, operator, status, contract_fee(schedule, value, cur),
            when, processed, "", False,
        )  # fmt: skip

    day = ANCHOR - timedelta(days=2, hours=5)
    made = [
        payout("PO-DEMO-0401", "1250.00", "EUR", "SUCCESS", day),
        payout("PO-DEMO-0402", "48500", "INR", "SUCCESS", day - timedelta(days=3)),
        payout("PO-DEMO-0403", "1200000", "IDR", "SUCCESS", day),
        payout("PO-DEMO-0404", "800000", "IDR", "SUCCESS", day + timedelta(hours=2)),
        payout("PO-DEMO-0499", "2500099", "IDR", "PROCESSING", ANCHOR - timedelta(hours=5)),
    ]
    by_id = {p.id_payout: p for p in made}

    def booked(as_id: str, parts: list[Payout], when: datetime) -> tuple[datetime, list[str]]:
        amount, fee = sum(p.amount for p in parts), sum(p.fee for p in parts)
        return when, booking(when, as_id, "Payout (typed by hand)", amount, fee, parts[0].currency)

    p401, p402 = by_id["PO-DEMO-0401"], by_id["PO-DEMO-0402"]
    batch = [by_id["PO-DEMO-0403"], by_id["PO-DEMO-0404"]]
    rows = [
        booked("PO-DEMO 0401", [p401], p401.created_at),
        booked("PO-DEMO-0420", [p402], p402.created_at + timedelta(days=1)),
        booked("BATCH 18.11", batch, day),
    ]
    story = (
        "PO-DEMO 0401 -> PO-DEMO-0401, PO-DEMO-0420 -> PO-DEMO-0402, "
        "BATCH 18.11 -> PO-DEMO-0403;PO-DEMO-0404"
    )
    return Recurring(made, rows, ("PO-DEMO-0499",), story)


def main() -> None:
    rng = random.Random(SEED)
    schedule = load_schedule()
    payouts = make_payouts(rng, schedule)
    live = [p for p in payouts if not p.is_test]
    by_status = {s: [p for p in live if p.status == s] for s in STATUSES}
    used: set[str] = set()

    def take(pool: list[Payout], n: int) -> list[Payout]:
        chosen = [p for p in pool if p.id_payout not in used][:n]
        used.update(p.id_payout for p in chosen)
        return chosen

    succ = by_status["SUCCESS"]
    pending_plant = take(by_status["PROCESSING"], len(by_status["PROCESSING"]) - 2)
    plan = {
        "duplicate_in_ledger": take(succ[5:], 3),
        "missing_in_ledger": take(succ[40:], 4) + take(by_status["FAILED"][3:], 2),
        "currency_mismatch": take([p for p in succ if p.currency in ("USD", "USDT")], 3),
        "status_mismatch": take(by_status["FAILED"], 2)
        + take(succ[80:], 1)
        + take(by_status["PROCESSING"], 1)
        + take(by_status["REFUSED"], 1),
        "amount_mismatch": take(succ[100:], 4),
        "fee_mismatch": take(succ[140:], 4),
        "fee_schedule_mismatch": take(succ[180:], 5),
    }
    # overcharged fees: the platform's fee differs from the contract; the ledger books it as charged
    overcharged = {p.id_payout for p in plan["fee_schedule_mismatch"]}
    payouts = [
        replace(
            p,
            fee=p.fee
            + (
                quantum(CURRENCIES[p.currency][3]) * 100
                if p.currency not in ("IDR", "VND")
                else Decimal(5000)
            ),
        )
        if p.id_payout in overcharged
        else p
        for p in payouts
    ]
    by_id = {p.id_payout: p for p in payouts}
    not_booked = {p.id_payout for p in plan["missing_in_ledger"]}
    tests = [p for p in payouts if p.is_test]
    not_booked |= {p.id_payout for p in tests[3:]}  # three test payouts slipped into the books

    recurring = recurring_plants(schedule)
    payouts_all = sorted([*payouts, *recurring.payouts], key=lambda p: p.created_at)
    reversed_payout = take(succ[200:], 1)[0]  # SUCCESS yesterday, FAILED today
    older = [p for p in succ[150:] if p.created_at < ANCHOR - timedelta(days=2)]
    fee_fixed = take(older, 1)[0]  # its fee booked wrong yesterday, corrected today
    payouts_all = [
        replace(
            p,
            status="FAILED",
            failure_reason_code="PAYMENT_PROCESS_ERROR",
            processed_at=ANCHOR - timedelta(hours=3),
        )
        if p.id_payout == reversed_payout.id_payout
        else p
        for p in payouts_all
    ]
    # -- the platform: the sandbox seed ---------------------------------------------------------
    write_seed(HERE / "demo_payouts.csv", payouts_all)
    write_seed(HERE / "demo_payouts_previous.csv", [reversed_payout])
    listed = [p for p in payouts_all if p.id_payout not in recurring.unlisted]
    (HERE / "demo_ids.txt").write_text("".join(f"{p.id_payout}\n" for p in listed))

    # -- the ledger -----------------------------------------------------------------------------
    status_plant = {p.id_payout for p in plan["status_mismatch"]}
    amount_plant = {p.id_payout for p in plan["amount_mismatch"]}
    fee_plant = {p.id_payout for p in plan["fee_mismatch"]}
    currency_plant = {p.id_payout for p in plan["currency_mismatch"]}
    dup_plant = {p.id_payout for p in plan["duplicate_in_ledger"]}
    first_dup = plan["duplicate_in_ledger"][0].id_payout
    rows: list[tuple[datetime, list[str]]] = []
    wrong_status = {
        "FAILED": "Paid",
        "SUCCESS": "Rejected",
        "PROCESSING": "Paid",
        "REFUSED": "Paid",
    }
    swap = {"USD": "EUR", "USDT": "USD"}
    for p in payouts:
        if p.id_payout in not_booked:
            continue
        decimals = CURRENCIES[p.currency][3]
        amount, fee, cur = p.amount, p.fee, p.currency
        word = rng.choice(LEDGER_WORDS[p.status])
        if p.id_payout in status_plant:
            word = wrong_status[p.status]
        if p.id_payout in amount_plant:  # typing slips: a digit dropped, a cent off, a zero added
            amount = rng.choice(
                [amount * 10, amount - quantum(decimals), (amount / 10).quantize(quantum(decimals))]
            )
        if p.id_payout in fee_plant:
            fee = fee + quantum(decimals) * rng.choice([1, 10, 100])
        if p.id_payout in currency_plant:
            cur = swap[p.currency]
        pad = rng.choice(["", " ", "  "])
        line = [
            p.created_at.strftime("%d.%m.%Y"), p.id_payout, f"Payout {p.id_payout[-4:]}",
            ledger_money(amount, decimals), f"{pad}{cur}{pad}", ledger_money(fee, decimals), word,
        ]  # fmt: skip
        if p.id_payout == first_dup:  # booked first with a digit too many, then again right
            wrong = [*line]
            wrong[3] = ledger_money(amount * 10, decimals)
            rows.append((p.created_at, wrong))
        else:
            rows.append((p.created_at, line))
        if p.id_payout in dup_plant:
            again = [*line]
            again[2] += " (booked again)"
            rows.append((p.created_at + timedelta(days=1), again))
    for i, (cur, amount) in enumerate(
        [
            ("IDR", Decimal(750_000)),
            ("USD", Decimal("120.00")),
            ("EUR", Decimal("89.90")),
            ("INR", Decimal(15_000)),
        ]
    ):  # booked, never sent: the platform answers 410 Gone
        when = ANCHOR - timedelta(days=3 + 4 * i)
        decimals = CURRENCIES[cur][3]
        fee = contract_fee(schedule, amount, cur)
        rows.append((when, booking(when, f"PO-DEMO-{9001 + i}", "Manual payout", amount, fee, cur)))
    for i, bad_id in enumerate(["PO 1234", "PO-DEMO/0077", "PO#DEMO-0101"]):
        # ids that break the platform's id rule: nothing is sent, fetch_error (invalid_id)
        when = ANCHOR - timedelta(days=2 + 5 * i)
        line = booking(when, bad_id, "Payout (typed by hand)", Decimal(50), Decimal("1.05"), "USD")
        rows.append((when, line))
    for i, (cur, charge) in enumerate([("EUR", Decimal("12.50")), ("USD", Decimal("9.00"))]):
        # the bank's own charges, booked on the payout account with no payout id: no_payout_id
        when = ANCHOR - timedelta(days=6 + 9 * i)
        rows.append((when, booking(when, "", "Bank charge", charge, Decimal(0), cur)))
    rows += recurring.ledger_rows
    rows.sort(key=lambda r: r[0])
    write_ledger(HERE / "demo_ledger.csv", rows, ANCHOR)

    # -- yesterday's export: no bookings of the last day, the fee not yet corrected, the
    #    amount-plant booked with the wrong status instead of the wrong amount
    changed = plan["amount_mismatch"][0]
    previous = []
    for when, line in rows:
        if when >= ANCHOR - timedelta(days=1):
            continue
        line = [*line]
        decimals = CURRENCIES.get(line[4].strip(), (0, 0, 0, 2))[3]
        if line[1] == fee_fixed.id_payout:
            line[5] = ledger_money(fee_fixed.fee + quantum(decimals) * 10, decimals)
        if line[1] == changed.id_payout:
            line[3], line[6] = ledger_money(changed.amount, decimals), "Rejected"
        previous.append((when, line))
    write_ledger(HERE / "demo_ledger_previous.csv", previous, ANCHOR - timedelta(days=1))

    print(f"{len(payouts_all)} payouts ({len(tests)} test), {len(rows)} ledger rows")
    for name, chosen in plan.items():
        print(f"  {name:<22} {', '.join(p.id_payout for p in chosen)}")
    print(
        f"  {'pending':<22} {len(pending_plant)} PROCESSING payouts booked 'In progress' or blank"
    )
    print("  missing_on_platform    PO-DEMO-9001..9004; fetch_error: 3 ids that break the id rule")
    print(f"  test_payment           {', '.join(p.id_payout for p in tests[:3])} (booked)")
    print(f"  duplicate_role         {first_dup}: the first copy is the extra one (amount x10)")
    print(f"  suggestions            {recurring.story}")
    print(f"  balance tie-out        {', '.join(recurring.unlisted)} in flight, in no list")
    print(
        f"  since yesterday        {reversed_payout.id_payout} SUCCESS -> FAILED (regression), "
        f"{fee_fixed.id_payout} fee corrected (resolved), {changed.id_payout} status -> amount "
        "(changed), the last day's bookings (new)"
    )
    assert all(by_id[p.id_payout] for p in payouts)


PLANTED = (
    "duplicate_in_ledger", "missing_on_platform", "fetch_error", "missing_in_ledger",
    "currency_mismatch", "status_mismatch", "amount_mismatch", "fee_mismatch", "pending",
    "matched", "fee_schedule_mismatch", "test_payment",
)  # fmt: skip

if __name__ == "__main__":
    main()
