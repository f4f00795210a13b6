"""Parsing the platform's detail JSON exactly, whatever optional parts are missing."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from payrecon.client.records import (
    PayoutDetail,
    UnreadableDetail,
    loads,
    money_fits,
    parse_timestamp,
)

GUIDE_DETAIL = b"""{
  "paymentRequested": {"money": {"amount": 42.05, "currencyCode": "USD"}},
  "process": {"status": "SUCCESS", "createdAt": "2021-05-19T10:57:28.313Z",
              "processedAt": "2021-05-19T10:58:28.313Z", "isTest": false},
  "fee": {"amount": 0.1, "currencyCode": "USD"},
  "paymentMethodResponse": {"paymentMethodCode": "BANK_TRANSFER", "idPayout": "TST-112233"}
}"""


def test_guide_example_parses_exactly() -> None:
    d = PayoutDetail.from_json("TST-112233", loads(GUIDE_DETAIL))
    assert d.amount == Decimal("42.05") and isinstance(d.amount, Decimal)
    assert d.fee_amount == Decimal("0.1")
    assert d.status == "SUCCESS" and d.is_final
    assert d.created_at == datetime(2021, 5, 19, 10, 57, 28, 313000, tzinfo=UTC)
    assert d.id_payment is None and d.reference is None  # the guide's example omits them
    assert d.is_test is False


def test_failure_reasons_object_and_unknown_fields() -> None:
    body = loads(
        b'{"paymentRequested": {"money": {"amount": 10000, "currencyCode": "IDR"}},'
        b'"process": {"status": "FAILED", "createdAt": "2024-01-01T00:00:00+07:00", "isTest": true,'
        b'"failureReasons": {"failedAt": "2024-01-01T00:01:00Z", "failureReasonCode": "SYSTEM"},'
        b'"newField": 1}, "fee": {"amount": 1, "currencyCode": "IDR"}, "extra": {}}'
    )
    d = PayoutDetail.from_json("X", body)
    assert d.amount == Decimal(10000)
    assert d.failure_reason_code == "SYSTEM"
    assert d.created_at == datetime(2023, 12, 31, 17, 0, tzinfo=UTC)
    assert not PayoutDetail.from_json("X", {"process": {"status": "NEW_STATUS"}}).is_final


def test_parse_timestamp_forms() -> None:
    assert parse_timestamp("2021-05-19T10:57:28Z") == datetime(2021, 5, 19, 10, 57, 28, tzinfo=UTC)
    assert parse_timestamp(None) is None
    assert parse_timestamp("") is None


def test_empty_body_does_not_crash() -> None:
    d = PayoutDetail.from_json("X", {})
    assert d.status == "" and d.amount is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-05-19T10:57:28.313Z", datetime(2021, 5, 19, 10, 57, 28, 313000, tzinfo=UTC)),
        ("2021-05-19t10:57:28.313z", datetime(2021, 5, 19, 10, 57, 28, 313000, tzinfo=UTC)),
        ("2021-05-19 10:57:28Z", datetime(2021, 5, 19, 10, 57, 28, tzinfo=UTC)),
        ("2021-05-19T17:57:28+07:00", datetime(2021, 5, 19, 10, 57, 28, tzinfo=UTC)),
        ("2021-05-19T05:27:28-05:30", datetime(2021, 5, 19, 10, 57, 28, tzinfo=UTC)),
        ("2021-05-19T10:57:28-00:00", datetime(2021, 5, 19, 10, 57, 28, tzinfo=UTC)),
        ("2021-05-19T10:57:28.1Z", datetime(2021, 5, 19, 10, 57, 28, 100000, tzinfo=UTC)),
        (
            "2021-05-19T10:57:28.123456789012Z",
            datetime(2021, 5, 19, 10, 57, 28, 123456, tzinfo=UTC),
        ),
        ("2021-05-19T10:57:28.999999999Z", datetime(2021, 5, 19, 10, 57, 28, 999999, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2017, 1, 1, tzinfo=UTC)),
        ("2016-12-31T15:59:60.5-08:00", datetime(2017, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        ("2021-05-19T10:57:28", datetime(2021, 5, 19, 10, 57, 28, tzinfo=UTC)),
        ("2021-05-19T17:57:28+0700", datetime(2021, 5, 19, 10, 57, 28, tzinfo=UTC)),
    ],
)
def test_every_rfc3339_form_is_read(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "2021-13-01T00:00:00Z",
        "2021-02-30T00:00:00Z",
        "2021-05-19T24:00:00Z",
        "2021-05-19T10:57:28+25:00",
        "2021-05-19",
        "10:57:28Z",
        1621421848,
        ["2021"],
    ],
)
def test_what_is_not_rfc3339_is_unreadable_naming_the_field(text: object) -> None:
    with pytest.raises(UnreadableDetail, match=r"process\.createdAt"):
        PayoutDetail.from_json("X", {"process": {"status": "SUCCESS", "createdAt": text}})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"paymentRequested": {"money": {"amount": "12.5"}}}, "paymentRequested.money.amount"),
        ({"paymentRequested": {"money": {"amount": True}}}, "paymentRequested.money.amount"),
        ({"fee": {"amount": Decimal("0.123456789")}}, "fee.amount"),
        ({"fee": {"amount": Decimal("1e30")}}, "fee.amount"),
        ({"fee": {"amount": 1, "currencyCode": 5}}, "fee.currencyCode"),
        ({"fee": "1 USD"}, "fee is not an object"),
        ({"process": {"status": "SUCCESS", "isTest": "no"}}, "process.isTest"),
        ({"process": {"status": 5}}, "process.status"),
        ({"process": {"status": "FAILED", "failureReasons": "oops"}}, "process.failureReasons"),
        ({"paymentMethodResponse": ["BANK_TRANSFER"]}, "paymentMethodResponse"),
    ],
)
def test_wrong_types_are_unreadable_naming_the_field(body: dict, field: str) -> None:
    with pytest.raises(UnreadableDetail, match=field.replace(".", r"\.")):
        PayoutDetail.from_json("X", body)


def test_money_fits_the_table_without_overflowing() -> None:
    assert money_fits(Decimal("1234567890123456789012.12345678"))
    assert not money_fits(Decimal("12345678901234567890123"))
    assert not money_fits(Decimal("0.123456789")) and money_fits(Decimal("0.1234567800"))
    assert not money_fits(Decimal("1e999999999")) and not money_fits(Decimal("1e-999999999"))
    assert not money_fits(Decimal("NaN")) and money_fits(Decimal("0E-30")) and money_fits(None)
