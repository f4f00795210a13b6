"""The client side of the wire: from payout ids to the platform's answers.

``Client`` (one session, one retry loop, fine-grained tokens renewed from their own ``exp``) asks;
``_auth`` mints the tokens, ``_throttle`` paces calls to the platform's limit (calls in flight
follow
pace x latency), ``_fetch`` runs the bulk fetch, ``records`` parses each answer exactly, ``ids``
reads the id files the user gives."""

from __future__ import annotations

from payrecon._lazy import lazy

#: public name -> the private module that defines it
_EXPORTS = {
    "Client": "._client",
    "read_ids": ".ids",
    "PayoutDetail": ".records",
    "PayoutAccepted": ".records",
    "FetchOutcome": ".records",
}

__getattr__, __dir__ = lazy(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
