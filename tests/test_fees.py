"""The fee schedule: percent + fixed, clamped, rounded half-up to the currency's precision."""

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from contract import MONEY_TYPE
from hypothesis import given, settings
from hypothesis import strategies as st

from payrecon.core.fees import FeeRule, FeeSchedule
from payrecon.errors import InputError

D = Decimal
SCHEDULE = FeeSchedule(
    (
        FeeRule(
            "IDR",
            "BANK_TRANSFER",
            percent=D("1.5"),
            fixed=D(2500),
            minimum=D(5000),
            maximum=D(50000),
        ),
        FeeRule("EUR", percent=D("2.5"), fixed=D("0.10")),
        FeeRule("EUR", "CRYPTO_TRANSFER", percent=D(1)),
    )
)


@pytest.mark.parametrize(
    ("amount", "currency", "method", "fee"),
    [
        ("10000", "IDR", "BANK_TRANSFER", "5000"),  # minimum
        ("300000", "IDR", "BANK_TRANSFER", "7000"),  # 4500 + 2500
        ("10000000", "IDR", "BANK_TRANSFER", "50000"),  # maximum
        ("0.5", "EUR", "BANK_TRANSFER", "0.11"),  # 0.1125 -> 0.11
        ("0.5", "EUR", "CRYPTO_TRANSFER", "0.01"),  # 0.005 -> 0.01: half-up, the exact rule wins
        ("12.34", "EUR", "WALLET_TRANSFER", "0.41"),  # "*" rule: 0.4085 -> 0.41
        ("-0.2", "EUR", None, "0.11"),  # debits priced by their absolute value
    ],
)
def test_expected_fee(amount: str, currency: str, method: str | None, fee: str) -> None:
    assert SCHEDULE.expected_fee(D(amount), currency, method) == D(fee)


def test_no_rule_no_fee() -> None:
    assert SCHEDULE.expected_fee(D(1), "USD", "BANK_TRANSFER") is None
    assert SCHEDULE.expected_fee(D(1), "IDR", "WALLET_TRANSFER") is None


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=D("-1e9"), max_value=D("1e9"), places=2),
            st.sampled_from(["IDR", "EUR", "USD"]),
            st.sampled_from(["BANK_TRANSFER", "CRYPTO_TRANSFER", None]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_vectorised_equals_scalar(rows: list[tuple[Decimal, str, str | None]]) -> None:
    amounts = pa.array([r[0] for r in rows], MONEY_TYPE)
    got = SCHEDULE.expected_fees(
        amounts, pa.array([r[1] for r in rows]), pa.array([r[2] for r in rows], pa.string())
    ).to_pylist()
    assert got == [SCHEDULE.expected_fee(*r) for r in rows]


def test_load_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "fees.toml"
    path.write_text('[[fee]]\ncurrency = "usd"\npercent = 2.9\nfixed = 0.30\n')
    schedule = FeeSchedule.load(path)
    assert schedule.rules == (FeeRule("USD", "*", D("2.9"), D("0.30")),)
    assert schedule.expected_fee(D("100"), "USD") == D("3.20")


def test_bad_schedules_are_input_errors(tmp_path: Path) -> None:
    path = tmp_path / "fees.toml"
    path.write_text(
        '[[fee]]\npercent = -1\nfixd = 1\n[[fee]]\ncurrency = "EUR"\nminimum = 5\nmaximum = 1\n'
    )
    with pytest.raises(InputError) as info:
        FeeSchedule.load(path)
    msg = str(info.value)
    assert "fee[1].currency" in msg and "fixd" in msg and "minimum above maximum" in msg
    with pytest.raises(InputError, match="at least one"):
        FeeSchedule.from_dict({})
