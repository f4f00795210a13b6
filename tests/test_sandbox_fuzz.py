"""Property-based API fuzz: schemathesis drives the sandbox from its own OpenAPI document.

Every generated request goes over real HTTP on loopback; no response may be a 5xx (fault injection
is off) or break the document (status codes, content type, body and header schemas).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from payrecon.platform import OPERATION_RULE
from payrecon.sandbox import Sandbox, SandboxConfig, running
from payrecon.sandbox.openapi import document

schema = schemathesis.openapi.from_dict(document())


@pytest.fixture(scope="module")
def fuzz_sandbox() -> Iterator[Sandbox]:
    with running(SandboxConfig(final_after=0.05)) as sb:
        yield sb


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _token_for(sb: Sandbox, http: requests.Session, operation: str) -> str | None:
    if OPERATION_RULE.fullmatch(operation) is None:
        return None
    r = http.post(
        f"{sb.base_url}/auth-tokens",
        headers={"X-API-Version": "2"},
        json={"merchantCode": sb.merchant_code, "secret": sb.secret, "operations": [operation]},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_5xx_and_every_answer_fits_the_document(
    case: schemathesis.Case, fuzz_sandbox: Sandbox, http: requests.Session
) -> None:
    headers = {}
    if case.path != "/auth-tokens":
        token = _token_for(fuzz_sandbox, http, f"{case.method.upper()} {case.formatted_path}")
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
    # A schema-valid request may still be refused by a business rule (406: an unknown merchant,
    # an unsupported currency), so "positive data is accepted" does not apply to this API.
    case.call_and_validate(
        base_url=fuzz_sandbox.base_url,
        session=http,
        headers=headers,
        excluded_checks=[positive_data_acceptance],
    )


def test_the_fuzz_reached_past_the_gates(fuzz_sandbox: Sandbox) -> None:
    """Runs after the fuzz (file order): it created payouts and read them, not only 400s."""
    stats = fuzz_sandbox.stats()
    assert stats.count("POST", "payout", 201) >= 1
    assert stats.count("GET", "payout", 200) >= 1
    assert stats.count("POST", "auth-tokens", 200) >= 1
    assert stats.count(status=500) == 0
