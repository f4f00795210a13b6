"""Every error becomes its exit code in one place, with one line on stderr and no traceback.

The commands' own paths to each code are tested where they arise (test_cli_failures for 2 and 3,
test_cli_schedule for 4, test_conservation for 5, the signal and pipe tests for 130/143/141);
this pins the table itself: each error class carries its code, and ``main`` uses it.
"""

from __future__ import annotations

import pytest

from payrecon import errors
from payrecon.cli import _main

CASES = [
    (errors.InputError("ledger.csv: bad"), 2, "payrecon: error: ledger.csv: bad"),
    (errors.ConfigError("no base URL"), 2, "payrecon: error: no base URL"),
    (errors.StoreError("locked"), 2, "payrecon: error: locked"),
    (errors.TransportError("unreachable"), 3, "payrecon: platform: unreachable"),
    (errors.CredentialsError("refused"), 3, "payrecon: platform: refused"),
    (errors.ServerError("500", status=500), 3, "payrecon: platform: 500"),
    (errors.ConservationError(["rows 1 != 2"]), 5, "payrecon: the conservation proof failed"),
    (errors.PayreconError("odd"), 1, "payrecon: PayreconError: odd"),
]


@pytest.mark.parametrize(("error", "code", "line"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_each_error_exits_with_its_own_code(
    error: errors.PayreconError,
    code: int,
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fail(args: object) -> int:
        raise error

    monkeypatch.setattr(_main, "_cmd_show", fail)
    assert error.exit_code == code
    assert _main.main(["show", "PO-1"]) == code
    err = capsys.readouterr().err
    assert err.startswith(line) and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_the_codes_are_distinct_and_the_help_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    codes = [errors.EXIT_OK, errors.EXIT_ERROR, errors.EXIT_USAGE, errors.EXIT_PLATFORM]
    codes += [errors.EXIT_FOUND, errors.EXIT_PROOF, _main.EXIT_INTERRUPTED, _main.EXIT_BROKEN_PIPE]
    assert len(set(codes)) == len(codes)
    with pytest.raises(SystemExit):
        _main.main(["--help"])
    out = capsys.readouterr().out
    for code in codes:
        assert f"\n  {code} " in out, code
