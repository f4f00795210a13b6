"""Lazy exports for a package's ``__init__``: a name is imported from its module on first use.

So ``import payrecon.statuses`` does not import pandas, ``payrecon sandbox`` does not pay for the
reconciliation core, and a package can name its public API without importing all of it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, whose public ``name`` lives in ``exports[name]``
    (a module name relative to the package, such as ``"._client"``)."""

    def getattr_(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(exports[name], package)
        if exports[name].lstrip(".") == name:  # the name is a public submodule itself
            return module
        return getattr(module, name)

    def dir_() -> list[str]:
        return sorted(exports)

    return getattr_, dir_


__all__ = ["lazy"]
