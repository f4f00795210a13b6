"""Shared fixtures: a fresh in-process sandbox on a free loopback port for each test that asks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from payrecon.sandbox import Sandbox, SandboxConfig, running


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A running sandbox whose payouts turn final after 0.2 s and retry callbacks every 0.2 s."""
    with running(SandboxConfig(final_after=0.2, callback_interval=0.2)) as sb:
        yield sb
