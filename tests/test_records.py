"""Parsing the platform's detail JSON exactly, whatever optional parts are missing."""

from datetime import UTC, datetime
from decimal import Decimal

from payrecon.records import PayoutDetail, loads, parse_timestamp

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
