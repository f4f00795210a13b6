"""The speed tricks' switch: every trick can be turned off, and nothing but the speed changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import OFFLINE_RECONCILE

from payrecon._speed import SPEED_OFF, TRICKS, speed_trick
from payrecon.cli import main
from payrecon.errors import EXIT_USAGE, ConfigError

COMMAND = [*OFFLINE_RECONCILE, "--no-store"]


def test_every_trick_is_on_unless_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SPEED_OFF, raising=False)
    assert all(speed_trick(name) for name in TRICKS)
    first, *rest = TRICKS
    monkeypatch.setenv(SPEED_OFF, f" {first} ,")
    assert not speed_trick(first)
    assert all(speed_trick(name) for name in rest)


def test_a_name_that_is_no_trick_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # fast_exit was measured as a trick once (docs/performance.md) and is no switch now
    monkeypatch.setenv(SPEED_OFF, "jemalloc,fast_exit")
    with pytest.raises(ConfigError, match="fast_exit"):
        speed_trick("jemalloc")
    assert main([*COMMAND, "--out", str(tmp_path)]) == EXIT_USAGE
    assert "PAYRECON_SPEED_OFF: no speed trick fast_exit" in capsys.readouterr().err


def test_with_every_trick_off_the_command_writes_the_same_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from payrecon import csvout

    # the sample is small: let the size-gated tricks run on it too
    monkeypatch.setattr(csvout, "PARALLEL_ROWS", 1)
    monkeypatch.setattr(csvout, "SLICE_ROWS", 7)
    monkeypatch.delenv(SPEED_OFF, raising=False)
    assert main([*COMMAND, "--out", str(tmp_path / "on")]) == 0
    monkeypatch.setenv(SPEED_OFF, ",".join(TRICKS))
    assert main([*COMMAND, "--out", str(tmp_path / "off")]) == 0
    for name in ("rows.csv", "summary.csv", "exceptions.csv"):
        on, off = (tmp_path / side / name for side in ("on", "off"))
        assert on.read_bytes() == off.read_bytes(), name


def test_the_jemalloc_switch_decides_arrows_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    from payrecon.cli._runtime import reuse_freed_memory

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow has no jemalloc")
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool()
    try:
        pa.set_memory_pool(pa.system_memory_pool())
        monkeypatch.setenv(SPEED_OFF, "jemalloc")
        reuse_freed_memory()
        assert pa.default_memory_pool().backend_name == "system"
        monkeypatch.delenv(SPEED_OFF)
        reuse_freed_memory()
        assert pa.default_memory_pool().backend_name == "jemalloc"
    finally:
        pa.set_memory_pool(before)
