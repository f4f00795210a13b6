"""Settings: where the platform is and who we are to it, from arguments, environment or ``.env``.

Precedence, highest first: explicit arguments, the process environment, a ``.env`` file. The
``.env`` file is read with :func:`dotenv.dotenv_values`, never loaded into ``os.environ``: payrecon
must not change the environment other code (or other tests) sees.

There is no default host. A run that names none fails with :class:`~payrecon.errors.ConfigError`
instead of sending the merchant's secret somewhere the user did not choose.

The merchant secret is wrapped in :class:`Secret`, whose ``repr`` and ``str`` are ``'********'``;
only :meth:`Secret.reveal` gives the text, and only the token request body calls it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from dotenv import dotenv_values

from payrecon.errors import ConfigError
from payrecon.platform import PRESETS

ENV_BASE_URL: Final = "PAYRECON_BASE_URL"
ENV_MERCHANT_CODE: Final = "PAYRECON_MERCHANT_CODE"
ENV_SECRET: Final = "PAYRECON_SECRET"  # noqa: S105 (the variable's name, not a secret)
#: Optional tuning knobs, for scheduled jobs that cannot pass arguments.
ENV_CONCURRENCY: Final = "PAYRECON_CONCURRENCY"
ENV_MAX_RETRIES: Final = "PAYRECON_MAX_RETRIES"

MASK: Final = "********"


class Secret:
    """A string that never shows itself: ``repr``, ``str`` and f-strings give ``'********'``.

    Equality compares the hidden values, so two settings can be compared without revealing them.
    Pickling is refused: a secret must not end up in a file by accident.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        self._value = value.reveal() if isinstance(value, Secret) else str(value)

    def reveal(self) -> str:
        """The secret's text. Call it only where the platform needs it (the token request body)."""
        return self._value

    def __repr__(self) -> str:
        return f"'{MASK}'"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def resolve_base_url(value: str) -> str:
    """A preset name (``aopay-sandbox``, ``echelonpay-sandbox``, ``echelonpay``) or an http(s) URL.

    Returns the URL without a trailing slash. Anything else is a :class:`ConfigError` that lists
    the presets, so a typo in a preset name never turns into a request to an odd host.
    """
    text = value.strip()
    if text in PRESETS:
        return PRESETS[text]
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        presets = ", ".join(sorted(PRESETS))
        raise ConfigError(
            f"base URL {text!r} is neither a preset ({presets}) nor an http(s) URL with a host"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"base URL {text!r} must not carry a query or a fragment")
    return text.rstrip("/")


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the platform is and the merchant's credentials. The repr masks the secret."""

    base_url: str
    merchant_code: str
    secret: Secret
    #: Extra values found (tuning knobs), by environment variable name.
    extras: Mapping[str, str] | None = None

    def __repr__(self) -> str:
        return (
            f"Settings(base_url={self.base_url!r}, merchant_code={self.merchant_code!r}, "
            f"secret={self.secret!r})"
        )

    @classmethod
    def load(
        cls,
        *,
        base_url: str | None = None,
        merchant_code: str | None = None,
        secret: str | Secret | None = None,
        env_file: str | Path | None = ".env",
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Settings from arguments, then the environment, then ``env_file`` (when it exists).

        Parameters
        ----------
        base_url, merchant_code, secret
            Explicit values; ``None`` means "look them up".
        env_file
            A dotenv file to read when present; ``None`` reads none. It is parsed, never loaded
            into ``os.environ``.
        environ
            The environment to read (default ``os.environ``); tests pass a dict.

        Raises
        ------
        ConfigError
            When no base URL, merchant code or secret is named anywhere, or the URL is malformed.
        """
        env = os.environ if environ is None else environ
        file_values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            file_values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}

        def pick(given: str | Secret | None, name: str) -> str | Secret | None:
            if given is not None and (isinstance(given, Secret) or given.strip()):
                return given
            for source in (env, file_values):
                value = source.get(name)
                if value is not None and value.strip():
                    return value.strip()
            return None

        url = pick(base_url, ENV_BASE_URL)
        code = pick(merchant_code, ENV_MERCHANT_CODE)
        key = pick(secret, ENV_SECRET)
        missing = [
            f"{what} (${name})"
            for what, name, value in (
                ("platform base URL", ENV_BASE_URL, url),
                ("merchant code", ENV_MERCHANT_CODE, code),
                ("merchant secret", ENV_SECRET, key),
            )
            if value is None
        ]
        if missing:
            where = f"arguments, the environment or {env_file}" if env_file else "arguments or env"
            raise ConfigError(f"not set in {where}: {', '.join(missing)}")
        assert url is not None and code is not None and key is not None
        extras = {
            name: str(source[name])
            for name in (ENV_CONCURRENCY, ENV_MAX_RETRIES)
            for source in (file_values, env)  # the environment wins over the file
            if source.get(name)
        }
        return cls(
            base_url=resolve_base_url(str(url)),
            merchant_code=str(code).strip(),
            secret=Secret(key),
            extras=extras,
        )

    def int_extra(self, name: str) -> int | None:
        """A tuning knob as an int (``None`` when unset); a malformed one is a ConfigError."""
        raw = (self.extras or {}).get(name)
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"${name} must be a whole number, not {raw!r}") from None
        if value < 0:
            raise ConfigError(f"${name} must not be negative")
        return value
