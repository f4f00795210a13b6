"""Small HTTP helpers for the sandbox's tests: real requests on loopback, bodies as exact text.

Payout bodies are written as JSON text (never built from Python floats), so an amount reaches
the sandbox exactly as a client would send it.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

from payrecon.client.records import loads
from payrecon.errors import StoreError
from payrecon.sandbox import Sandbox
from payrecon.store import Store

VERSION = {"Accept": "application/json", "X-API-Version": "2"}


def token(
    sb: Sandbox,
    operations: Iterable[str],
    *,
    merchant: str | None = None,
    secret: str | None = None,
    **extra: Any,
) -> str:
    """A token for ``operations`` from POST /auth-tokens (fails the test on anything but 200)."""
    body = {
        "merchantCode": merchant or sb.merchant_code,
        "secret": secret or sb.secret,
        "operations": list(operations),
        **extra,
    }
    r = requests.post(f"{sb.base_url}/auth-tokens", headers=VERSION, data=json.dumps(body))
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def bearer(tok: str) -> dict[str, str]:
    return {**VERSION, "Authorization": f"Bearer {tok}"}


def payout_body(
    amount: str = "10000",
    currency: str = "IDR",
    *,
    callback: str | None = None,
    account: str = '{"accountName": "Test account", "accountNumber": "11223344"}',
) -> str:
    """A BANK_TRANSFER payout body as JSON text; ``amount`` is the number's exact text."""
    text = (
        f'{{"paymentRequested": {{"money": {{"amount": {amount}, "currencyCode": "{currency}"}}}},'
        f' "paymentMethod": {{"paymentMethodCode": "BANK_TRANSFER", "account": {account},'
        f' "paymentOperatorCode": "BNK_000"}}'
    )
    if callback is not None:
        text += f', "callbackUrl": "{callback}"'
    return text + "}"


def create(sb: Sandbox, id_payout: str, body: str | None = None, **kw: Any) -> requests.Response:
    """POST /payouts/{id} with a fresh token naming both operations on the id."""
    tok = token(sb, [f"POST /payouts/{id_payout}", f"GET /payouts/{id_payout}"])
    return requests.post(
        f"{sb.base_url}/payouts/{id_payout}",
        headers=bearer(tok),
        data=body if body is not None else payout_body(**kw),
    )


def get(sb: Sandbox, id_payout: str, tok: str | None = None) -> requests.Response:
    tok = tok or token(sb, [f"GET /payouts/{id_payout}"])
    return requests.get(f"{sb.base_url}/payouts/{id_payout}", headers=bearer(tok))


def detail(sb: Sandbox, id_payout: str, tok: str | None = None) -> dict[str, Any]:
    r = get(sb, id_payout, tok)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = loads(r.content)
    return data


def wait_final(sb: Sandbox, id_payout: str, timeout: float = 10.0) -> dict[str, Any]:
    """Poll GET until the payout leaves PROCESSING (bounded); returns the last detail."""
    tok = token(sb, [f"GET /payouts/{id_payout}"])
    deadline = time.monotonic() + timeout
    while True:
        data = detail(sb, id_payout, tok)
        if data["process"]["status"] != "PROCESSING" or time.monotonic() > deadline:
            return data
        time.sleep(0.02)


def wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    """Poll ``predicate()`` until true or the (generous) timeout; no timing is asserted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def stored_rows(path: Path) -> int:
    """Payouts a reader sees in a store right now, while another process writes it (0 before
    the schema exists)."""
    try:
        with Store.open_readonly(path) as store:
            return store.counts()["payouts"]
    except StoreError:
        return 0


def wait_for_stored(
    proc: subprocess.Popen[str], path: Path, rows: int, timeout: float = 120
) -> None:
    """Wait until the running ``proc`` has committed ``rows`` payouts to its store (bounded)."""
    deadline = time.monotonic() + timeout
    while stored_rows(path) < rows:
        assert proc.poll() is None, "the run ended before it could be stopped part-way"
        assert time.monotonic() < deadline, "no answers stored"
        time.sleep(0.01)
