"""The OpenAPI 3.0 document of what the sandbox implements, served at ``GET /openapi.json``.

It follows the platform's own OpenAPI v2.47 (platform-api.md §2-§6) for the four operations the
sandbox serves, and adds only what the sandbox does on top, said plainly: ``operations`` is
required on a token request, ``Retry-After`` is sent with 429, bodies over the size limit get 413.
The property-based API fuzz in the tests runs against this very document, so a response that
breaks it is a test failure.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from payrecon.platform import (
    AUTH_TOKEN_406_CODES,
    FAILURE_REASON_CODES,
    PAYOUT_CREATE_406_CODES,
    PAYOUT_METHODS,
    STATUSES,
    TOKEN_VALIDITY_DEFAULT,
    TOKEN_VALIDITY_MAX,
    TOKEN_VALIDITY_MIN,
)
from payrecon.sandbox.validation import CALLBACK_URL_PATTERN

_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "minLength": 1, "maxLength": 250}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 1000}
_DATE = {"type": "string", "format": "date-time"}
_OPERATOR = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "minLength": 1, "maxLength": 30}


#: Request examples: the guide's own payout, and one of each other method (§3.2).
_EXAMPLES: dict[str, Any] = {
    "guide": {
        "value": {
            "paymentRequested": {"money": {"amount": 10000, "currencyCode": "IDR"}},
            "paymentMethod": {
                "paymentMethodCode": "BANK_TRANSFER",
                "account": {"accountName": "Test account", "accountNumber": "11223344"},
                "paymentOperatorCode": "BNK_000",
                "emailAddress": "customer@test.com",
            },
            "callbackUrl": "https://callback.example.com",
        }
    },
    "crypto": {
        "value": {
            "paymentRequested": {"money": {"amount": 25, "currencyCode": "USDT"}},
            "paymentMethod": {
                "paymentMethodCode": "CRYPTO_TRANSFER",
                "account": {"accountNumber": "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"},
                "paymentOperatorCode": "USDT_TRC20",
            },
        }
    },
    "wallet": {
        "value": {
            "paymentRequested": {"money": {"amount": 500, "currencyCode": "INR"}},
            "paymentMethod": {
                "paymentMethodCode": "WALLET_TRANSFER",
                "account": {"accountName": "Asha Rao", "accountNumber": "asha@upi"},
            },
        }
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("BasicError"), description)


def _business(codes: tuple[str, ...], description: str) -> dict[str, Any]:
    item = {
        "type": "object",
        "required": ["code"],
        "properties": {
            "code": {"type": "string", "enum": list(codes)},
            "description": {"type": "string"},
            "attrCode": {"type": "string"},
        },
    }
    return _json({"type": "array", "items": item}, description)


_RATE_LIMITED = {
    **_error("Too many requests (the merchant's rate limit, or an injected fault)."),
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before the next call (absent when the sandbox"
            " is set up like the documented platform, which sends none).",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}

_VERSION = {
    "name": "X-API-Version",
    "in": "header",
    "required": True,
    "description": "Required API version; the sandbox serves version 2 and answers 400 otherwise.",
    "schema": {"type": "integer", "format": "int32", "enum": [2]},
}

_ID_PARAM = {
    "name": "idPayout",
    "in": "path",
    "required": True,
    "description": "The Merchant Order ID.",
    "schema": _ID,
}


def document() -> dict[str, Any]:
    """The OpenAPI 3.0.3 document (a fresh dict each call: callers may change theirs)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "payrecon sandbox: the payouts platform emulator",
            "version": "2.47-sandbox",
            "description": "What payrecon.sandbox implements of the platform's API v2.",
        },
        "paths": {
            "/auth-tokens": {"post": _create_auth_token()},
            "/payouts/{idPayout}": {
                "parameters": [_ID_PARAM, _VERSION],
                "post": _create_payout(),
                "get": _get_payout(),
            },
            "/balances": {"get": _get_balances()},
        },
        "components": {
            "securitySchemes": {
                "httpAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": _schemas(),
        },
    }


# The operations, one builder each: what each takes and every answer it can give.


def _secured() -> list[dict[str, list[str]]]:
    """The bearer token every business call needs (a fresh list for each operation)."""
    return [{"httpAuth": []}]


def _create_auth_token() -> dict[str, Any]:
    """``POST /auth-tokens``: the only call without a token; the secret buys one."""
    return {
        "operationId": "createAuthToken",
        "summary": "Issue a fine-grained token naming the operations it allows",
        "parameters": [_VERSION],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("AuthTokenRequest")}},
        },
        "responses": {
            "200": _json(_ref("AuthTokenResponse"), "The token."),
            "400": _error("The request breaks the schema."),
            "403": _error("The secret does not have permission."),
            "406": _business(AUTH_TOKEN_406_CODES, "Business validation failed."),
            "413": _error("The request body is too large."),
            "500": _error("Server error (only when injected)."),
        },
    }


def _create_payout() -> dict[str, Any]:
    """``POST /payouts/{idPayout}``, with the guide's examples of each payment method."""
    return {
        "operationId": "createPayout",
        "summary": "Create a payout",
        "security": _secured(),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("Payout"), "examples": _EXAMPLES}},
        },
        "responses": {
            "201": _json(_ref("PayoutAccepted"), "Accepted for processing."),
            "400": _error("The request breaks the schema."),
            "401": _error("Missing, malformed or expired token."),
            "403": _error("The token does not allow this operation or amount."),
            "406": _business(
                (*PAYOUT_CREATE_406_CODES, "MERCHANT_INACTIVE"),
                "Not accepted: business validation.",
            ),
            "409": _error("The Merchant Order ID is duplicated."),
            "413": _error("The request body is too large."),
            "429": _RATE_LIMITED,
            "500": _error("Server error (only when injected)."),
        },
    }


def _get_payout() -> dict[str, Any]:
    """``GET /payouts/{idPayout}``: the detail payrecon fetches; 410 for an id it never saw."""
    return {
        "operationId": "getPayout",
        "summary": "The detail of one payout",
        "security": _secured(),
        "responses": {
            "200": _json(_ref("PayoutDetail"), "The payout's detail."),
            "400": _error("The request breaks the schema."),
            "401": _error("Missing, malformed or expired token."),
            "403": _error("The token does not allow this operation."),
            "406": _business(("MERCHANT_INACTIVE",), "The merchant is inactive."),
            "410": _error("Entity not found."),
            "429": _RATE_LIMITED,
            "500": _error("Server error (only when injected)."),
        },
    }


def _get_balances() -> dict[str, Any]:
    """``GET /balances``: what the balance tie-out compares with."""
    return {
        "operationId": "getBalances",
        "summary": "The merchant's balance in each currency account",
        "security": _secured(),
        "parameters": [
            _VERSION,
            {
                "name": "currencyCodes",
                "in": "query",
                "required": False,
                "description": "Comma-separated currency codes; currencies without "
                "an account are silently ignored.",
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "200": _json(_ref("Balances"), "One item per currency account."),
            "400": _error("The request breaks the schema."),
            "401": _error("Missing, malformed or expired token."),
            "403": _error("The token does not allow this operation."),
            "406": _business(("MERCHANT_INACTIVE",), "The merchant is inactive."),
            "429": _RATE_LIMITED,
            "500": _error("Server error (only when injected)."),
        },
    }


# The schemas, one builder each, named as the document names them.


def _schemas() -> dict[str, Any]:
    """Every schema the operations refer to, in the order the document has always listed them."""
    return {
        "BasicError": {"type": "object", "properties": {"description": {"type": "string"}}},
        "Money": _money(),
        "PaymentRequested": _payment_requested(),
        "AuthTokenRequest": _auth_token_request(),
        "AuthTokenResponse": _auth_token_response(),
        "BankTransferMethod": _bank_transfer_method(),
        "CryptoTransferMethod": _crypto_transfer_method(),
        "WalletTransferMethod": _wallet_transfer_method(),
        "Payout": _payout(),
        "PaymentMethodResponse": _payment_method_response(),
        "PayoutAccepted": _payout_accepted(),
        "Balance": _balance(),
        "Balances": {
            "type": "object",
            "required": ["data"],
            "properties": {"data": {"type": "array", "items": _ref("Balance")}},
        },
        "PayoutDetail": _payout_detail(),
    }


def _money() -> dict[str, Any]:
    """An amount and its currency: payout amounts, fees, a token's amount limit."""
    return {
        "type": "object",
        "required": ["amount", "currencyCode"],
        "properties": {
            "amount": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
            "currencyCode": {"type": "string", "minLength": 1},
        },
    }


def _payment_requested() -> dict[str, Any]:
    """What the merchant asked to pay out: in a request, and echoed in every answer."""
    return {
        "type": "object",
        "required": ["money"],
        "properties": {
            "money": _ref("Money"),
            "segmentCode": {"type": "string", "minLength": 1, "maxLength": 1000},
            "exchangedToCurrency": {"type": "string", "minLength": 1, "maxLength": 1000},
        },
    }


def _auth_token_request() -> dict[str, Any]:
    """A token request; ``operations`` is required here, where the platform makes it optional."""
    return {
        "type": "object",
        "required": ["merchantCode", "secret", "operations"],
        "properties": {
            "merchantCode": {"type": "string", "minLength": 1},
            "secret": {"type": "string", "minLength": 1, "maxLength": 1000},
            "validitySecs": {
                "type": "integer",
                "minimum": TOKEN_VALIDITY_MIN,
                "maximum": TOKEN_VALIDITY_MAX,
                "default": TOKEN_VALIDITY_DEFAULT,
            },
            "operations": {
                "type": "array",
                "minItems": 1,
                "description": "Required by the sandbox (least privilege): every allowed call.",
                "items": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 1000,
                    "pattern": "^(POST|GET|PATCH|PUT|DELETE) /[^ ]+$",
                },
            },
            "money": _ref("Money"),
        },
    }


def _auth_token_response() -> dict[str, Any]:
    """The token, a JWT whose claims say what it allows and until when."""
    return {
        "type": "object",
        "required": ["token"],
        "properties": {
            "token": {
                "type": "string",
                "description": "HS256 JWT; claims operations, exp, jti, iat, sub.",
            }
        },
    }


def _bank_transfer_method() -> dict[str, Any]:
    """A bank transfer: the account holder's name and number, and the bank's operator code."""
    return {
        "type": "object",
        "required": ["paymentMethodCode", "account", "paymentOperatorCode"],
        "properties": {
            "paymentMethodCode": {"type": "string", "enum": ["BANK_TRANSFER"]},
            "account": _bank_account(),
            "paymentOperatorCode": _OPERATOR,
            "emailAddress": {"type": "string", "format": "email"},
            "remark": {"type": "string", "minLength": 1, "maxLength": 1000},
        },
    }


def _bank_account() -> dict[str, Any]:
    """The receiving bank account, with the platform's length limits on each field."""
    return {
        "type": "object",
        "required": ["accountName", "accountNumber"],
        "properties": {
            "accountName": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "description": "Letters of any script, combining marks, spaces and . , ' - & ( )",
            },
            "accountNumber": {"type": "string", "minLength": 1, "maxLength": 100},
            "accountType": {"type": "string", "minLength": 1},
            "bankCode": {"type": "string", "minLength": 1, "maxLength": 30},
            "bankBranch": {"type": "string", "minLength": 1, "maxLength": 1000},
            "bankName": {"type": "string", "minLength": 1, "maxLength": 1000},
            "bankCity": {"type": "string", "minLength": 1, "maxLength": 1000},
            "bankProvince": {"type": "string", "minLength": 1, "maxLength": 1000},
        },
    }


def _crypto_transfer_method() -> dict[str, Any]:
    """A crypto transfer: a wallet address (letters and digits only) and the network's code."""
    return {
        "type": "object",
        "required": ["paymentMethodCode", "account", "paymentOperatorCode"],
        "properties": {
            "paymentMethodCode": {"type": "string", "enum": ["CRYPTO_TRANSFER"]},
            "account": {
                "type": "object",
                "required": ["accountNumber"],
                "properties": {
                    "accountNumber": {
                        "type": "string",
                        "pattern": "^[A-Za-z0-9]+$",
                        "minLength": 1,
                        "maxLength": 62,
                    }
                },
            },
            "paymentOperatorCode": _OPERATOR,
            "remark": {"type": "string", "minLength": 1, "maxLength": 1000},
        },
    }


def _wallet_transfer_method() -> dict[str, Any]:
    """A wallet transfer: a ``name@provider`` account, the operator and a phone number optional."""
    return {
        "type": "object",
        "required": ["paymentMethodCode", "account"],
        "properties": {
            "paymentMethodCode": {"type": "string", "enum": ["WALLET_TRANSFER"]},
            "account": {
                "type": "object",
                "properties": {
                    "accountName": {"type": "string", "minLength": 1, "maxLength": 64},
                    "accountNumber": {
                        "type": "string",
                        "pattern": "^[a-zA-Z0-9_\\-\\.]+@[a-zA-Z0-9_\\.]+$",
                        "minLength": 1,
                        "maxLength": 100,
                    },
                },
            },
            "paymentOperatorCode": _OPERATOR,
            "phoneNumber": {
                "type": "string",
                "pattern": "^\\+?[0-9]+$",
                "minLength": 7,
                "maxLength": 16,
            },
            "remark": {"type": "string", "minLength": 1, "maxLength": 1000},
        },
    }


def _payout() -> dict[str, Any]:
    """A payout request: what to pay, by which method, and where to call back."""
    return {
        "type": "object",
        "required": ["paymentRequested", "paymentMethod"],
        "properties": {
            "paymentRequested": _ref("PaymentRequested"),
            "paymentMethod": {
                "oneOf": [
                    _ref("BankTransferMethod"),
                    _ref("CryptoTransferMethod"),
                    _ref("WalletTransferMethod"),
                ]
            },
            "callbackUrl": {
                "type": "string",
                "maxLength": 1000,
                "pattern": CALLBACK_URL_PATTERN,
            },
            "customerIp": {"type": "string", "maxLength": 45, "description": "IPv4 or IPv6"},
        },
    }


def _payment_method_response() -> dict[str, Any]:
    """The platform's ids for a payout (``idPayment``, ``reference``) and its method."""
    return {
        "type": "object",
        "required": ["idPayout", "idPayment", "paymentMethodCode", "reference"],
        "properties": {
            "idPayout": _ID,
            "idPayment": _ID,
            "paymentMethodCode": {"type": "string", "enum": list(PAYOUT_METHODS)},
            "reference": {"type": "string"},
        },
    }


def _payout_accepted() -> dict[str, Any]:
    """The answer to a created payout: accepted, not yet final."""
    return {
        "type": "object",
        "required": ["paymentRequested", "paymentMethodResponse"],
        "properties": {
            "paymentRequested": _ref("PaymentRequested"),
            "paymentMethodResponse": _ref("PaymentMethodResponse"),
        },
    }


def _balance() -> dict[str, Any]:
    """One currency account's balance; ``pendingPayoutAmount`` is what the tie-out checks."""
    return {
        "type": "object",
        "required": [
            "currencyCode",
            "balance",
            "availableBalance",
            "pendingSettlementAmount",
            "pendingPayoutAmount",
        ],
        "properties": {
            "currencyCode": {"type": "string", "minLength": 1},
            "balance": {"type": "number"},
            "availableBalance": {
                "type": "number",
                "description": "balance - (pendingSettlementAmount + pendingPayoutAmount)",
            },
            "pendingSettlementAmount": {"type": "number", "minimum": 0},
            "pendingPayoutAmount": {
                "type": "number",
                "minimum": 0,
                "description": "The amounts (fees not included) of the PROCESSING payouts.",
            },
            "lastBalanceMovement": _DATE,
        },
    }


def _payout_detail() -> dict[str, Any]:
    """A payout's detail: what the statuses table is made of."""
    return {
        "type": "object",
        "required": ["paymentRequested", "process", "fee", "paymentMethodResponse"],
        "properties": {
            "paymentRequested": _ref("PaymentRequested"),
            "process": _payout_process(),
            "fee": _ref("Money"),
            "paymentMethodResponse": _ref("PaymentMethodResponse"),
        },
    }


def _payout_process() -> dict[str, Any]:
    """Where a payout stands: its status, when it was created and processed, why it failed."""
    return {
        "type": "object",
        "required": ["status", "createdAt", "isTest"],
        "properties": {
            "status": {"type": "string", "enum": list(STATUSES)},
            "failureReasons": {
                "type": "object",
                "required": ["failedAt", "failureReasonCode"],
                "properties": {
                    "failedAt": _DATE,
                    "failureReasonCode": {"type": "string", "enum": list(FAILURE_REASON_CODES)},
                    "message": {"type": "string"},
                },
            },
            "createdAt": _DATE,
            "processedAt": _DATE,
            "isTest": {"type": "boolean"},
            "processorStatus": {"type": "string", "enum": ["ACCEPTED", "PROCESSED"]},
        },
    }


@cache
def document_bytes() -> bytes:
    """The document as served (computed once)."""
    return json.dumps(document(), indent=1).encode()
