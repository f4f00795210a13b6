"""The SQLite store: what was fetched, every status change, callbacks, runs; nothing lost.

``_store`` is the ``Store`` (incremental reruns, history, the register of known ids), ``_schema``
its tables and migrations, ``_callbacks`` what the receiver keeps there, ``story`` one payout's
story for an investigation."""

from __future__ import annotations

from payrecon._lazy import lazy

#: public name -> the private module that defines it
_EXPORTS = {
    "Store": "._store",
    "open_store": "._store",
    "DEFAULT_STORE_PATH": "._store",
    "PayoutStory": ".story",
    "gather_story": ".story",
}

__getattr__, __dir__ = lazy(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
