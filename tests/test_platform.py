"""The documented facts the client and the emulator share."""

import pytest

from payrecon import platform


@pytest.mark.parametrize("good", ["TST-223344", "a", "A_b-9", "x" * 250])
def test_id_rule_accepts_documented_ids(good: str) -> None:
    assert platform.is_valid_id(good)


@pytest.mark.parametrize(
    "bad", ["", "../auth-tokens", "a b", "x?y=1", "%2e%2e", "é", "x" * 251, "a\n", None, 12]
)
def test_id_rule_rejects_what_could_escape_a_path(bad: object) -> None:
    assert not platform.is_valid_id(bad)


@pytest.mark.parametrize(
    ("currency", "decimals"), [("IDR", 0), ("inr", 0), ("JPY", 0), ("USD", 2), ("USDT", 2)]
)
def test_currency_decimals(currency: str, decimals: int) -> None:
    assert platform.currency_decimals(currency) == decimals


def test_operation_rule_is_anchored() -> None:
    assert platform.OPERATION_RULE.fullmatch(platform.payout_operation("GET", "TST-1"))
    assert not platform.OPERATION_RULE.fullmatch("GET /payouts/TST-1 trailing")
    assert not platform.OPERATION_RULE.fullmatch("FETCH /payouts/TST-1")


def test_final_statuses() -> None:
    assert {"SUCCESS", "FAILED", "REFUSED"} == platform.FINAL_STATUSES
    assert platform.PROCESSING not in platform.FINAL_STATUSES
