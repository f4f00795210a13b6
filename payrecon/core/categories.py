"""The reconciliation's words: categories in their order, extra flags, and what to do about each.

Kept apart from the engine so that the result, the report and the docs can name them without
importing the engine.
"""

from __future__ import annotations

from typing import Final

#: The categories of ``interface.md``, in the order in which the first that applies wins.
CATEGORIES: Final = (
    "duplicate_in_ledger",
    "no_payout_id",
    "missing_on_platform",
    "fetch_error",
    "missing_in_ledger",
    "currency_mismatch",
    "status_mismatch",
    "amount_mismatch",
    "fee_mismatch",
    "pending",
    "matched",
)

#: Extra words that may follow the category words in ``issues``.
FLAGS: Final = (
    "fee_schedule_mismatch",
    "amount_precision",
    "test_payment",
    "not_fetched",
    "status_regressed",
)

#: Flags that make an otherwise matched or pending row an exception.
EXCEPTION_FLAGS: Final = (
    "fee_schedule_mismatch",
    "amount_precision",
    "test_payment",
    "status_regressed",
)

#: ``duplicate_role`` of a ``duplicate_in_ledger`` row: the booking to keep, the ones to reverse.
DUPLICATE_ROLES: Final = ("kept", "extra")

#: Categories that need no one's attention.
QUIET: Final = ("matched", "pending")

#: What a person should do about each category and flag (the report and the README show these).
ADVICE: Final[dict[str, str]] = {
    "duplicate_in_ledger": (
        "The same payout is booked more than once: keep the row whose duplicate_role is kept "
        "(it agrees with the platform), reverse the extra ones."
    ),
    "no_payout_id": (
        "The ledger booked money with no payout id (a bank charge, a transfer, a payout booked "
        "by hand): add the id, or exclude such rows with [rows] keep; suggestions.csv may name "
        "the payout it is."
    ),
    "missing_on_platform": (
        "The platform has no such payout (410 Gone): check the id; if it was never sent, "
        "reverse the booking or resend the payout."
    ),
    "fetch_error": (
        "The status could not be fetched (see error): fix the id if invalid_id, else "
        "rerun later; nothing is known about this payout yet."
    ),
    "missing_in_ledger": (
        "The platform paid out something the ledger does not book: book it, or find out "
        "who created it."
    ),
    "currency_mismatch": (
        "Ledger and platform disagree on the currency: correct the booking; amounts are "
        "not compared until they agree."
    ),
    "status_mismatch": (
        "The ledger's status is not the platform's (e.g. booked as paid, but FAILED): "
        "update the booking, reverse it if the money never left."
    ),
    "amount_mismatch": (
        "The amounts differ beyond the tolerance (amount_diff = ledger - platform): "
        "correct the booking or raise it with the platform."
    ),
    "fee_mismatch": (
        "The fees differ (fee_diff = ledger - platform): book the platform's fee, or "
        "dispute it if it breaks the contract."
    ),
    "pending": ("Still PROCESSING on the platform: nothing to do yet; rerun later."),
    "matched": ("Ledger and platform agree."),
    "fee_schedule_mismatch": (
        "The platform charged a fee the fee schedule does not give (see expected_fee): "
        "dispute it with the platform."
    ),
    "amount_precision": (
        "The platform amount has more decimals than its currency allows: raise it with "
        "the platform."
    ),
    "test_payment": ("A test payout (isTest): it should not be in a production ledger."),
    "not_fetched": ("The statuses table does not hold this id: fetch it (run without --statuses)."),
    "status_regressed": (
        "The platform reported one final status and now reports another (e.g. SUCCESS, then "
        "FAILED): money may have left and come back. Check the bank statement, then correct the "
        "booking."
    ),
}

__all__ = ["ADVICE", "CATEGORIES", "DUPLICATE_ROLES", "EXCEPTION_FLAGS", "FLAGS", "QUIET"]
