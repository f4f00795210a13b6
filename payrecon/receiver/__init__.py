"""The callback receiver: the one part of payrecon strangers can reach.

A callback is a hint, never a fact: ``_receiver`` answers at once and records it, ``_keys`` checks
the signature payrecon put on the URLs it created, ``_guard`` bounds what a stranger can cost
(time, connections, disk), ``_confirm`` confirms unknown ids with the platform within a budget.
See docs/callbacks.md."""

from __future__ import annotations

from payrecon._lazy import lazy

#: public name -> the private module that defines it
_EXPORTS = {
    "CallbackReceiver": "._receiver",
    "ReceiverLimits": "._receiver",
    "ReceiverStats": "._receiver",
    "run_receiver": "._receiver",
    "serve_forever": "._receiver",
}

__getattr__, __dir__ = lazy(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
