"""POST /auth-tokens as documented, and bearer tokens as the business endpoints check them."""

from __future__ import annotations

import json
import time

import jwt
import pytest
import requests
from sandbox_helpers import VERSION, bearer, create, get, payout_body, token

from payrecon.sandbox import Faults, Sandbox, SandboxConfig, running

OPS = ["GET /payouts/T-1"]


def _post(sb: Sandbox, body: object, headers: dict[str, str] | None = None) -> requests.Response:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return requests.post(f"{sb.base_url}/auth-tokens", headers=headers or VERSION, data=data)


def _good(sb: Sandbox, **over: object) -> dict[str, object]:
    return {"merchantCode": sb.merchant_code, "secret": sb.secret, "operations": OPS, **over}


def test_claims_are_exactly_the_documented_ones_and_validity_defaults_to_1800(
    sandbox: Sandbox,
) -> None:
    r = _post(sandbox, _good(sandbox))
    assert r.status_code == 200
    claims = jwt.decode(r.json()["token"], options={"verify_signature": False})
    assert sorted(claims) == ["exp", "iat", "jti", "operations", "sub"]
    assert claims["exp"] - claims["iat"] == 1800
    assert claims["sub"] == sandbox.merchant_code
    assert claims["operations"] == OPS
    assert sandbox.stats().token_operations == [OPS]
    assert sandbox.stats().tokens_per_merchant == {sandbox.merchant_code: 1}


def test_tokens_are_signed_with_the_platforms_key_not_the_merchant_secret(
    sandbox: Sandbox,
) -> None:
    tok = token(sandbox, OPS)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(tok, sandbox.secret, algorithms=["HS256"])


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        "null",
        {"secret": "x", "operations": OPS},
        {"merchantCode": "", "secret": "x", "operations": OPS},
        {"merchantCode": "m", "operations": OPS},
        {"merchantCode": "m", "secret": "x" * 1001, "operations": OPS},
        {"merchantCode": "m", "secret": "x"},  # operations left out: least privilege, refused
        {"merchantCode": "m", "secret": "x", "operations": []},
        {"merchantCode": "m", "secret": "x", "operations": "GET /payouts/T-1"},
        {"merchantCode": "m", "secret": "x", "operations": [1]},
        {"merchantCode": "m", "secret": "x", "operations": OPS, "validitySecs": 59},
        {"merchantCode": "m", "secret": "x", "operations": OPS, "validitySecs": 3601},
        {"merchantCode": "m", "secret": "x", "operations": OPS, "validitySecs": "600"},
        {"merchantCode": "m", "secret": "x", "operations": OPS, "validitySecs": True},
        {"merchantCode": "m", "secret": "x", "operations": OPS, "validitySecs": None},
        {"merchantCode": None, "secret": "x", "operations": OPS},
        {"merchantCode": "m", "secret": "x", "operations": OPS, "money": {"amount": 5}},
        {
            "merchantCode": "m",
            "secret": "x",
            "operations": OPS,
            "money": {"amount": 0, "currencyCode": "IDR"},
        },
    ],
)
def test_malformed_requests_are_400(sandbox: Sandbox, body: object) -> None:
    r = _post(sandbox, body)
    assert r.status_code == 400
    assert set(r.json()) == {"description"}


def test_validity_bounds_are_accepted(sandbox: Sandbox) -> None:
    for secs in (60, 3600):
        r = _post(sandbox, _good(sandbox, validitySecs=secs))
        claims = jwt.decode(r.json()["token"], options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == secs


def test_wrong_secret_is_403_with_a_basic_error(sandbox: Sandbox) -> None:
    r = _post(sandbox, _good(sandbox, secret="not-the-secret"))
    assert r.status_code == 403
    assert set(r.json()) == {"description"}
    assert sandbox.secret not in r.text


def test_unknown_merchant_is_406_merchant_not_found_as_an_array(sandbox: Sandbox) -> None:
    r = _post(sandbox, _good(sandbox, merchantCode="nobody"))
    assert r.status_code == 406
    body = r.json()
    assert isinstance(body, list) and body[0]["code"] == "MERCHANT_NOT_FOUND"


@pytest.mark.parametrize(
    "operation",
    ["FETCH /payouts/T-1", "GET payouts/T-1", "GET /payouts/T-1 trailing", "get /payouts/T-1"],
)
def test_malformed_operation_is_406_operation_invalid(sandbox: Sandbox, operation: str) -> None:
    r = _post(sandbox, _good(sandbox, operations=["GET /payouts/ok", operation]))
    assert r.status_code == 406
    assert r.json()[0]["code"] == "OPERATION_INVALID"


def test_missing_api_version_is_400(sandbox: Sandbox) -> None:
    r = _post(sandbox, _good(sandbox), headers={"Accept": "application/json"})
    assert r.status_code == 400
    r = _post(sandbox, _good(sandbox), headers={"X-API-Version": "3"})
    assert r.status_code == 400


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer a b c"],
)
def test_missing_or_malformed_bearer_is_401(sandbox: Sandbox, authorization: str | None) -> None:
    headers = dict(VERSION)
    if authorization is not None:
        headers["Authorization"] = authorization
    r = requests.get(f"{sandbox.base_url}/payouts/T-1", headers=headers)
    assert r.status_code == 401
    assert set(r.json()) == {"description"}


def test_forged_and_foreign_tokens_are_401(sandbox: Sandbox) -> None:
    real = jwt.decode(token(sandbox, OPS), options={"verify_signature": False})
    unsigned = jwt.encode(real, key=None, algorithm="none")
    with_merchant_secret = jwt.encode(real, sandbox.secret, algorithm="HS256")
    with running() as other:
        foreign = token(other, OPS)
    for tok in (unsigned, with_merchant_secret, foreign):
        assert get(sandbox, "T-1", tok).status_code == 401


def test_operation_not_named_is_403(sandbox: Sandbox) -> None:
    tok = token(sandbox, ["GET /payouts/OTHER", "POST /payouts/T-1"])
    assert get(sandbox, "T-1", tok).status_code == 403
    tok = token(sandbox, ["GET /payouts/T-1"])
    r = requests.post(f"{sandbox.base_url}/payouts/T-1", headers=bearer(tok), data=payout_body())
    assert r.status_code == 403


def test_token_lifetime_fault_makes_honest_short_lived_tokens() -> None:
    with running(SandboxConfig(faults=Faults(token_lifetime=0.5))) as sb:
        assert create(sb, "T-1").status_code == 201
        tok = token(sb, OPS, validitySecs=600)
        claims = jwt.decode(tok, options={"verify_signature": False})
        assert claims["exp"] - time.time() <= 0.5  # the claim says when it dies
        assert get(sb, "T-1", tok).status_code == 200
        time.sleep(max(0.0, claims["exp"] - time.time()) + 0.05)
        assert get(sb, "T-1", tok).status_code == 401  # expired now
        sb.faults.token_lifetime = None  # switched off at run time
        claims = jwt.decode(token(sb, OPS), options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 1800


def test_max_operations_fault_refuses_big_token_requests_with_400() -> None:
    with running(SandboxConfig(faults=Faults(max_operations=3))) as sb:
        ops = [f"GET /payouts/T-{i}" for i in range(4)]
        r = _post(sb, _good(sb, operations=ops))
        assert r.status_code == 400
        assert "too many operations" in r.json()["description"]
        assert _post(sb, _good(sb, operations=ops[:3])).status_code == 200


def test_money_lock_allows_exactly_that_amount_and_currency(sandbox: Sandbox) -> None:
    ops = ["POST /payouts/M-1", "POST /payouts/M-2", "POST /payouts/M-3"]
    tok = token(sandbox, ops, money={"amount": 10000, "currencyCode": "IDR"})
    url = f"{sandbox.base_url}/payouts"
    r = requests.post(f"{url}/M-1", headers=bearer(tok), data=payout_body("20000", "IDR"))
    assert r.status_code == 403
    r = requests.post(f"{url}/M-2", headers=bearer(tok), data=payout_body("10000", "USD"))
    assert r.status_code == 403
    r = requests.post(f"{url}/M-3", headers=bearer(tok), data=payout_body("10000", "IDR"))
    assert r.status_code == 201
