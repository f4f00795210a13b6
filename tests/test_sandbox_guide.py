"""The payout guide's three curl calls, replayed as written against the sandbox.

The bodies and headers below are the guide's own (shared/seeds/000_*.txt), byte for byte; only
the host changes, and the bearer token is the one the first call returned (the guide's literal
token was signed by the real platform in 2021: the sandbox refuses it, as the platform would).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator

import pytest
import requests
from sandbox_helpers import wait_for

from payrecon.client.records import loads
from payrecon.sandbox import Merchant, Sandbox, SandboxConfig, running

TOKEN_BODY = """{
           "merchantCode": "YOUR_MERCHANT_ID",
           "secret": "YOUR_MERCHANT_SECRET_KEY",
           "validitySecs": 600,
           "operations": [
             "POST /payouts/TST-223344",
             "GET /payouts/TST-223344"
           ]
         }"""

PAYOUT_BODY = """{
           "paymentRequested": {
             "money":{
               "amount": 10000,
               "currencyCode": "IDR"
             }
           },
           "paymentMethod": {
             "paymentMethodCode": "BANK_TRANSFER",
             "account":{
               "accountName": "Test account",
               "accountNumber": "11223344"
             },
             "paymentOperatorCode": "BNK_000",
             "emailAddress": "customer@test.com"
           },
           "callbackUrl": "https://callback.example.com"
         }"""

GUIDE_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJvcGVyYXRpb25zIjpbIlBPU1QgL3BheW91dHMvVFNULTIyMzM0NCIs"
    "IkdFVCAvcGF5b3V0cy9UU1QtMjIzMzQ0Il0sImV4cCI6MTYyMjYyODQzOCwianRpIjoiZDdiOTI5YTktYTc2Yy00ZWE1"
    "LTkwZTUtZmY3YzNkZjE5NTRiIiwiaWF0IjoxNjIyNjI3ODM4LCJzdWIiOiJZT1VSX01FUkNIQU5UX0NPREUifQ.ULgCPX"
    "d01mc3JS6QOu6aZUSxw6eDCjpD_IehDkfoQes"
)

POST_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "X-API-Version": "2",
}
GET_HEADERS = {"Accept": "application/json", "X-API-Version": "2"}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def guide_sandbox() -> Iterator[Sandbox]:
    config = SandboxConfig(
        merchants=(Merchant("YOUR_MERCHANT_ID", "YOUR_MERCHANT_SECRET_KEY"),), final_after=0.3
    )
    with running(config) as sb:
        yield sb


def _segment(jwt: str, index: int) -> dict[str, object]:
    part = jwt.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def test_the_guides_three_calls_work_as_written(guide_sandbox: Sandbox) -> None:
    base = guide_sandbox.base_url
    with requests.Session() as http:
        # 1. curl -X POST '.../auth-tokens'
        r = http.post(f"{base}/auth-tokens", headers=POST_HEADERS, data=TOKEN_BODY)
        assert r.status_code == 200
        assert list(r.json()) == ["token"]  # {"token": ...} and nothing else, as documented
        token = r.json()["token"]
        assert _segment(token, 0) == {"alg": "HS256", "typ": "JWT"}
        claims = _segment(token, 1)
        assert sorted(claims) == ["exp", "iat", "jti", "operations", "sub"]
        assert claims["operations"] == ["POST /payouts/TST-223344", "GET /payouts/TST-223344"]
        assert claims["sub"] == "YOUR_MERCHANT_ID"
        assert claims["exp"] - claims["iat"] == 600  # type: ignore[operator]

        # 2. curl -X POST '.../payouts/TST-223344'
        headers = {**POST_HEADERS, "Authorization": f"Bearer {token}"}
        r = http.post(f"{base}/payouts/TST-223344", headers=headers, data=PAYOUT_BODY)
        assert r.status_code == 201
        accepted = loads(r.content)
        # Everything the guide's example response shows, plus the fields the spec requires.
        assert accepted["paymentRequested"] == {"money": {"amount": 10000, "currencyCode": "IDR"}}
        method = accepted["paymentMethodResponse"]
        assert method["paymentMethodCode"] == "BANK_TRANSFER"
        assert method["idPayout"] == "TST-223344"
        assert method["idPayment"] and method["reference"]

        # 3. curl -X GET '.../payouts/TST-223344'
        headers = {**GET_HEADERS, "Authorization": f"Bearer {token}"}
        first = loads(http.get(f"{base}/payouts/TST-223344", headers=headers).content)
        assert first["process"]["status"] == "PROCESSING"

        def final() -> bool:
            r = http.get(f"{base}/payouts/TST-223344", headers=headers)
            assert r.status_code == 200
            return bool(loads(r.content)["process"]["status"] != "PROCESSING")

        assert wait_for(final)
        detail = loads(http.get(f"{base}/payouts/TST-223344", headers=headers).content)
    # The guide's example succeeds, with the documented detail shape.
    assert sorted(detail) == ["fee", "paymentMethodResponse", "paymentRequested", "process"]
    process = detail["process"]
    assert process["status"] == "SUCCESS"
    assert TIMESTAMP.fullmatch(process["createdAt"])
    assert TIMESTAMP.fullmatch(process["processedAt"])
    assert process["isTest"] is True
    assert "failureReasons" not in process
    assert detail["fee"] == {"amount": 2600, "currencyCode": "IDR"}  # 1 % + 2500
    assert detail["paymentMethodResponse"] == method
    # The callback URL is the guide's real-world host: recorded, never contacted from a test.
    attempts = guide_sandbox.stats().callbacks
    assert [(a.id_payout, a.error) for a in attempts] == [
        ("TST-223344", "skipped: not a loopback host")
    ]


def test_the_guides_literal_token_is_refused(guide_sandbox: Sandbox) -> None:
    headers = {**GET_HEADERS, "Authorization": f"Bearer {GUIDE_TOKEN}"}
    r = requests.get(f"{guide_sandbox.base_url}/payouts/TST-223344", headers=headers)
    assert r.status_code == 401
    assert set(r.json()) == {"description"}
