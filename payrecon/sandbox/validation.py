"""Request bodies checked the way the spec's schemas say (platform-api.md §2.1, §3.2, §6).

A schema violation is 400 with a ``BasicError``; a well-formed request the business rules refuse
is 406 with a code (an unsupported currency, too many decimals). Each check names the attribute at
fault, so a client developer reading the 400 knows what to fix.
"""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from payrecon.platform import (
    TOKEN_VALIDITY_DEFAULT,
    TOKEN_VALIDITY_MAX,
    TOKEN_VALIDITY_MIN,
    currency_decimals,
)
from payrecon.sandbox.payouts import FEE_SCHEDULE, MAX_AMOUNT, fraction_digits
from payrecon.sandbox.wire import Refusal

_OPERATOR = re.compile(r"[A-Za-z0-9_-]{1,30}")
_WALLET = re.compile(r"[a-zA-Z0-9_\-\.]+@[a-zA-Z0-9_\.]+")
_PHONE = re.compile(r"(?=.{7,16}$)\+?[0-9]+")
_CRYPTO_ADDRESS = re.compile(r"[A-Za-z0-9]{1,62}")
#: What ``callbackUrl`` must look like (the OpenAPI document uses the same pattern).
CALLBACK_URL_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^ ]*)?$"
_CALLBACK_URL = re.compile(CALLBACK_URL_PATTERN)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_NAME_PUNCTUATION = frozenset(" .,'-&()")
_ACCOUNT_TYPES = {
    "JPY": ("savings", "checking", "private", "corporate", "general", "current"),
    "ZAR": ("savings", "current", "cheque", "transmission"),
}


def parse_json(body: bytes) -> Any:
    """The request body as JSON, numbers with a point as ``Decimal``; 400 when it is not JSON."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, a 5,000-digit integer
        raise Refusal.basic(400, "The request body is not valid JSON.") from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _bad(attr: str, why: str) -> Refusal:
    return Refusal.basic(400, f"{attr}: {why}")


def _obj(data: Mapping[str, Any], key: str, attr: str, *, required: bool = True) -> Any:
    if key not in data:
        if required:
            raise _bad(attr, "is required")
        return None
    value = data[key]
    if not isinstance(value, Mapping):
        raise _bad(attr, "must be an object")
    return value


def _str(
    data: Mapping[str, Any],
    key: str,
    attr: str,
    *,
    required: bool = True,
    max_len: int = 1000,
    rule: re.Pattern[str] | None = None,
) -> str | None:
    if key not in data:  # absent; a null is no string either (the spec never says nullable)
        if required:
            raise _bad(attr, "is required")
        return None
    value = data[key]
    if not isinstance(value, str):
        raise _bad(attr, "must be a string")
    if not 1 <= len(value) <= max_len:
        raise _bad(attr, f"must be 1 to {max_len} characters")
    if rule is not None and rule.fullmatch(value) is None:
        raise _bad(attr, f"must match {rule.pattern}")
    return value


def is_account_name(value: str) -> bool:
    """Letters of any script, combining marks and a little punctuation; no digits, no ``/``."""
    if not 1 <= len(value) <= 64 or not value.strip():
        return False
    for ch in value:
        if ch in _NAME_PUNCTUATION:
            continue
        if unicodedata.category(ch)[0] not in "LM":
            return False
    return True


def money(data: Mapping[str, Any], attr: str) -> tuple[Decimal, str]:
    """A ``Money`` object: a positive JSON number and a non-empty currency code (400 otherwise)."""
    amount = data.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
        raise _bad(f"{attr}.amount", "must be a number")
    amount = Decimal(amount)
    if not amount > 0:
        raise _bad(f"{attr}.amount", "must be greater than 0")
    currency = _str(data, "currencyCode", f"{attr}.currencyCode")
    assert currency is not None
    return amount, currency


# --------------------------------------------------------------------------- POST /auth-tokens


@dataclass(frozen=True, slots=True)
class TokenRequest:
    merchant_code: str
    secret: str
    validity: int
    operations: list[str]
    money: tuple[Decimal, str] | None


def token_request(data: Any, max_operations: int | None) -> TokenRequest:
    """``AuthTokenRequest`` (§2.1). ``operations`` is required here: least privilege."""
    if not isinstance(data, Mapping):
        raise Refusal.basic(400, "The request body must be a JSON object.")
    merchant = _str(data, "merchantCode", "merchantCode")
    secret = _str(data, "secret", "secret")
    validity = data.get("validitySecs", TOKEN_VALIDITY_DEFAULT)
    if isinstance(validity, bool) or not isinstance(validity, int):
        raise _bad("validitySecs", "must be an integer")
    if not TOKEN_VALIDITY_MIN <= validity <= TOKEN_VALIDITY_MAX:
        raise _bad("validitySecs", f"must be {TOKEN_VALIDITY_MIN} to {TOKEN_VALIDITY_MAX}")
    ops = data.get("operations")
    if "operations" not in data:
        raise _bad("operations", "is required: name every operation the token allows")
    if not isinstance(ops, list) or not ops:
        raise _bad("operations", "must be a non-empty array")
    if not all(isinstance(o, str) and 1 <= len(o) <= 1000 for o in ops):
        raise _bad("operations", "items must be strings of 1 to 1000 characters")
    if max_operations is not None and len(ops) > max_operations:
        raise Refusal.basic(400, f"too many operations: at most {max_operations} per token")
    lock = None
    money_obj = _obj(data, "money", "money", required=False)
    if money_obj is not None:
        lock = money(money_obj, "money")
    assert merchant is not None and secret is not None
    return TokenRequest(merchant, secret, validity, list(ops), lock)


# --------------------------------------------------------------------- POST /payouts/{idPayout}


@dataclass(frozen=True, slots=True)
class PayoutRequest:
    amount: Decimal
    currency: str
    method: str
    operator: str | None
    callback_url: str | None
    segment_code: str | None
    exchanged_to: str | None


def payout_request(data: Any) -> PayoutRequest:
    """The ``Payout`` schema (§3.2) and the business rules of §3.3 and §6."""
    if not isinstance(data, Mapping):
        raise Refusal.basic(400, "The request body must be a JSON object.")
    requested = _obj(data, "paymentRequested", "paymentRequested")
    amount, currency = money(_obj(requested, "money", "paymentRequested.money"), "money")
    segment = _str(requested, "segmentCode", "paymentRequested.segmentCode", required=False)
    exchanged = _str(
        requested, "exchangedToCurrency", "paymentRequested.exchangedToCurrency", required=False
    )
    method_obj = _obj(data, "paymentMethod", "paymentMethod")
    code = method_obj.get("paymentMethodCode")
    operator: str | None
    if code == "BANK_TRANSFER":
        operator = _bank_transfer(method_obj, currency)
    elif code == "CRYPTO_TRANSFER":
        operator = _crypto_transfer(method_obj)
    elif code == "WALLET_TRANSFER":
        operator = _wallet_transfer(method_obj, currency)
    else:
        raise _bad("paymentMethod.paymentMethodCode", "must be one of the payout method codes")
    callback = _str(data, "callbackUrl", "callbackUrl", required=False, rule=_CALLBACK_URL)
    ip = _str(data, "customerIp", "customerIp", required=False, max_len=45)
    if ip is not None:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise _bad("customerIp", "must be an IPv4 or IPv6 address") from None
    _business_money(amount, currency)
    return PayoutRequest(amount, currency, code, operator, callback, segment, exchanged)


def _bank_transfer(m: Mapping[str, Any], currency: str) -> str:
    account = _obj(m, "account", "paymentMethod.account")
    name = _str(account, "accountName", "account.accountName", max_len=64)
    assert name is not None
    if not is_account_name(name):
        raise _bad("account.accountName", "letters, marks and . , ' - & ( ) only, 1 to 64")
    _str(account, "accountNumber", "account.accountNumber", max_len=100)
    for optional in ("bankName", "bankCity", "bankProvince"):
        _str(account, optional, f"account.{optional}", required=False)
    _str(account, "bankCode", "account.bankCode", required=currency == "INR", max_len=30)
    _str(account, "bankBranch", "account.bankBranch", required=currency == "JPY")
    kinds = _ACCOUNT_TYPES.get(currency)
    kind = _str(account, "accountType", "account.accountType", required=kinds is not None)
    if kinds is not None and kind not in kinds:
        raise _bad("account.accountType", f"must be one of {', '.join(kinds)}")
    email = _str(m, "emailAddress", "paymentMethod.emailAddress", required=False, rule=_EMAIL)
    del email
    _str(m, "remark", "paymentMethod.remark", required=False)
    operator = _str(m, "paymentOperatorCode", "paymentMethod.paymentOperatorCode", rule=_OPERATOR)
    assert operator is not None
    return operator


def _crypto_transfer(m: Mapping[str, Any]) -> str:
    account = _obj(m, "account", "paymentMethod.account")
    _str(account, "accountNumber", "account.accountNumber", max_len=62, rule=_CRYPTO_ADDRESS)
    _str(m, "remark", "paymentMethod.remark", required=False)
    operator = _str(m, "paymentOperatorCode", "paymentMethod.paymentOperatorCode", rule=_OPERATOR)
    assert operator is not None
    return operator


def _wallet_transfer(m: Mapping[str, Any], currency: str) -> str | None:
    account = _obj(m, "account", "paymentMethod.account")
    name = _str(account, "accountName", "account.accountName", required=False, max_len=64)
    if name is not None and not is_account_name(name):
        raise _bad("account.accountName", "letters, marks and . , ' - & ( ) only, 1 to 64")
    number = _str(
        account, "accountNumber", "account.accountNumber", required=False, max_len=100, rule=_WALLET
    )
    if number is None:
        raise Refusal.business(
            "PAYMENT_METHOD_ERROR", "A wallet address is needed.", "accountNumber"
        )
    if currency == "INR" and name is None:
        raise _bad("account.accountName", "is required for INR")
    _str(m, "phoneNumber", "paymentMethod.phoneNumber", required=False, rule=_PHONE)
    _str(m, "remark", "paymentMethod.remark", required=False)
    return _str(
        m,
        "paymentOperatorCode",
        "paymentMethod.paymentOperatorCode",
        required=False,
        rule=_OPERATOR,
    )


def _business_money(amount: Decimal, currency: str) -> None:
    if currency not in FEE_SCHEDULE:
        raise Refusal.business(
            "CURRENCY_NOT_SUPPORTED", f"{currency} is not supported.", "currencyCode"
        )
    decimals = currency_decimals(currency)
    if fraction_digits(amount) > decimals:
        raise Refusal.business(
            "CURRENCY_PRECISION_EXCEEDED",
            f"{currency} amounts take at most {decimals} decimal places.",
            "amount",
        )
    if amount >= MAX_AMOUNT:
        raise Refusal.business(
            "PAYMENT_CHANNEL_AMOUNT_LIMITS", "The amount is above the channel's limit.", "amount"
        )
