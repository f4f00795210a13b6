"""The public surface is exactly ``payrecon.__all__``: nothing leaks out, nothing goes missing."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import payrecon

EXPECTED = {
    "__version__",
    "Client",
    "Settings",
    "read_ids",
    "read_ledger",
    "reconcile",
    "Reconciliation",
    "FeeSchedule",
    "Store",
    "PayoutDetail",
    "PayoutAccepted",
    "FetchOutcome",
    "read_statuses",
    "write_statuses",
    "errors",
    "sandbox",
}


def test_all_is_pinned() -> None:
    assert set(payrecon.__all__) == EXPECTED
    assert len(payrecon.__all__) == len(EXPECTED)


def test_every_name_resolves() -> None:
    for name in payrecon.__all__:
        assert getattr(payrecon, name) is not None, name


def test_reconcile_is_the_function_when_the_core_package_is_imported_first() -> None:
    # The core is the subpackage payrecon.core, not payrecon.reconcile: a subpackage of the same
    # name as the public function would replace it on the package as soon as it was imported.
    code = (
        "import payrecon.core._checks\n"
        "from payrecon.core import _match\n"
        "import payrecon\n"
        "assert callable(payrecon.reconcile), payrecon.reconcile\n"
        "assert payrecon.reconcile is payrecon.core.reconcile\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_interface_names_from_a_fresh_interpreter() -> None:
    code = (
        "import payrecon\n"
        "assert callable(payrecon.reconcile) and callable(payrecon.read_ledger)\n"
        "assert hasattr(payrecon.Client, 'from_env')\n"
        "assert hasattr(payrecon.Client, 'fetch_statuses')\n"
        "assert callable(payrecon.sandbox.running)\n"
        "for name in ('summary_text', 'to_html', 'to_csv', 'to_excel', 'explain'):\n"
        "    assert hasattr(payrecon.Reconciliation, name), name\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_name_raises_attribute_error() -> None:
    try:
        payrecon.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


#: Each package's public names (its ``__all__``), pinned: a change here is a change of the API.
PACKAGE_API = {
    "payrecon.client": {"Client", "FetchOutcome", "PayoutAccepted", "PayoutDetail", "read_ids"},
    "payrecon.receiver": {
        "CallbackReceiver",
        "ReceiverLimits",
        "ReceiverStats",
        "run_receiver",
        "serve_forever",
    },
    "payrecon.statuses": {"conform", "read_statuses", "statuses_frame", "write_statuses"},
    "payrecon.store": {"DEFAULT_STORE_PATH", "PayoutStory", "Store", "gather_story", "open_store"},
    "payrecon.core": {
        "ADVICE",
        "CATEGORIES",
        "EXCEPTION_FLAGS",
        "FLAGS",
        "FeeSchedule",
        "QUIET",
        "ROW_COLUMNS",
        "Reconciliation",
        "from_store",
        "reconcile",
        "record_run",
        "with_balances",
    },
    "payrecon.report": {"charts", "figures", "money_str", "platform_payouts", "processing_ages"},
    "payrecon.cli": {
        "DATA_DIR",
        "build_parser",
        "demo_sandbox",
        "log_line",
        "main",
        "run",
        "run_demo",
        "write_outputs",
    },
}


@pytest.mark.parametrize("package", sorted(PACKAGE_API))
def test_each_package_pins_its_public_names(package: str) -> None:
    import importlib

    module = importlib.import_module(package)
    assert set(module.__all__) == PACKAGE_API[package]
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def _imports(text: str) -> list[tuple[str, list[str]]]:
    import re

    found = re.findall(r"from (payrecon[\w.]*) import ([\w, ]+)", text)
    return [(mod, [n.strip() for n in names.split(",") if n.strip()]) for mod, names in found]


def test_notebooks_and_docs_use_public_names_only() -> None:
    import json

    root = Path(__file__).resolve().parent.parent
    sources: dict[str, str] = {}
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        sources[nb.name] = "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "code"
        )
    for md in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        sources[md.name] = md.read_text()
    public = {"payrecon": set(payrecon.__all__), **PACKAGE_API}
    public["payrecon.ledger"] = set(importlib_module("payrecon.ledger").__all__)
    public["payrecon.sandbox"] = set(importlib_module("payrecon.sandbox").__all__)
    bad = [
        f"{where}: from {mod} import {name}"
        for where, text in sources.items()
        for mod, names in _imports(text)
        for name in names
        if mod not in public or name not in public[mod]
    ]
    assert not bad, "internal names used where users read:\n" + "\n".join(bad)


def importlib_module(name: str) -> Any:
    import importlib

    return importlib.import_module(name)
