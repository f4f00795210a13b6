"""Seeding: payouts that already exist, with statuses, fees and dates, for several merchants."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from sandbox_helpers import detail, get, token

from payrecon.errors import InputError
from payrecon.sandbox import Merchant, SandboxConfig, running

DATA = Path(__file__).resolve().parent.parent / "data" / "payouts.csv"


def test_the_shipped_seed_is_varied_and_loads_whole() -> None:
    with DATA.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 40
    assert {r["status"] for r in rows} == {"PROCESSING", "SUCCESS", "FAILED", "REFUSED"}
    assert {"IDR", "INR", "USD", "EUR", "USDT"} <= {r["currency"] for r in rows}
    assert {r["is_test"] for r in rows} == {"true", "false"}
    with running(seed=DATA) as sb:
        assert sb.payout_state(rows[0]["id_payout"]) is not None
        assert sb.seed(DATA) == len(rows)  # seeding again replaces, never duplicates


def test_seeded_payouts_keep_their_history(tmp_path: Path) -> None:
    seed = tmp_path / "seed.csv"
    seed.write_text(
        "id_payout,amount,currency,status,fee_amount,fee_currency,created_at,processed_at,"
        "failure_reason_code,is_test\n"
        "S-OK,42.05,USD,SUCCESS,0.10,USD,2021-05-19T10:57:28.313Z,2021-05-19T10:58:28.313Z,,false\n"
        "S-FAIL,10013,IDR,FAILED,,,2024-03-01T00:00:00+07:00,2024-03-01T01:00:00Z,"
        "INVALID_ACCOUNT_NUMBER,\n"
        "S-PEND,10000,IDR,PROCESSING,,,2024-03-02T00:00:00Z,,,true\n"
    )
    with running(SandboxConfig(final_after=0)) as sb:
        assert sb.seed(seed) == 3
        ok = detail(sb, "S-OK")
        assert ok["process"] == {
            "status": "SUCCESS",
            "createdAt": "2021-05-19T10:57:28.313Z",
            "processedAt": "2021-05-19T10:58:28.313Z",
            "isTest": False,
            "processorStatus": "PROCESSED",
        }
        assert ok["fee"] == {"amount": Decimal("0.10"), "currencyCode": "USD"}
        assert ok["paymentRequested"]["money"]["amount"] == Decimal("42.05")
        failed = detail(sb, "S-FAIL")
        assert failed["process"]["createdAt"] == "2024-02-29T17:00:00.000Z"  # offset -> UTC
        assert failed["process"]["failureReasons"]["failureReasonCode"] == "INVALID_ACCOUNT_NUMBER"
        assert failed["fee"]["amount"] == 2600  # blank fee: the schedule's
        assert failed["process"]["isTest"] is True  # blank is_test: a test payout
        # Seeded PROCESSING is history too: the amount rules never make it final.
        assert detail(sb, "S-PEND")["process"]["status"] == "PROCESSING"


def test_several_merchants_each_see_only_their_seeded_payouts(tmp_path: Path) -> None:
    seed = tmp_path / "seed.csv"
    seed.write_text(
        "merchant_code,id_payout,amount,currency,status\n"
        "m-a,A-1,100,USD,SUCCESS\n"
        ",A-2,100,USD,SUCCESS\n"
        "m-b,B-1,200,EUR,FAILED\n"
    )
    merchants = (Merchant("m-a", "secret-a"), Merchant("m-b", "secret-b"))
    with running(SandboxConfig(merchants=merchants), seed=seed) as sb:
        tok_a = token(sb, ["GET /payouts/A-1", "GET /payouts/A-2", "GET /payouts/B-1"])
        tok_b = token(
            sb, ["GET /payouts/A-1", "GET /payouts/B-1"], merchant="m-b", secret="secret-b"
        )
        assert [get(sb, i, tok_a).status_code for i in ("A-1", "A-2", "B-1")] == [200, 200, 410]
        assert [get(sb, i, tok_b).status_code for i in ("A-1", "B-1")] == [410, 200]
        assert sb.stats().tokens_per_merchant == {"m-a": 1, "m-b": 1}


def test_a_bad_seed_names_every_bad_row_and_column(tmp_path: Path) -> None:
    seed = tmp_path / "bad.csv"
    seed.write_text(
        "merchant_code,id_payout,amount,currency,status,created_at,is_test\n"
        ",ok-1,10,USD,SUCCESS,,\n"
        ",bad id,10,USD,SUCCESS,,\n"
        ",ok-2,ten,USD,SUCCESS,,\n"
        ",ok-3,10,USD,SUCCESS,yesterday,\n"
        "nobody,ok-4,10,USD,SUCCESS,,\n"
        ",ok-5,10,USD,,,maybe\n"
    )
    with running() as sb, pytest.raises(InputError) as caught:
        sb.seed(seed)
    where = {(p.row, p.column) for p in caught.value.problems}
    assert where == {
        (3, "id_payout"),
        (4, "amount"),
        (5, "created_at"),
        (6, "merchant_code"),
        (7, "status"),
    }
    assert str(seed) in str(caught.value)


def test_a_seed_without_required_columns_or_file_is_an_input_error(tmp_path: Path) -> None:
    seed = tmp_path / "thin.csv"
    seed.write_text("id_payout,amount\nx,1\n")
    with running() as sb:
        with pytest.raises(InputError, match="currency"):
            sb.seed(seed)
        with pytest.raises(InputError, match="cannot read"):
            sb.seed(tmp_path / "missing.csv")
