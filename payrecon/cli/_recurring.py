"""The steps of a recurring ``reconcile`` around the pure core: the command stays a list of calls.

Before fetching, confirmed matches rename their ledger rows (:mod:`payrecon.core._confirmed`); after
fetching, the store says which payouts regressed (:mod:`payrecon.core._regressions`) and the
platform
gives its balances (:mod:`payrecon.core._balances`); after reconciling, the balances are tied out
and
the run is recorded, which gives the changes since the last run (:mod:`payrecon.core._changes`).
Each
step returns what it found and the lines to tell the user, and prints nothing itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from payrecon.errors import InputError, PlatformError

if TYPE_CHECKING:
    from payrecon.client._client import Client
    from payrecon.core._balances import Balance
    from payrecon.core._confirmed import Confirmation
    from payrecon.core.result import Reconciliation
    from payrecon.store._store import Store


@dataclass
class Extras:
    """What a recurring run gathers beside the statuses, and what to say about it."""

    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    regressions: pd.DataFrame | None = None
    balances: list[Balance] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def members(self) -> set[str]:
        """Payout ids that confirmed groups stand for."""
        return {m for ms in self.groups.values() for m in ms}


def confirm(
    ledger: pd.DataFrame, confirmations: Sequence[Confirmation], extras: Extras
) -> pd.DataFrame:
    """The ledger with confirmed rows renamed; notes say what was applied and what was stale."""
    from payrecon.core._confirmed import apply_to_ledger

    if not confirmations:
        return ledger
    applied = apply_to_ledger(ledger, confirmations)
    extras.groups.update(applied.groups)
    extras.notes.append(
        f"confirmed matches: {len(applied.applied)} applied, {len(applied.stale)} stale"
    )
    extras.notes += [f"  not applied: {c}: {why}" for c, why in applied.stale]
    return applied.ledger


def wanted_ids(ledger: pd.DataFrame, extra_ids: Sequence[str] | None, extras: Extras) -> list[str]:
    """Every id to fetch: the ledger's (groups by their payouts), then the extra ones."""
    from payrecon.core._confirmed import expand_ids

    named = [i for i in ledger["id_payout"].tolist() if i]  # no id: nothing to fetch
    ids = [*named, *(extra_ids or [])]
    return [i for i in dict.fromkeys(expand_ids(ids, extras.groups)) if i]


def gather(store: Store | None, client: Client | None, extras: Extras) -> None:
    """Regressions from the store; balances from the platform (a refusal is a note, not a
    failure: the reconciliation stands without its tie-out)."""
    from payrecon.core._regressions import from_store

    if store is not None:
        extras.regressions = from_store(store)
        if len(extras.regressions):
            extras.notes.append(
                f"status regressions: {len(extras.regressions)} payout(s) changed final status"
            )
    if client is not None:
        try:
            extras.balances = client.get_balances()
        except PlatformError as exc:
            extras.notes.append(f"balances not fetched, no tie-out: {exc}")


def platform_side(
    statuses: pd.DataFrame, extra_ids: Sequence[str] | None, extras: Extras
) -> tuple[pd.DataFrame, list[str] | None]:
    """The statuses with each confirmed group as one row, and the extra ids without the
    payouts those groups stand for."""
    from payrecon.core._confirmed import group_statuses

    if not extras.groups:
        return statuses, None if extra_ids is None else list(extra_ids)
    members = extras.members
    ids = None if extra_ids is None else [i for i in extra_ids if i not in members]
    return group_statuses(statuses, extras.groups), ids


def history_store(path: Path) -> Store:
    """The existing store at ``path``, opened to read history and record a run (its
    platform and merchant are the store's own)."""
    from payrecon.store._store import Store

    if not path.is_file():
        raise InputError(
            f"--run-name with --statuses: no store at {path} (runs are kept in the store that "
            "fetch and reconcile write; give --store)"
        )
    with Store.open_readonly(path) as probe:
        base_url, merchant = probe.base_url, probe.merchant_code
    return Store(path, base_url=base_url, merchant_code=merchant)


def finish(
    rec: Reconciliation, extras: Extras, store: Store | None, run_name: str | None
) -> Reconciliation:
    """Tie out the balances and, when the proof holds and there is a store, record the run."""
    from payrecon.core._balances import with_balances
    from payrecon.core._changes import record_run

    if extras.balances is not None:
        rec = with_balances(rec, extras.balances)
    if store is not None and (rec.conservation is None or rec.conservation.holds):
        rec = record_run(store, rec, name=run_name)
    return rec


__all__ = ["Extras", "confirm", "finish", "gather", "history_store", "platform_side", "wanted_ids"]
