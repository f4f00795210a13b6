"""The public surface is exactly ``payrecon.__all__``: nothing leaks out, nothing goes missing."""

import subprocess
import sys

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
