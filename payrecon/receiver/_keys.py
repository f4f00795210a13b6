"""Signed callback URLs: the one proof a callback can carry that payrecon asked for it.

The platform's callback is ``{"idEntity": "<id>"}`` with no signature and no documented header
(platform-api.md §5.1), but the platform POSTs to the ``callbackUrl`` *as given*. So when payrecon
creates a payout it registers a URL that carries an HMAC of the payout's id under a key only this
merchant's payrecon holds::

    https://callbacks.example.com/payrecon?payrecon_sig=3q2-7wQ...

The receiver recomputes the HMAC for the id in the body: a match proves the URL came from us for
that very id (the callback is trusted and fetched at once); a mismatch is a forgery (refused,
logged). Payouts created elsewhere (the back-office, another system) carry no signature; the
receiver treats those as unknown until the platform confirms them
(:mod:`payrecon.receiver._receiver`).

The key is 32 random bytes kept *beside the store* (``payrecon.db`` → ``payrecon.db.callback-key``),
created on first use readable by its owner only (0600). Whoever creates payouts and whoever
receives callbacks must use the same key file (``--callback-key``). Losing it only means callbacks
of payouts created before are checked as unsigned ones; leaking it lets a stranger forge trusted
callbacks, which at worst costs a fetch each (the status recorded is still the platform's answer).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from payrecon.errors import ConfigError

log = logging.getLogger("payrecon.callbacks")

#: The query parameter that carries the signature.
SIG_PARAM: Final = "payrecon_sig"
#: Suffix of the key file next to the store.
KEY_SUFFIX: Final = ".callback-key"
_CONTEXT: Final = b"payrecon callback v1\x00"
_KEY_BYTES: Final = 32
_SIG_BYTES: Final = 16  # 128 bits: far beyond guessing, short in a URL (22 characters)


@dataclass(frozen=True)
class CallbackKey:
    """The merchant's callback signing key. Its repr never shows the key."""

    secret: bytes = field(repr=False)
    path: Path | None = None

    def sign(self, id_payout: str) -> str:
        """The signature of ``id_payout``: URL-safe base64 of a truncated HMAC-SHA256."""
        mac = hmac.new(self.secret, _CONTEXT + id_payout.encode("utf-8"), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:_SIG_BYTES]).rstrip(b"=").decode("ascii")

    def verify(self, id_payout: str, signature: str) -> bool:
        """Whether ``signature`` is this key's signature of ``id_payout`` (constant time)."""
        return hmac.compare_digest(self.sign(id_payout), signature)

    def signed_url(self, url: str, id_payout: str) -> str:
        """``url`` with the signature of ``id_payout`` added to its query (other parameters kept;
        an empty path becomes ``/`` so the URL stays one the platform accepts)."""
        parts = urlsplit(url)
        query = [
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != SIG_PARAM
        ]
        query.append((SIG_PARAM, self.sign(id_payout)))
        return urlunsplit(parts._replace(path=parts.path or "/", query=urlencode(query)))


def key_path_for(store_path: str | Path) -> Path:
    """Where the key of the store at ``store_path`` lives: beside it."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + KEY_SUFFIX)


def load_or_create_key(path: str | Path) -> CallbackKey:
    """The key in ``path``, created (0600, 32 random bytes, hex) when the file does not exist.

    Raises
    ------
    ConfigError
        The file exists but does not hold a key, or cannot be read or created.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create the callback key ({exc.strerror})") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(_KEY_BYTES) + "\n")
    log.info("created the callback signing key %s (readable by its owner only)", path)
    return _read_key(path)


def _read_key(path: Path) -> CallbackKey:
    try:
        text = path.read_text(encoding="ascii").strip()
        mode = stat.S_IMODE(path.stat().st_mode)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the callback key ({exc})") from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < 16:
        raise ConfigError(
            f"{path}: not a payrecon callback key (expected 64 hex digits); move it aside and "
            "a new one is created"
        )
    if mode & 0o077:
        log.warning(
            "%s: the callback key is readable by others (mode %o): chmod 600 it", path, mode
        )
    return CallbackKey(secret, path)


def key_for_store(store_path: str | Path) -> CallbackKey:
    """The key beside a store (created on first use)."""
    return load_or_create_key(key_path_for(store_path))


__all__ = [
    "KEY_SUFFIX",
    "SIG_PARAM",
    "CallbackKey",
    "key_for_store",
    "key_path_for",
    "load_or_create_key",
]
