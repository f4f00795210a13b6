"""Injected faults and the rate limit: switched on and off at run time, as documented."""

from __future__ import annotations

import random
import statistics

import pytest
import requests
from sandbox_helpers import VERSION, create, detail, get, token

from payrecon.sandbox import Faults, Merchant, SandboxConfig, running
from payrecon.sandbox.faults import delay_for, random_failure


@pytest.mark.parametrize(("fault", "status"), [("error_500_rate", 500), ("error_401_rate", 401)])
def test_error_faults_hit_business_calls(fault: str, status: int) -> None:
    with running(SandboxConfig(final_after=0)) as sb:
        assert create(sb, "F-1").status_code == 201
        tok = token(sb, ["GET /payouts/F-1"])
        setattr(sb.faults, fault, 1.0)
        r = get(sb, "F-1", tok)
        assert r.status_code == status
        assert set(r.json()) == {"description"}
        setattr(sb.faults, fault, 0.0)
        assert get(sb, "F-1", tok).status_code == 200


def test_the_429_fault_sends_retry_after_and_spares_auth_tokens() -> None:
    with running(SandboxConfig(faults=Faults(error_429_rate=1.0))) as sb:
        tok = token(sb, ["GET /payouts/F-1"])  # auth-tokens is never answered 429
        r = get(sb, "F-1", tok)
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "1"


def test_500_fault_on_auth_tokens_too() -> None:
    with running(SandboxConfig(faults=Faults(error_500_rate=1.0))) as sb:
        body = '{"merchantCode": "demo-merchant", "secret": "x", "operations": ["GET /a"]}'
        r = requests.post(f"{sb.base_url}/auth-tokens", headers=VERSION, data=body)
        assert r.status_code == 500


def test_fault_shares_are_roughly_honoured_and_repeatable() -> None:
    faults = Faults(error_500_rate=0.1, error_429_rate=0.2, error_401_rate=0.05)
    draws = [random_failure(faults, random.Random(7)) for _ in range(1)]
    rng = random.Random(7)
    many = [random_failure(faults, rng) for _ in range(20_000)]
    assert draws[0] == many[0]
    assert 0.08 < many.count(500) / 20_000 < 0.12
    assert 0.18 < many.count(429) / 20_000 < 0.22
    assert 0.04 < many.count(401) / 20_000 < 0.06


@pytest.mark.parametrize(
    ("profile", "median", "p90"), [("live", 0.66, 0.816), ("sandbox", 0.327, 0.465)]
)
def test_latency_profiles_match_the_measured_hosts(profile: str, median: float, p90: float) -> None:
    rng = random.Random(1)
    faults = Faults(latency_profile=profile)
    draws = sorted(delay_for(faults, rng) for _ in range(20_000))
    assert statistics.median(draws) == pytest.approx(median, rel=0.05)
    assert draws[int(0.9 * len(draws))] == pytest.approx(p90, rel=0.05)
    assert max(draws) <= {"live": 5.9, "sandbox": 5.3}[profile]
    assert max(draws) > 1.5  # the rare long tail is there


def test_fixed_latency_is_used_without_a_profile() -> None:
    assert delay_for(Faults(latency=0.25), random.Random(0)) == 0.25
    with pytest.raises(ValueError, match="unknown latency profile"):
        delay_for(Faults(latency_profile="moon"), random.Random(0))


def test_rate_limit_answers_429_with_retry_after_per_merchant() -> None:
    merchants = (Merchant("m-a", "secret-a"), Merchant("m-b", "secret-b"))
    config = SandboxConfig(merchants=merchants, rate_limit=0.5, rate_burst=2)
    with running(config) as sb:
        tok = token(sb, ["GET /payouts/R-1"])
        answers = [get(sb, "R-1", tok) for _ in range(6)]
        statuses = [r.status_code for r in answers]
        assert statuses[:2] == [410, 410]  # the burst
        limited = [r for r in answers if r.status_code == 429]
        assert limited  # 6 calls in far less than the 8 s the bucket needs to refill 4
        assert all(int(r.headers["Retry-After"]) >= 1 for r in limited)
        assert set(limited[0].json()) == {"description"}
        # Token requests are not rate-limited, and the other merchant has its own bucket.
        tok_b = token(sb, ["GET /payouts/R-1"], merchant="m-b", secret="secret-b")
        assert get(sb, "R-1", tok_b).status_code == 410


def test_faults_copy_is_live_and_private() -> None:
    shared = Faults(latency=0.0)
    with running(SandboxConfig(faults=shared)) as sb:
        sb.faults.error_500_rate = 1.0
        assert sb.config.faults is sb.faults
        assert shared.error_500_rate == 0.0  # the caller's object is not changed


def test_429s_without_retry_after_as_the_documented_platform() -> None:
    # The platform documents no Retry-After (platform-api.md §5.5): the sandbox can leave it
    # out of both its rate-limit 429s and its random ones.
    config = SandboxConfig(rate_limit=0.5, rate_burst=1, rate_limit_retry_after=False)
    with running(config) as sb:
        tok = token(sb, ["GET /payouts/R-1"])
        answers = [get(sb, "R-1", tok) for _ in range(3)]
        limited = [r for r in answers if r.status_code == 429]
        assert limited and all("Retry-After" not in r.headers for r in limited)
    with running(SandboxConfig(faults=Faults(error_429_rate=1.0))) as sb:
        tok = token(sb, ["GET /payouts/F-1"])
        sb.faults.error_429_retry_after = None
        assert "Retry-After" not in get(sb, "F-1", tok).headers
        sb.faults.error_429_retry_after = 2.5
        assert get(sb, "F-1", tok).headers["Retry-After"] == "2.5"


def test_detail_patches_change_one_payouts_detail() -> None:
    patches = {"P-1": {"process": {"createdAt": "2024-05-02t08:15:00z", "isTest": None}}}
    with running(SandboxConfig(final_after=0, faults=Faults(detail_patches=patches))) as sb:
        for pid in ("P-1", "P-2"):
            assert create(sb, pid).status_code == 201
        odd, plain = detail(sb, "P-1"), detail(sb, "P-2")
    assert odd["process"]["createdAt"] == "2024-05-02t08:15:00z"
    assert "isTest" not in odd["process"] and "isTest" in plain["process"]
    assert odd["paymentRequested"] == plain["paymentRequested"]  # the rest is untouched
