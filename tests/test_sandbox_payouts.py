"""POST and GET /payouts/{idPayout}: the id rule, bodies, precision, duplicates, lifecycle, fees."""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from typing import Any

import pytest
import requests
from sandbox_helpers import (
    VERSION,
    bearer,
    create,
    detail,
    get,
    payout_body,
    token,
    wait_final,
)

from payrecon.client.records import loads
from payrecon.sandbox import Merchant, Sandbox, SandboxConfig, running
from payrecon.sandbox.payouts import fee_for

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

BODIES: dict[str, dict[str, Any]] = {
    "BANK_TRANSFER": {
        "paymentRequested": {"money": {"amount": 10000, "currencyCode": "IDR"}},
        "paymentMethod": {
            "paymentMethodCode": "BANK_TRANSFER",
            "account": {"accountName": "Test account", "accountNumber": "11223344"},
            "paymentOperatorCode": "BNK_000",
        },
    },
    "CRYPTO_TRANSFER": {
        "paymentRequested": {"money": {"amount": 25, "currencyCode": "USDT"}},
        "paymentMethod": {
            "paymentMethodCode": "CRYPTO_TRANSFER",
            "account": {"accountNumber": "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"},
            "paymentOperatorCode": "USDT_TRC20",
        },
    },
    "WALLET_TRANSFER": {
        "paymentRequested": {"money": {"amount": 500, "currencyCode": "IDR"}},
        "paymentMethod": {
            "paymentMethodCode": "WALLET_TRANSFER",
            "account": {"accountNumber": "asha@ovo"},
        },
    },
}

# (method, path of the field to drop): every required field of each variant.
REQUIRED = [
    ("BANK_TRANSFER", ("paymentRequested",)),
    ("BANK_TRANSFER", ("paymentRequested", "money")),
    ("BANK_TRANSFER", ("paymentRequested", "money", "amount")),
    ("BANK_TRANSFER", ("paymentRequested", "money", "currencyCode")),
    ("BANK_TRANSFER", ("paymentMethod",)),
    ("BANK_TRANSFER", ("paymentMethod", "paymentMethodCode")),
    ("BANK_TRANSFER", ("paymentMethod", "account")),
    ("BANK_TRANSFER", ("paymentMethod", "account", "accountName")),
    ("BANK_TRANSFER", ("paymentMethod", "account", "accountNumber")),
    ("BANK_TRANSFER", ("paymentMethod", "paymentOperatorCode")),
    ("CRYPTO_TRANSFER", ("paymentMethod", "account")),
    ("CRYPTO_TRANSFER", ("paymentMethod", "account", "accountNumber")),
    ("CRYPTO_TRANSFER", ("paymentMethod", "paymentOperatorCode")),
    ("WALLET_TRANSFER", ("paymentMethod", "account")),
]


def _account(currency: str) -> str:
    """A bank account with the extra fields some currencies require (§3.2)."""
    extra = {
        "INR": ', "bankCode": "HDFC0000001"',
        "JPY": ', "accountType": "savings", "bankBranch": "Shibuya"',
    }.get(currency, "")
    return f'{{"accountName": "Taro", "accountNumber": "1"{extra}}}'


def _post(sb: Sandbox, id_payout: str, body: object) -> requests.Response:
    return create(sb, id_payout, json.dumps(body) if not isinstance(body, str) else body)


@pytest.mark.parametrize("method", sorted(BODIES))
def test_each_method_is_accepted_with_the_documented_201(sandbox: Sandbox, method: str) -> None:
    r = _post(sandbox, f"OK-{method}", BODIES[method])
    assert r.status_code == 201, r.text
    body = loads(r.content)
    assert sorted(body) == ["paymentMethodResponse", "paymentRequested"]
    assert body["paymentRequested"] == BODIES[method]["paymentRequested"]
    response = body["paymentMethodResponse"]
    assert sorted(response) == ["idPayment", "idPayout", "paymentMethodCode", "reference"]
    assert response["idPayout"] == f"OK-{method}"
    assert response["paymentMethodCode"] == method


@pytest.mark.parametrize(("method", "path"), REQUIRED)
def test_a_missing_required_field_is_400(sandbox: Sandbox, method: str, path: tuple[str]) -> None:
    body = copy.deepcopy(BODIES[method])
    holder = body
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    r = _post(sandbox, "MISSING-1", body)
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"description"}
    assert get(sandbox, "MISSING-1").status_code == 410  # nothing was stored


def test_an_empty_wallet_account_is_a_business_refusal(sandbox: Sandbox) -> None:
    body = copy.deepcopy(BODIES["WALLET_TRANSFER"])
    body["paymentMethod"]["account"] = {}
    r = _post(sandbox, "W-EMPTY", body)
    assert r.status_code == 406
    assert r.json()[0]["code"] == "PAYMENT_METHOD_ERROR"


@pytest.mark.parametrize(
    ("currency", "account"),
    [
        ("INR", '{"accountName": "Asha Rao", "accountNumber": "1"}'),  # bankCode (IFSC)
        ("JPY", '{"accountName": "Taro", "accountNumber": "1", "accountType": "savings"}'),
        ("JPY", '{"accountName": "Taro", "accountNumber": "1", "bankBranch": "Shibuya"}'),
        ("ZAR", '{"accountName": "Thabo", "accountNumber": "1", "accountType": "checking"}'),
        ("IDR", '{"accountName": "Test", "accountNumber": "1", "bankName": ""}'),
    ],
)
def test_currency_specific_bank_fields(sandbox: Sandbox, currency: str, account: str) -> None:
    r = create(sandbox, "B-1", payout_body("100", currency, account=account))
    assert r.status_code == 400, r.text


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("José Ñúñez", True),
        ("Иван Петров", True),
        ("李小龍", True),
        ("O'Brien-Smith & Co.", True),
        ("Nguyễn Văn A", True),
        ("Test 123", False),
        ("a/b", False),
        ("x" * 65, False),
        ("   ", False),
    ],
)
def test_account_name_rule(sandbox: Sandbox, name: str, ok: bool) -> None:
    account = json.dumps({"accountName": name, "accountNumber": "1"})
    r = create(sandbox, "N-1", payout_body(account=account))
    assert r.status_code == (201 if ok else 400), r.text


@pytest.mark.parametrize(
    ("amount", "currency", "status"),
    [
        ("10000", "IDR", 201),
        ("10000.00", "IDR", 201),
        ("10000.5", "IDR", 406),
        ("42.05", "INR", 406),
        ("1.5", "JPY", 406),
        ("1000.1", "KRW", 406),
        ("20000.01", "VND", 406),
        ("12.34", "USD", 201),
        ("12.345", "USD", 406),
        ("12.3400", "EUR", 201),
        ("1E-999999", "USD", 406),
        ("0.01", "USDT", 201),
    ],
)
def test_currency_precision(sandbox: Sandbox, amount: str, currency: str, status: int) -> None:
    r = create(sandbox, "P-1", payout_body(amount, currency, account=_account(currency)))
    assert r.status_code == status, r.text
    if status == 406:
        assert r.json() == [
            {
                "code": "CURRENCY_PRECISION_EXCEEDED",
                "description": r.json()[0]["description"],
                "attrCode": "amount",
            }
        ]


@pytest.mark.parametrize("amount", ["0", "-5", '"100"', "true", "null"])
def test_amount_must_be_a_positive_number(sandbox: Sandbox, amount: str) -> None:
    assert create(sandbox, "A-1", payout_body(amount)).status_code == 400


def test_unsupported_currency_and_huge_amount_are_406(sandbox: Sandbox) -> None:
    r = create(sandbox, "C-1", payout_body("10", "XYZ"))
    assert (r.status_code, r.json()[0]["code"]) == (406, "CURRENCY_NOT_SUPPORTED")
    r = create(sandbox, "C-2", payout_body("1e20", "USD"))
    assert (r.status_code, r.json()[0]["code"]) == (406, "PAYMENT_CHANNEL_AMOUNT_LIMITS")


def test_a_used_id_is_409_and_the_first_payout_is_kept(sandbox: Sandbox) -> None:
    assert create(sandbox, "DUP-1", amount="10000").status_code == 201
    r = create(sandbox, "DUP-1", amount="777")
    assert r.status_code == 409
    assert set(r.json()) == {"description"}
    assert detail(sandbox, "DUP-1")["paymentRequested"]["money"]["amount"] == 10000


@pytest.mark.parametrize("bad", ["bad%20id", "a.b", "x" * 251, "%C3%A9"])
def test_the_id_rule_is_enforced_on_both_operations(sandbox: Sandbox, bad: str) -> None:
    tok = token(sandbox, ["GET /payouts/x"])
    r = requests.get(f"{sandbox.base_url}/payouts/{bad}", headers=bearer(tok))
    assert r.status_code == 400
    r = requests.post(f"{sandbox.base_url}/payouts/{bad}", headers=bearer(tok), data=payout_body())
    assert r.status_code == 400


def test_the_longest_id_is_fine(sandbox: Sandbox) -> None:
    long_id = "L" * 250
    assert create(sandbox, long_id).status_code == 201
    assert get(sandbox, long_id).status_code == 200


def test_unknown_id_is_410_gone(sandbox: Sandbox) -> None:
    r = get(sandbox, "NEVER-CREATED")
    assert r.status_code == 410
    assert set(r.json()) == {"description"}


def test_get_without_api_version_is_400(sandbox: Sandbox) -> None:
    create(sandbox, "V-1")
    tok = token(sandbox, ["GET /payouts/V-1"])
    r = requests.get(f"{sandbox.base_url}/payouts/V-1", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 400


def test_one_merchant_never_sees_anothers_payouts() -> None:
    config = SandboxConfig(merchants=(Merchant("m-a", "secret-a"), Merchant("m-b", "secret-b")))
    with running(config) as sb:
        assert create(sb, "SHARED-1").status_code == 201  # created by m-a
        ops = ["GET /payouts/SHARED-1", "POST /payouts/SHARED-1"]
        tok_b = token(sb, ops, merchant="m-b", secret="secret-b")
        assert get(sb, "SHARED-1", tok_b).status_code == 410
        # ids are unique per merchant: m-b may use the same Merchant Order ID
        r = requests.post(
            f"{sb.base_url}/payouts/SHARED-1", headers=bearer(tok_b), data=payout_body("500")
        )
        assert r.status_code == 201
        assert detail(sb, "SHARED-1", tok_b)["paymentRequested"]["money"]["amount"] == 500
        assert detail(sb, "SHARED-1")["paymentRequested"]["money"]["amount"] == 10000
        assert sb.payout_state("SHARED-1", "m-b")["amount"] == Decimal(500)  # type: ignore[index]


# ---------------------------------------------------------------- lifecycle and amount rules


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [
        ("10000", "SUCCESS", None),
        ("10013", "FAILED", "INVALID_ACCOUNT_NUMBER"),
        ("10014", "FAILED", "INVALID_ACCOUNT_NAME"),
        ("10015.00", "FAILED", "BALANCE_INSUFFICIENT"),
        ("10066", "REFUSED", "PAYMENT_CHANNEL_AMOUNT_LIMITS"),
        ("51", "SUCCESS", None),
        ("113", "FAILED", "INVALID_ACCOUNT_NUMBER"),
    ],
)
def test_amount_rules_pick_the_final_status(
    sandbox: Sandbox, amount: str, status: str, code: str | None
) -> None:
    assert create(sandbox, "LC-1", amount=amount).status_code == 201
    first = detail(sandbox, "LC-1")
    assert first["process"]["status"] == "PROCESSING"
    assert "processedAt" not in first["process"] and "failureReasons" not in first["process"]
    final = wait_final(sandbox, "LC-1")
    process = final["process"]
    assert process["status"] == status
    assert TIMESTAMP.fullmatch(process["processedAt"])
    assert process["processedAt"] > process["createdAt"]
    if code is None:
        assert "failureReasons" not in process
    else:
        reasons = process["failureReasons"]
        assert reasons["failureReasonCode"] == code
        assert TIMESTAMP.fullmatch(reasons["failedAt"])
        assert reasons["message"]


def test_amounts_ending_in_99_stay_processing(sandbox: Sandbox) -> None:
    assert create(sandbox, "PEND-1", amount="10099").status_code == 201
    assert create(sandbox, "DONE-1", amount="10000").status_code == 201
    assert wait_final(sandbox, "DONE-1")["process"]["status"] == "SUCCESS"
    # DONE-1 was created after PEND-1 and is final, so PEND-1's time has passed too.
    assert detail(sandbox, "PEND-1")["process"]["status"] == "PROCESSING"


def test_final_after_zero_is_final_at_once() -> None:
    with running(SandboxConfig(final_after=0)) as sb:
        assert create(sb, "NOW-1", amount="10013").status_code == 201
        assert detail(sb, "NOW-1")["process"]["status"] == "FAILED"


@pytest.mark.parametrize(
    ("amount", "currency", "fee"),
    [
        ("10000", "IDR", "2600"),
        ("10050", "IDR", "2601"),  # 100.5 + 2500 rounds half up
        ("5000", "INR", "60"),
        ("42.05", "USD", "0.93"),  # 0.63075 + 0.30
        ("100", "EUR", "1.45"),
        ("25", "USDT", "1.25"),
        ("999", "THB", "14.99"),
    ],
)
def test_fees_follow_the_schedule_exactly(
    sandbox: Sandbox, amount: str, currency: str, fee: str
) -> None:
    assert fee_for(Decimal(amount), currency) == Decimal(fee)
    body = payout_body(amount, currency, account=_account(currency))
    assert create(sandbox, "FEE-1", body).status_code == 201
    r = get(sandbox, "FEE-1")
    assert f'"fee":{{"amount":{fee},"currencyCode":"{currency}"}}' in r.text
    assert f'"amount":{amount},"currencyCode"' in r.text  # the amount echoed as sent


def test_failed_and_refused_payouts_carry_their_fee_too(sandbox: Sandbox) -> None:
    for i, amount in enumerate(("10013", "10066")):
        assert create(sandbox, f"FF-{i}", amount=amount).status_code == 201
        assert wait_final(sandbox, f"FF-{i}")["fee"]["amount"] == fee_for(Decimal(amount), "IDR")


def test_get_answers_are_counted_per_merchant_and_id(sandbox: Sandbox) -> None:
    create(sandbox, "CNT-1")
    tok = token(sandbox, ["GET /payouts/CNT-1", "GET /payouts/CNT-2"])
    for _ in range(3):
        assert get(sandbox, "CNT-1", tok).status_code == 200
    assert get(sandbox, "CNT-2", tok).status_code == 410
    stats = sandbox.stats()
    assert stats.gets_ok[(sandbox.merchant_code, "CNT-1")] == 3
    assert stats.get_attempts == {"CNT-1": 3, "CNT-2": 1}
    assert stats.count("GET", "payout", 410) == 1
    sandbox.reset_stats()
    assert sandbox.stats().count() == 0
    assert VERSION["X-API-Version"] == "2"
