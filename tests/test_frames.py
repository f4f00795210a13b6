"""The statuses table keeps its dtypes whatever the mix of answers, and round-trips exactly."""

from decimal import Decimal
from pathlib import Path

import pytest
from contract import STATUS_COLUMNS, dtypes_of
from hypothesis import given, settings
from hypothesis import strategies as st

from payrecon.client.records import FetchOutcome, PayoutDetail
from payrecon.statuses import read_statuses, statuses_frame, write_statuses

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e12"), places=2)


def _detail(i: int, amount: Decimal) -> PayoutDetail:
    return PayoutDetail.from_json(
        f"id-{i}",
        {
            "paymentRequested": {"money": {"amount": amount, "currencyCode": "USD"}},
            "process": {
                "status": "SUCCESS",
                "createdAt": "2024-05-01T00:00:00.123Z",
                "isTest": False,
            },
            "fee": {"amount": Decimal("0.30"), "currencyCode": "USD"},
        },
    )


def test_dtypes_are_stable_for_any_mix() -> None:
    all_errors = statuses_frame([FetchOutcome("a", None, 410, "not_found")])
    empty = statuses_frame([])
    mixed = statuses_frame([FetchOutcome("b", _detail(1, Decimal("1.10")), 200)])
    for frame in (all_errors, empty, mixed):
        assert list(frame.columns) == list(STATUS_COLUMNS)
        assert dtypes_of(frame) == STATUS_COLUMNS  # the documented dtypes, whatever the answers


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@settings(max_examples=25, deadline=None)
@given(amounts=st.lists(money, min_size=1, max_size=20))
def test_round_trip_is_exact(
    tmp_path_factory: pytest.TempPathFactory, suffix: str, amounts: list[Decimal]
) -> None:
    outcomes = [FetchOutcome(f"id-{i}", _detail(i, a), 200) for i, a in enumerate(amounts)]
    outcomes.append(FetchOutcome("gone", None, 410, "not_found"))
    frame = statuses_frame(outcomes)
    path = Path(tmp_path_factory.mktemp("rt")) / f"statuses{suffix}"
    write_statuses(frame, path)
    back = read_statuses(path)
    assert back.equals(frame)
    assert back["amount"].sum() == sum(amounts)
