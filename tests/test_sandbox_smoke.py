"""The sandbox's happy path over real HTTP on loopback: token, create, read, final status."""

from __future__ import annotations

import time

import requests

from payrecon.client.records import loads
from payrecon.sandbox import Sandbox

HEADERS = {"Accept": "application/json", "X-API-Version": "2"}


def test_token_create_and_read_until_final(sandbox: Sandbox) -> None:
    ops = ["POST /payouts/SMOKE-1", "GET /payouts/SMOKE-1"]
    with requests.Session() as http:
        r = http.post(
            f"{sandbox.base_url}/auth-tokens",
            headers=HEADERS,
            json={
                "merchantCode": sandbox.merchant_code,
                "secret": sandbox.secret,
                "operations": ops,
            },
        )
        assert r.status_code == 200
        auth = {**HEADERS, "Authorization": f"Bearer {r.json()['token']}"}
        body = (
            '{"paymentRequested": {"money": {"amount": 12.5, "currencyCode": "USD"}},'
            ' "paymentMethod": {"paymentMethodCode": "BANK_TRANSFER",'
            ' "account": {"accountName": "Ana", "accountNumber": "1"},'
            ' "paymentOperatorCode": "BNK_000"}}'
        )
        r = http.post(f"{sandbox.base_url}/payouts/SMOKE-1", headers=auth, data=body)
        assert r.status_code == 201
        first = loads(http.get(f"{sandbox.base_url}/payouts/SMOKE-1", headers=auth).content)
        assert first["process"]["status"] == "PROCESSING"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            detail = loads(http.get(f"{sandbox.base_url}/payouts/SMOKE-1", headers=auth).content)
            if detail["process"]["status"] != "PROCESSING":
                break
            time.sleep(0.05)
    assert detail["process"]["status"] == "SUCCESS"
    assert str(detail["paymentRequested"]["money"]["amount"]) == "12.5"
    assert str(detail["fee"]["amount"]) == "0.49"  # 1.5 % of 12.50 + 0.30 = 0.4875 -> 0.49
    assert sandbox.stats().gets_ok[(sandbox.merchant_code, "SMOKE-1")] >= 2
