"""Settings: presets, precedence (arguments > environment > .env), no hidden host, masked secret."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from payrecon.config import Secret, Settings, resolve_base_url
from payrecon.errors import ConfigError
from payrecon.platform import PRESETS

SECRET = "s3cr3t-value-for-config-tests"


def test_presets_and_urls() -> None:
    for name, url in PRESETS.items():
        assert resolve_base_url(name) == url
    assert resolve_base_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    for bad in ("aopay", "ftp://x", "api.echelonpay.com", "https://", "https://h/?q=1"):
        with pytest.raises(ConfigError):
            resolve_base_url(bad)


def test_no_hidden_default_host(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PAYRECON_BASE_URL"):
        Settings.load(merchant_code="m", secret="s", env_file=tmp_path / "none.env", environ={})


def test_missing_credentials_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(base_url="aopay-sandbox", env_file=None, environ={})
    assert "PAYRECON_MERCHANT_CODE" in str(info.value) and "PAYRECON_SECRET" in str(info.value)


def test_precedence_and_env_file_not_loaded_into_environ(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "PAYRECON_BASE_URL=echelonpay\nPAYRECON_MERCHANT_CODE=from-file\n"
        f"PAYRECON_SECRET={SECRET}\nPAYRECON_CONCURRENCY=200\n"
    )
    before = dict(os.environ)
    s = Settings.load(env_file=env_file, environ={"PAYRECON_MERCHANT_CODE": "from-env"})
    assert os.environ == before  # nothing leaked into the process environment
    assert s.base_url == PRESETS["echelonpay"]
    assert s.merchant_code == "from-env"  # the environment beats the file
    assert s.secret.reveal() == SECRET
    assert s.int_extra("PAYRECON_CONCURRENCY") == 200
    s2 = Settings.load(
        base_url="http://127.0.0.1:1", merchant_code="arg", env_file=env_file, environ={}
    )
    assert (s2.base_url, s2.merchant_code) == ("http://127.0.0.1:1", "arg")  # arguments win


def test_malformed_knob_is_config_error(tmp_path: Path) -> None:
    s = Settings.load(
        base_url="aopay-sandbox",
        merchant_code="m",
        secret="x",
        env_file=None,
        environ={"PAYRECON_CONCURRENCY": "lots"},
    )
    with pytest.raises(ConfigError, match="PAYRECON_CONCURRENCY"):
        s.int_extra("PAYRECON_CONCURRENCY")


def test_secret_is_masked_everywhere() -> None:
    secret = Secret(SECRET)
    s = Settings(base_url="https://h", merchant_code="m", secret=secret)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr(s), str(s)):
        assert SECRET not in text
        assert "********" in text
    assert secret == Secret(SECRET) and secret != Secret("other")
    assert Secret(secret).reveal() == SECRET
    with pytest.raises(TypeError):
        pickle.dumps(secret)
