"""Which text names a currency: ISO 4217 codes, crypto codes, and the symbols exports write.

A ledger's currency cell is compared with the platform's ``currencyCode``; text that is no
currency (``=HYPERLINK(...)``, ``Euro``, a stray amount) must be a bad cell, not a silent
``currency_mismatch``. Symbols are mapped only where they name one currency in this platform's
markets: ``$`` (USD, SGD, AUD, ...), ``¥`` (JPY, CNY) and ``kr`` are not, so they are never guessed.
"""

from __future__ import annotations

import re
from typing import Final

#: Active ISO 4217 codes (2024), plus the precious-metal and fund codes banks still print.
ISO_4217: Final = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BOV",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHE",
        "CHF",
        "CHW",
        "CLF",
        "CLP",
        "CNY",
        "COP",
        "COU",
        "CRC",
        "CUC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MXV",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SLL",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "USN",
        "UYI",
        "UYU",
        "UYW",
        "UZS",
        "VED",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XAG",
        "XAU",
        "XCD",
        "XCG",
        "XDR",
        "XOF",
        "XPD",
        "XPF",
        "XPT",
        "XSU",
        "XUA",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
        "ZWL",
    ]
)

#: Crypto codes in common use: the platform's ``currencyCode`` has no pattern and takes them
#: (``platform-api.md`` §6). Any other code written upper-case as 3 to 10 letters and digits is
#: accepted too (a coin this list does not know yet); lower-case words (``Euro``) are not.
CRYPTO: Final = frozenset(
    [
        "USDT",
        "USDC",
        "BTC",
        "ETH",
        "TRX",
        "BNB",
        "DAI",
        "LTC",
        "XRP",
        "SOL",
        "TON",
        "DOGE",
        "BUSD",
        "MATIC",
        "POL",
        "ADA",
        "DOT",
        "BCH",
        "TUSD",
        "FDUSD",
    ]
)
_CODE = re.compile(r"[A-Z][A-Z0-9]{2,9}")

#: Symbols and local abbreviations that name exactly one currency (compared case-sensitively
#: after trimming; ``Rp`` and ``RP`` both occur).
SYMBOLS: Final[dict[str, str]] = {
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "Rs": "INR",
    "Rs.": "INR",
    "฿": "THB",
    "₫": "VND",
    "đ": "VND",
    "Rp": "IDR",
    "RP": "IDR",
    "Rp.": "IDR",
    "₱": "PHP",
    "₩": "KRW",
    "₽": "RUB",
    "₦": "NGN",
    "₴": "UAH",
    "₺": "TRY",
    "₪": "ILS",
    "RM": "MYR",
    "S$": "SGD",
    "US$": "USD",
    "A$": "AUD",
    "HK$": "HKD",
    "R$": "BRL",
}


def currency_of_token(token: str) -> str | None:
    """The code ``token`` names (a code in any case, or an unambiguous symbol), else ``None``."""
    t = token.strip()
    if t in SYMBOLS:
        return SYMBOLS[t]
    upper = t.upper()
    if upper in ISO_4217 or upper in CRYPTO or _CODE.fullmatch(t):
        return upper
    return None


KNOWN: Final = ISO_4217 | CRYPTO


def known_codes() -> frozenset[str]:
    """The codes accepted in any case (ISO 4217 and the crypto codes above)."""
    return KNOWN


__all__ = ["CRYPTO", "ISO_4217", "SYMBOLS", "currency_of_token", "known_codes"]
