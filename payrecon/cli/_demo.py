"""The demo: the whole job on the embedded sandbox and the demo data in ``data/``.

``payrecon demo`` (and the notebooks) use this module to show the product working with no
credentials and no network but loopback:

1. start :mod:`payrecon.sandbox` in-process and seed it with ``data/demo_payouts.csv`` (320
   payouts of the past weeks: every status, seven currencies, a few test payouts and overcharged
   fees);
2. create a few payouts live, the payout guide's way: a token naming the exact calls, ``POST
   /payouts/{id}`` with a ``callbackUrl``, the platform's callback when each turns final, received
   and followed by ``GET /payouts/{id}`` into a store (:mod:`payrecon.receiver._receiver`);
3. reconcile yesterday first, as a recurring job would have: the platform as it stood
   (``data/demo_payouts_previous.csv``: one payout still ``SUCCESS``) against yesterday's export
   ``data/demo_ledger_previous.csv``, recorded in the store as a run named ``demo``;
4. then today: read the messy ledger export ``data/demo_ledger.csv`` with
   ``data/demo_mapping.toml``, fetch the status of every id it names plus the platform's own list
   ``data/demo_ids.txt`` (final ones from the store, but for the payout whose status changed
   overnight: the platform's callback announces it), its balances, and reconcile
   against the contract's ``data/fee_schedule.toml``: every category of the interface shows up,
   with the changes since yesterday (a status regression among them), suggested matches for
   ledger money without a usable id, duplicates' roles and a balance tie-out with a gap;
5. write ``report.html``, ``report.xlsx``, ``rows.csv``, ``summary.csv``, ``exceptions.csv``,
   ``changes.csv``, ``suggestions.csv``, ``balances.csv`` and ``set_aside.csv``.

The data set is made by ``data/make_demo_data.py`` (deterministic; rerun to regenerate).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from payrecon.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from payrecon.client._client import Client
    from payrecon.core.fees import FeeSchedule
    from payrecon.core.result import Reconciliation
    from payrecon.sandbox import Sandbox
    from payrecon.store._store import Store

#: Where the demo data lives: ``data/`` beside the package in a source checkout.
DATA_DIR = Path(__file__).resolve().parents[2] / "data"  # payrecon/cli/_demo.py: the checkout
DEMO_FILES = (
    "demo_payouts.csv",
    "demo_ledger.csv",
    "demo_mapping.toml",
    "demo_ids.txt",
    "fee_schedule.toml",
    "demo_ledger_previous.csv",
    "demo_payouts_previous.csv",
)
#: The name the demo's two runs are recorded under (``--run-name``).
RUN_NAME = "demo"

#: Payouts the demo creates live: (id, amount, currency, operator). The sandbox decides their fate
#: by amount: IDR 10000 (the guide's example) and EUR 250.00 succeed, INR 1513 fails
#: (INVALID_ACCOUNT_NUMBER), THB 4599.00 stays PROCESSING.
LIVE_PAYOUTS: tuple[tuple[str, str, str, str], ...] = (
    ("PO-LIVE-0001", "10000", "IDR", "BNK_000"),
    ("PO-LIVE-0002", "250.00", "EUR", "EUR_SEPA"),
    ("PO-LIVE-0003", "1513", "INR", "INR_IMPS"),
    ("PO-LIVE-0004", "4599.00", "THB", "THB_PROMPT"),
)
_ACCOUNT = {"accountName": "Demo Customer", "accountNumber": "1234567890", "bankCode": "HDFC0001"}


def data_file(name: str, data_dir: Path | None = None) -> Path:
    """A demo data file, or a clear ``InputError`` when the data folder is not there."""
    folder = data_dir or DATA_DIR
    path = folder / name
    if not path.is_file():
        raise InputError(
            f"{path}: demo data not found. The demo needs the data/ folder of a source checkout "
            "(git clone, then `make demo`); to regenerate it: python data/make_demo_data.py"
        )
    return path


@contextmanager
def demo_sandbox(*, final_after: float = 1.0, data_dir: Path | None = None) -> Iterator[Sandbox]:
    """The sandbox in-process on a free loopback port, seeded with the demo payouts.

    Examples
    --------
    >>> with demo_sandbox() as sb:                      # doctest: +SKIP
    ...     statuses = sb.client().fetch_statuses(["PO-DEMO-0001"])
    """
    from payrecon.sandbox import SandboxConfig, running

    seed = data_file("demo_payouts.csv", data_dir)
    config = SandboxConfig(final_after=final_after, callback_interval=0.5)
    with running(config, seed=seed) as sb:
        yield sb


@dataclass(frozen=True)
class DemoResult:
    """What a demo run made: the reconciliation, the files written, the live payouts."""

    reconciliation: Reconciliation
    files: dict[str, Path]
    live_ids: tuple[str, ...]
    callbacks_received: int
    seconds: float


def create_live_payouts(sb: Sandbox, client: object, store: object, *, wait: float = 10.0) -> int:
    """Create :data:`LIVE_PAYOUTS` with a callback URL; return the callbacks received.

    A receiver on a free loopback port takes the platform's callbacks and fetches each payout
    into ``store``, as ``payrecon callbacks`` would in production.
    """
    from payrecon.client._client import Client
    from payrecon.receiver._receiver import run_receiver
    from payrecon.sandbox.payouts import outcome_for
    from payrecon.store._store import Store

    assert isinstance(client, Client) and isinstance(store, Store)
    final = sum(outcome_for(Decimal(a))[0] != "PROCESSING" for _, a, _, _ in LIVE_PAYOUTS)
    with run_receiver(store, client, port=0) as receiver:
        for pid, amount, currency, operator in LIVE_PAYOUTS:
            client.create_payout(
                pid,
                amount=Decimal(amount),
                currency=currency,
                operator=operator,
                account=_ACCOUNT,
                callback_url=receiver.url + "payouts",
                remark="payrecon demo",
                store=store,
            )
        deadline = time.monotonic() + wait
        while receiver.stats().accepted < final and time.monotonic() < deadline:
            time.sleep(0.05)
        receiver.wait_idle(timeout=max(0.0, deadline - time.monotonic()))
        return receiver.stats().accepted


def run_demo(
    out: Path,
    *,
    data_dir: Path | None = None,
    live: bool = True,
    progress: bool | None = None,
    echo: Callable[[str], None] = print,
) -> DemoResult:
    """Run the demo end to end and write its outputs into ``out``; see the module docstring.

    Every data file is found, and today's ledger read, before the sandbox starts: missing demo
    data is a clear error, not a half-run demo.
    """
    from payrecon.client.ids import read_ids
    from payrecon.core.fees import FeeSchedule
    from payrecon.ledger import read_ledger
    from payrecon.store._store import Store

    started = time.monotonic()
    paths = {name: data_file(name, data_dir) for name in DEMO_FILES}
    ledger = read_ledger(paths["demo_ledger.csv"], paths["demo_mapping.toml"])
    platform_ids = read_ids(paths["demo_ids.txt"])
    schedule = FeeSchedule.load(paths["fee_schedule.toml"])
    with (
        tempfile.TemporaryDirectory(prefix="payrecon-demo-") as tmp,
        demo_sandbox(data_dir=data_dir) as sb,
    ):
        echo(f"sandbox at {sb.base_url}, seeded with {len(platform_ids)} payouts")
        client = sb.client()
        # The sandbox's port changes every run and a store belongs to one base URL: a fresh one.
        with Store(
            Path(tmp) / "demo.db", base_url=sb.base_url, merchant_code=sb.merchant_code
        ) as store:
            demo = _Session(sb, client, store, paths, platform_ids, schedule, progress)
            _reconcile_yesterday(demo, echo)
            sb.seed(paths["demo_payouts.csv"])  # the platform as it stands today
            received, live_ids = _create_live(demo, live, echo)
            rec = _reconcile_today(demo, ledger, live_ids)
    files = write_outputs(rec, out)
    return DemoResult(rec, files, live_ids, received, time.monotonic() - started)


@dataclass(frozen=True)
class _Session:
    """What the demo's steps share: the sandbox, a client of it, the store, the data files, the
    platform's own list of payout ids, the contract's fee schedule, and whether to show progress."""

    sb: Sandbox
    client: Client
    store: Store
    paths: dict[str, Path]
    platform_ids: list[str]
    schedule: FeeSchedule
    progress: bool | None


def _reconcile_yesterday(demo: _Session, echo: Callable[[str], None]) -> None:
    """Yesterday, as the morning job saw it: the platform as it stood then against yesterday's
    export, recorded as the run :data:`RUN_NAME`, so that today's run shows what changed."""
    from payrecon.core import reconcile
    from payrecon.core._changes import record_run
    from payrecon.ledger import read_ledger

    demo.sb.seed(demo.paths["demo_payouts_previous.csv"])
    before = read_ledger(demo.paths["demo_ledger_previous.csv"], demo.paths["demo_mapping.toml"])
    wanted = [i for i in dict.fromkeys([*before["id_payout"], *demo.platform_ids]) if i]
    yesterday = reconcile(
        before,
        demo.client.fetch_statuses(wanted, store=demo.store, progress=demo.progress),
        ids=demo.platform_ids,
        fee_schedule=demo.schedule,
        ledger_source=_shown(demo.paths["demo_ledger_previous.csv"]),
    )
    record_run(demo.store, yesterday, name=RUN_NAME)
    echo(f"reconciled yesterday's export first: {len(yesterday.exceptions)} exceptions")


def _create_live(
    demo: _Session, live: bool, echo: Callable[[str], None]
) -> tuple[int, tuple[str, ...]]:
    """With ``live``, :data:`LIVE_PAYOUTS` created the payout guide's way; the callbacks received
    and the ids created, which today's run asks for beside the platform's list."""
    if not live:
        return 0, ()
    received = create_live_payouts(demo.sb, demo.client, demo.store)
    live_ids = tuple(p[0] for p in LIVE_PAYOUTS)
    echo(
        f"created {len(live_ids)} payouts live (token, POST with callbackUrl, "
        f"callback, GET): {received} callbacks received"
    )
    return received, live_ids


def _reconcile_today(
    demo: _Session, ledger: pd.DataFrame, live_ids: tuple[str, ...]
) -> Reconciliation:
    """Today's export against the platform now, as a recurring run: the payouts that changed
    overnight fetched again, every other final one from the store, then the regressions and the
    balances, and the run recorded under :data:`RUN_NAME` (which gives the changes)."""
    from payrecon.cli._recurring import Extras, finish, gather
    from payrecon.client.ids import read_ids
    from payrecon.core import reconcile

    ids = [*demo.platform_ids, *live_ids]
    wanted = [i for i in dict.fromkeys([*ledger["id_payout"], *ids]) if i]  # no id: no call
    # The platform calls back on every status change, reversals included; a receiver
    # (`payrecon callbacks`) then fetches the payout into the store. Here: the payouts
    # whose status changed overnight are the ones in yesterday's seed file.
    changed = read_ids(demo.paths["demo_payouts_previous.csv"])  # its id_payout column
    demo.client.fetch(changed, sink=demo.store, refresh=True, progress=False)
    statuses = demo.client.fetch_statuses(wanted, store=demo.store, progress=demo.progress)
    extras = Extras()
    gather(demo.store, demo.client, extras)
    rec = reconcile(
        ledger,
        statuses,
        ids=ids,
        fee_schedule=demo.schedule,
        ledger_source=_shown(demo.paths["demo_ledger.csv"]),
        base_url=f"{demo.sb.base_url} (payrecon.sandbox, in-process)",
        regressions=extras.regressions,
    )
    return finish(rec, extras, demo.store, RUN_NAME)


def write_outputs(rec: Reconciliation, out: Path) -> dict[str, Path]:
    """``rows.csv``, ``summary.csv``, ``exceptions.csv`` (and the changes, suggestions and
    balances the result holds), ``report.html``, ``report.xlsx``."""
    files = dict(rec.to_csv(out))
    files["report"] = rec.to_html(out / "report.html")
    files["excel"] = rec.to_excel(out / "report.xlsx")
    return files


def _shown(path: Path) -> str:
    """A data file's path relative to the working directory when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


__all__ = [
    "DATA_DIR",
    "LIVE_PAYOUTS",
    "RUN_NAME",
    "DemoResult",
    "create_live_payouts",
    "data_file",
    "demo_sandbox",
    "run_demo",
    "write_outputs",
]
