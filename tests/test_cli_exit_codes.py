"""Every error becomes its exit code in one place, with one line on stderr and no traceback.

The commands' own paths to each code are tested where they arise, each by a real run of the
command: 0 throughout; 2 in test_cli_failures; 3 in test_cli_fetch and
test_cli_platform_failures; 4 in test_cli_schedule (as a process); 5 in test_conservation (a
bug planted in the sums, the only way a proof can fail); 1 here; 130/143/141 in the signal and
pipe tests. This file also pins the table itself: each error class carries its code, and
``main`` uses it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA

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


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_result_that_cannot_be_written_is_no_success(tmp_path: Path) -> None:
    """Exit 1 is what payrecon did not foresee. A disk that is full under the results is one,
    and a run whose results were lost must not exit 0 as if they had been shown."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "payrecon", "inspect", str(DATA / "ledger.csv")],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )
    assert proc.returncode == errors.EXIT_ERROR, proc.stderr
    assert "No space left on device" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
