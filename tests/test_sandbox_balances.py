"""GET /balances on the sandbox over loopback: the gauntlet, the fields, and what they hold."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import requests
from sandbox_helpers import VERSION, token

from payrecon.client.records import loads
from payrecon.sandbox import Merchant, SandboxConfig, running

SEED = """id_payout,amount,currency,status,fee_amount,created_at,processed_at,is_test
S-1,100.00,EUR,SUCCESS,1.50,2026-11-10T09:00:00Z,2026-11-10T09:05:00Z,false
S-2,40.00,EUR,FAILED,0.50,2026-11-10T10:00:00Z,2026-11-10T10:05:00Z,false
S-3,25.00,EUR,PROCESSING,0.25,2026-11-11T09:00:00Z,,false
S-4,10.00,EUR,PROCESSING,0.10,2026-11-11T10:00:00Z,,false
S-5,5000,IDR,SUCCESS,100,2026-11-12T09:00:00Z,2026-11-12T09:01:00Z,false
"""


def test_balances_follow_the_payouts(tmp_path: Path) -> None:
    seed = tmp_path / "seed.csv"
    seed.write_text(SEED)
    with running(SandboxConfig(opening_balance=Decimal("1000")), seed=seed) as sb:
        url = f"{sb.base_url}/balances"
        assert requests.get(url, headers=VERSION).status_code == 401
        other = token(sb, ["GET /payouts/S-1"])
        r = requests.get(url, headers={**VERSION, "Authorization": f"Bearer {other}"})
        assert r.status_code == 403
        good = {**VERSION, "Authorization": f"Bearer {token(sb, ['GET /balances'])}"}
        no_version = {"Authorization": good["Authorization"]}
        assert requests.get(url, headers=no_version).status_code == 400
        r = requests.get(url, headers=good, params={"currencyCodes": "EUR,XYZ,IDR"})
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
        data = {b["currencyCode"]: b for b in loads(r.content)["data"]}
        assert set(data) == {"EUR", "IDR"}  # no account in XYZ: silently left out
        eur = data["EUR"]
        assert eur["balance"] == Decimal("898.50")  # 1000 - (100.00 + 1.50): only SUCCESS left
        assert eur["pendingPayoutAmount"] == Decimal("35.00")  # amounts in flight, no fees
        assert eur["pendingSettlementAmount"] == 0
        assert eur["availableBalance"] == Decimal("863.50")
        assert eur["lastBalanceMovement"] == "2026-11-10T09:05:00.000Z"
        assert data["IDR"]["balance"] == Decimal("-4100")  # 1000 - (5000 + 100): may go below 0
        everything = loads(requests.get(url, headers=good).content)["data"]
        assert {"EUR", "IDR", "USD", "USDT"} <= {b["currencyCode"] for b in everything}
        usd = next(b for b in everything if b["currencyCode"] == "USD")
        assert "lastBalanceMovement" not in usd  # never moved: left out, never null


def test_the_client_reads_balances_with_a_token_for_that_call_only(tmp_path: Path) -> None:
    with running(SandboxConfig(final_after=0.1)) as sb:
        client = sb.client()
        account = {"accountName": "Test Account", "accountNumber": "1", "bankCode": "HDFC0001"}
        client.create_payout(
            "C-1", amount=Decimal("2599"), currency="INR", account=account, operator="INR_IMPS"
        )  # ends in 99: stays PROCESSING
        client.create_payout(
            "C-2", amount=Decimal("1000"), currency="INR", account=account, operator="INR_IMPS"
        )
        time.sleep(0.3)
        (inr,) = client.get_balances(["INR"])
        assert inr.currency == "INR"
        assert inr.pending_payout_amount == Decimal("2599")
        assert inr.balance == Decimal("1000000000") - Decimal("1000") - Decimal("20")  # fee 1%+10
        assert inr.last_balance_movement is not None
        ops = sb.stats().token_operations
        assert ops[-1] == ["GET /balances"]
        assert sb.stats().count("GET", "balances", 200) == 1


def test_an_inactive_merchant_gets_406() -> None:
    with running() as sb:
        auth = {**VERSION, "Authorization": f"Bearer {token(sb, ['GET /balances'])}"}
        code = sb.merchant_code

        def deactivate() -> None:  # after its token was issued
            sb._app.merchants[code] = Merchant(code, sb.secret, active=False)

        sb._on_loop(deactivate)
        r = requests.get(f"{sb.base_url}/balances", headers=auth)
        assert r.status_code == 406
        assert r.json()[0]["code"] == "MERCHANT_INACTIVE"
