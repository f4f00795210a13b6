"""One payout's story, for an investigation: what it is now, what we saw happen, who books it.

:func:`payout_story` is pure: it assembles a detail, the store's status changes and callbacks,
and the ledger rows naming the payout into a :class:`PayoutStory`, which renders as text (for
``payrecon show``) and as HTML (in Jupyter, and for ``Reconciliation.explain``).
:func:`gather_story` is the I/O edge that fetches the detail fresh, records it in the store, and
reads the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd
from jinja2 import Environment

from payrecon.amounts import at_currency_scale
from payrecon.client.records import FetchOutcome, PayoutDetail
from payrecon.errors import PayoutNotFound, PlatformError

if TYPE_CHECKING:
    from payrecon.receiver._receiver import PayoutFetcher
    from payrecon.store._store import Store

#: Ledger columns shown in a story, when the ledger has them (``raw.*`` columns are left out).
LEDGER_SHOWN = ("source_row", "id_payout", "amount", "currency", "fee", "status", "date")
#: Columns shown when the rows are a reconciliation's (``Reconciliation.explain``).
RECONCILED_SHOWN = (
    "source_row",
    "category",
    "issues",
    "ledger_amount",
    "platform_amount",
    "amount_diff",
    "ledger_currency",
    "ledger_fee",
    "platform_fee",
    "ledger_status",
    "platform_status",
)


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


@dataclass(frozen=True)
class PayoutStory:
    """Everything known about one payout, ready to read.

    Attributes
    ----------
    id_payout
        The payout.
    detail
        Its detail: fetched just now when ``detail_source`` is ``"platform"``, else the store's
        latest (``"store"``), else what the reconciliation's rows hold of the platform's answer
        (``"reconciliation"``), or ``None``.
    detail_source
        ``"platform"``, ``"store"``, ``"reconciliation"`` or ``"none"``.
    note
        Why the detail is not fresh, e.g. ``"not found on the platform"``; empty when it is.
    history, callbacks
        The store's status changes and callbacks for this payout (empty without a store).
    ledger_rows
        The ledger rows naming it; ``None`` when no ledger was given.
    """

    id_payout: str
    detail: PayoutDetail | None
    detail_source: str = "none"
    note: str = ""
    history: pd.DataFrame = field(default_factory=lambda: _empty(("seen_at", "status")))
    callbacks: pd.DataFrame = field(default_factory=lambda: _empty(("received_at", "remote")))
    ledger_rows: pd.DataFrame | None = None

    def summary_lines(self) -> list[str]:
        """The detail, one fact a line (shared by the text and HTML renderings)."""
        d = self.detail
        if d is None:
            return []
        lines = [f"status {d.status or '(none)'}"]
        if d.processor_status:
            lines[0] += f" (processor: {d.processor_status})"
        lines.append(
            f"amount {_money(d.amount, d.currency)}, fee {_money(d.fee_amount, d.fee_currency)}"
        )
        if d.payment_method_code:
            lines.append(f"method {d.payment_method_code}")
        lines.append(f"created {_when(d.created_at)}, processed {_when(d.processed_at)}")
        if d.failure_reason_code or d.failure_message:
            why = " ".join(x for x in (d.failure_reason_code, d.failure_message) if x)
            lines.append(f"failure {why} (at {_when(d.failed_at)})")
        ids = [
            f"{k} {v}" for k, v in (("idPayment", d.id_payment), ("reference", d.reference)) if v
        ]
        if ids:
            lines.append(", ".join(ids))
        if d.is_test:
            lines.append("a test payment")
        return lines

    def to_text(self) -> str:
        """The story as plain text, for a terminal."""
        out = [f"Payout {self.id_payout}"]
        if self.note:
            out.append(f"  {self.note}")
        if self.detail is not None:
            out.append(f"  Detail ({self.detail_where}):")
            out += [f"    {line}" for line in self.summary_lines()]
        else:
            out.append("  No detail known.")
        out.append(f"  Status changes seen ({len(self.history)}):")
        for r in self.history.itertuples(index=False):
            before = getattr(r, "previous_status", None)
            before = "(first seen)" if before is None or pd.isna(before) else f"{before} ->"
            out.append(
                f"    {_when(r.seen_at)}  {before} {r.status}  via {getattr(r, 'source', '')}"
            )
        out.append(f"  Callbacks received ({len(self.callbacks)}):")
        for r in self.callbacks.itertuples(index=False):
            refused = getattr(r, "error", "")
            extra = f"  refused: {refused}" if isinstance(refused, str) and refused else ""
            out.append(f"    {_when(r.received_at)}  from {r.remote or '?'}{extra}")
        if self.ledger_rows is not None:
            rows = self._ledger_shown()
            out.append(f"  {self.ledger_title}:")
            if len(rows):
                text = rows.to_string(index=False, formatters=_money_formatters(rows))
                out += ["    " + line for line in text.splitlines()]
        return "\n".join(out)

    __str__ = to_text

    def _ledger_shown(self) -> pd.DataFrame:
        assert self.ledger_rows is not None
        shown = RECONCILED_SHOWN if self._reconciled else LEDGER_SHOWN
        cols = [c for c in shown if c in self.ledger_rows.columns]
        rows = self.ledger_rows[cols]
        keep = [c for c in cols if c in ("source_row", "id_payout") or rows[c].notna().any()]
        return rows[keep]

    @property
    def detail_where(self) -> str:
        """Where the detail comes from, in words."""
        return _DETAIL_WHERE.get(self.detail_source, self.detail_source)

    @property
    def _reconciled(self) -> bool:
        return self.ledger_rows is not None and "category" in self.ledger_rows.columns

    @property
    def ledger_title(self) -> str:
        what = "Reconciliation rows" if self._reconciled else "Ledger rows"
        return f"{what} naming it ({0 if self.ledger_rows is None else len(self.ledger_rows)})"

    def to_html(self) -> str:
        """The story as an HTML fragment (escaped), for notebooks and reports."""
        ledger = None
        if self.ledger_rows is not None:
            ledger = self._ledger_shown().to_html(index=False, escape=True, na_rep="")
        return _TEMPLATE.render(
            s=self,
            lines=self.summary_lines(),
            history=self.history.to_html(index=False, escape=True, na_rep="")
            if len(self.history)
            else "",
            callbacks=self.callbacks.to_html(index=False, escape=True, na_rep="")
            if len(self.callbacks)
            else "",
            ledger=ledger,
        )

    def _repr_html_(self) -> str:
        return self.to_html()


_DETAIL_WHERE = {
    "platform": "now, from the platform",
    "store": "as the store last saw it",
    "reconciliation": "as fetched for this reconciliation",
}


def _money(amount: Any, currency: str | None) -> str:
    return "(none)" if amount is None else f"{amount} {currency or ''}".rstrip()


def _when(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    ts = pd.Timestamp(value)
    return ts.strftime("%Y-%m-%d %H:%M:%S") + "Z"


_TEMPLATE = Environment(autoescape=True).from_string(
    """<div class="payrecon-story">
<h3>Payout {{ s.id_payout }}</h3>
{% if s.note %}<p><strong>{{ s.note }}</strong></p>{% endif %}
{% if s.detail is not none %}<p>Detail ({{ s.detail_where }}):</p>
<ul>{% for line in lines %}<li>{{ line }}</li>{% endfor %}</ul>
{% else %}<p>No detail known.</p>{% endif %}
<h4>Status changes seen ({{ s.history|length }})</h4>{{ history|safe }}
<h4>Callbacks received ({{ s.callbacks|length }})</h4>{{ callbacks|safe }}
{% if ledger is not none %}<h4>{{ s.ledger_title }}</h4>
{{ ledger|safe }}{% endif %}
</div>"""
)


def payout_story(
    id_payout: str,
    *,
    detail: PayoutDetail | None = None,
    detail_source: str = "platform",
    note: str = "",
    history: pd.DataFrame | None = None,
    callbacks: pd.DataFrame | None = None,
    ledger: pd.DataFrame | None = None,
) -> PayoutStory:
    """Assemble one payout's story from what is known; pure (no I/O).

    ``history``, ``callbacks`` and ``ledger`` may hold other payouts too: only the rows whose
    ``id_payout`` is this one are kept. ``ledger=None`` means no ledger was consulted.
    """

    def mine(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        if frame is None:
            return None
        if "id_payout" not in frame.columns:
            return frame
        return frame[(frame["id_payout"] == id_payout).fillna(False).astype(bool)].reset_index(
            drop=True
        )

    kw: dict[str, Any] = {}
    if history is not None:
        kw["history"] = mine(history)
    if callbacks is not None:
        kw["callbacks"] = mine(callbacks)
    return PayoutStory(
        id_payout=id_payout,
        detail=detail,
        detail_source=detail_source if detail is not None else "none",
        note=note,
        ledger_rows=mine(ledger),
        **kw,
    )


def gather_story(
    id_payout: str,
    *,
    client: PayoutFetcher | None = None,
    store: Store | None = None,
    ledger: pd.DataFrame | None = None,
) -> PayoutStory:
    """Fetch the detail fresh (when a client is given), record it, and tell the whole story.

    A payout the platform does not know (410) or cannot serve right now still gets its story,
    from the store, with a note saying so.
    """
    detail: PayoutDetail | None = None
    source, note = "platform", ""
    if client is not None:
        try:
            detail = client.get_payout(id_payout)
            outcome = FetchOutcome(id_payout, detail, 200)
        except PayoutNotFound:
            note = "not found on the platform (410 Gone)"
            outcome = FetchOutcome(id_payout, None, 410, "not_found")
        except PlatformError as exc:
            note = f"could not fetch it now: {exc}"
            outcome = FetchOutcome(id_payout, None, getattr(exc, "status", None), "fetch_failed")
        if store is not None and not store.readonly:
            store.record(outcome)
    if detail is None and store is not None:
        detail, source = store.detail(id_payout), "store"
    if detail is None and ledger is not None:
        detail, source = detail_from_rows(id_payout, ledger), "reconciliation"
    return payout_story(
        id_payout,
        detail=detail,
        detail_source=source,
        note=note,
        history=store.history(id_payout) if store is not None else None,
        callbacks=store.callbacks(id_payout) if store is not None else None,
        ledger=ledger,
    )


def detail_from_rows(id_payout: str, rows: pd.DataFrame) -> PayoutDetail | None:
    """The platform's answer as a reconciliation's rows carry it (``platform_*`` columns), or
    ``None`` when they hold none for this payout (not fetched, 410, or plain ledger rows).

    Fields the statuses table does not keep (``idPayment``, ``reference``, the failure message,
    the raw JSON) stay empty: the store has them, when there is one.
    """
    if "platform_status" not in rows.columns:
        return None
    mine = rows[(rows["id_payout"] == id_payout).fillna(False).astype(bool)]
    mine = mine[mine["platform_status"].notna()]
    if mine.empty:
        return None
    row = mine.iloc[-1]

    def get(column: str) -> Any:
        value = row.get(column)
        return None if _missing(value) else value

    currency = get("platform_currency")

    def money(column: str) -> Decimal | None:
        value = get(column)
        return None if value is None else at_currency_scale(value, currency)

    created, processed = get("platform_created_at"), get("platform_processed_at")
    return PayoutDetail(
        id_payout=id_payout,
        status=str(get("platform_status")),
        amount=money("platform_amount"),
        currency=currency,
        fee_amount=money("platform_fee"),
        fee_currency=None,  # the rows keep the fee, not its currency
        payment_method_code=get("payment_method_code"),
        id_payment=None,
        reference=None,
        created_at=created.to_pydatetime() if created is not None else None,
        processed_at=processed.to_pydatetime() if processed is not None else None,
        is_test=bool(get("is_test")) if get("is_test") is not None else None,
        failure_reason_code=get("failure_reason_code"),
        failure_message=None,
        failed_at=None,
        processor_status=None,
        raw={},
    )


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


__all__ = ["PayoutStory", "detail_from_rows", "gather_story", "payout_story"]


def _decimal_text(value: object) -> str:
    """``1553000`` and ``0`` rather than pandas' ``1553000.00000000`` and ``0E-8``."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _money_formatters(rows: pd.DataFrame) -> dict[str, Callable[[object], str]]:
    return {c: _decimal_text for c in rows.columns if str(rows[c].dtype).startswith("decimal")}
