"""payrecon: fetch payout statuses from AOPay / EchelonPay and reconcile them with ledger exports.

The public API is this module's ``__all__`` (pinned by ``tests/test_public_api.py``)::

    import payrecon
    client = payrecon.Client.from_env()
    statuses = client.fetch_statuses(ids)
    ledger = payrecon.read_ledger("ledger.csv", mapping="mapping.toml")
    rec = payrecon.reconcile(ledger, statuses)
    with payrecon.sandbox.running() as sb:
        client = sb.client()

Names are loaded on first use, so ``payrecon sandbox`` does not pay for pandas and
``payrecon reconcile`` does not pay for the HTTP stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "Client": "payrecon.client._client",
    "Settings": "payrecon.config",
    "read_ids": "payrecon.client.ids",
    "read_ledger": "payrecon.ledger",
    "reconcile": "payrecon.core",
    "Reconciliation": "payrecon.core.result",
    "FeeSchedule": "payrecon.core.fees",
    "Store": "payrecon.store._store",
    "PayoutDetail": "payrecon.client.records",
    "PayoutAccepted": "payrecon.client.records",
    "FetchOutcome": "payrecon.client.records",
    "read_statuses": "payrecon.statuses._table",
    "write_statuses": "payrecon.statuses._table",
}
_SUBMODULES = ("errors", "sandbox")

__all__ = ["__version__", *_EXPORTS, *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"payrecon.{name}")
    else:
        raise AttributeError(f"module 'payrecon' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from payrecon import errors, sandbox
    from payrecon.client._client import Client
    from payrecon.client.ids import read_ids
    from payrecon.client.records import FetchOutcome, PayoutAccepted, PayoutDetail
    from payrecon.config import Settings
    from payrecon.core import reconcile
    from payrecon.core.fees import FeeSchedule
    from payrecon.core.result import Reconciliation
    from payrecon.ledger import read_ledger
    from payrecon.statuses._table import read_statuses, write_statuses
    from payrecon.store._store import Store
