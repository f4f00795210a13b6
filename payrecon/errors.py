"""Every way payrecon can fail, in one tree.

::

    PayreconError
    ├── ConfigError               settings missing or malformed (no base URL, no credentials)
    ├── InputError                a user's file is bad; ``problems`` name file, row and column
    ├── StoreError                the SQLite store is locked, corrupted or belongs elsewhere
    ├── ConservationError         the conservation proof failed: rows or money went missing
    └── PlatformError             the platform answered something other than success, or nothing
        ├── TransportError        no answer: connection refused, reset, DNS, timeout
        ├── CredentialsError      the merchant code or secret was refused (POST /auth-tokens)
        ├── TokenRequestRejected  a token request refused for its content (e.g. too many operations)
        └── APIError              an HTTP error answer from a business endpoint
            ├── BadRequest            400: the request broke the schema
            ├── Unauthorized          401: token missing, malformed or expired
            ├── Forbidden             403: the token does not name this operation
            ├── BusinessError         406: ``code`` (and ``attr_code``) say why
            ├── DuplicatePayout       409: the Merchant Order ID is already used
            ├── PayoutNotFound        410: the platform has no payout with this id
            ├── RateLimited           429: ``retry_after`` seconds, when the platform said
            ├── ServerError           5xx
            └── BadResponse           200, with a body the client cannot read

Each error carries its exit code (``exit_code``) and the word its message starts with
(``label``); the CLI catches :class:`PayreconError` once and exits with that code:
``InputError``, ``ConfigError`` and ``StoreError`` are 2 (bad input or usage), every
``PlatformError`` is 3 (the platform is why), ``ConservationError`` is 5, anything else 1.

Errors carry what a person needs to act (method, path, status, code) and never a request body,
header or token: the secret and bearer tokens must not reach a traceback or a log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: The exit codes of the command, one table (``payrecon --help`` prints it with their meaning).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PLATFORM = 3
EXIT_FOUND = 4
EXIT_PROOF = 5


class PayreconError(Exception):
    """Base of every error payrecon raises on purpose."""

    exit_code: int = EXIT_ERROR
    #: What the command's one line starts with after "payrecon: " (None: the error's type).
    label: str | None = None


class ConfigError(PayreconError):
    """Settings are missing or malformed."""

    exit_code = EXIT_USAGE
    label = "error"


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad cell or line in a user's file. ``row`` is the 1-based line in the file."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}, {self.local()}" if self.located else f"{self.file}: {self.message}"

    @property
    def located(self) -> bool:
        return self.row is not None or self.column is not None

    def local(self) -> str:
        """Where in the file and what, without the file's name: ``row 3, column 'x': ...``."""
        where = [f"row {self.row}"] if self.row is not None else []
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class InputError(PayreconError):
    """A user's file or argument is bad. Lists the first problems and how many there are in all."""

    exit_code = EXIT_USAGE
    label = "error"

    shown = 20

    def __init__(self, summary: str, problems: Sequence[Problem] = ()) -> None:
        self.summary = summary
        self.problems = tuple(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.problems:
            return self.summary
        if len(self.problems) == 1:  # one line: what, then where and why
            return f"{self.summary}: {self.problems[0].local()}"
        lines = [f"{self.summary} ({len(self.problems)} problem(s))"]
        lines += [f"  {p}" for p in self.problems[: self.shown]]
        if len(self.problems) > self.shown:
            lines.append(f"  ... and {len(self.problems) - self.shown} more")
        return "\n".join(lines)


class StoreError(PayreconError):
    """The store cannot be used: locked by another writer, corrupted, or another platform's."""

    exit_code = EXIT_USAGE
    label = "error"


class ConservationError(PayreconError):
    """The conservation proof of a reconciliation failed (:mod:`payrecon.core._conservation`).

    Never a finding about the data: rows or money that came in did not all come out by category,
    which is a bug in payrecon. ``failures`` names each equation that did not add up.
    """

    exit_code = EXIT_PROOF
    label = ""  # the message says what it is

    def __init__(self, failures: Sequence[str]) -> None:
        self.failures = tuple(failures)
        super().__init__(
            "the conservation proof failed (a payrecon bug; please report it): "
            + "; ".join(self.failures)
        )


class PlatformError(PayreconError):
    """The platform did not answer with success. ``method`` and ``path`` name the call."""

    exit_code = EXIT_PLATFORM
    label = "platform"

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        self.method = method
        self.path = path
        super().__init__(message)

    def __str__(self) -> str:
        msg = super().__str__()
        return f"{msg} ({self.method} {self.path})" if self.method else msg


class TransportError(PlatformError):
    """No HTTP answer at all: the platform could not be reached, or timed out."""


class CredentialsError(PlatformError):
    """The merchant code or secret was refused; retrying cannot help."""


class TokenRequestRejected(PlatformError):
    """POST /auth-tokens refused the request, not the credentials: e.g. too many operations."""

    def __init__(
        self, message: str, *, status: int, code: str | None = None, path: str = ""
    ) -> None:
        self.status = status
        self.code = code
        super().__init__(message, method="POST", path=path or "/auth-tokens")


class APIError(PlatformError):
    """An HTTP error answer from a business endpoint."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str = "",
        path: str = "",
        code: str | None = None,
        attr_code: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.attr_code = attr_code
        super().__init__(message, method=method, path=path)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code!r}, path={self.path!r})"
        )


class BadRequest(APIError):
    """400: the request broke the platform's schema."""


class Unauthorized(APIError):
    """401: the bearer token is missing, malformed or expired."""


class Forbidden(APIError):
    """403: the token does not name this operation."""


class BusinessError(APIError):
    """406: business validation failed; ``code`` is the platform's reason."""


class DuplicatePayout(APIError):
    """409: the Merchant Order ID is already used; the payout was not accepted again."""


class PayoutNotFound(APIError):
    """410 Gone: the platform has no payout with this Merchant Order ID."""


class RateLimited(APIError):
    """429: too many requests. ``retry_after`` is in seconds, when the platform said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class ServerError(APIError):
    """5xx: the platform failed; worth retrying."""


class BadResponse(APIError):
    """A success answer whose body the client cannot read (not JSON, a field of the wrong type,
    an amount the table cannot hold exactly). ``content`` is the body as received, for the
    store; it is never part of the message or the repr."""

    def __init__(self, message: str, *, content: bytes = b"", **kw: object) -> None:
        self.content = content
        super().__init__(message, **kw)  # type: ignore[arg-type]


__all__ = [
    "APIError",
    "BadRequest",
    "BadResponse",
    "BusinessError",
    "ConfigError",
    "ConservationError",
    "CredentialsError",
    "DuplicatePayout",
    "Forbidden",
    "InputError",
    "PayoutNotFound",
    "PayreconError",
    "PlatformError",
    "Problem",
    "RateLimited",
    "ServerError",
    "StoreError",
    "TokenRequestRejected",
    "TransportError",
    "Unauthorized",
]
