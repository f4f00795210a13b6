"""The report's charts, drawn with matplotlib onto an ``Axes`` the caller owns.

Each chart function takes an ``ax`` and plain data and returns nothing, so a notebook can put one in
its own figure (``fig, ax = plt.subplots(); categories_bar(ax, rec.counts)``) and the report can
render it to PNG with :func:`figure_png`. No pyplot state is touched here: :func:`figure_png` builds
a bare :class:`~matplotlib.figure.Figure` on the Agg canvas, which needs no display and is safe in a
scheduled job.

Money reaches these functions as ``float`` *for drawing only*: a bar's length cannot be a
``Decimal``. Every number printed on a chart or in a table comes from the exact values
(:mod:`payrecon.report.figures` passes their text), never from these floats.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator, PercentFormatter

from payrecon.core.categories import QUIET

#: One colour per platform status; any other status word is drawn in ``OTHER``.
STATUS_COLOURS: dict[str, str] = {
    "SUCCESS": "#2e7d32",
    "PROCESSING": "#5c7cfa",
    "FAILED": "#c62828",
    "REFUSED": "#ef6c00",
}
OTHER = "#8e24aa"
QUIET_COLOURS = {"matched": "#2e7d32", "pending": "#5c7cfa"}
EXCEPTION_COLOUR = "#c62828"
NEUTRAL = "#607d8b"

#: Age buckets of payouts still PROCESSING: (label, upper bound in hours).
AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 h", 1),
    ("1-6 h", 6),
    ("6-24 h", 24),
    ("1-3 d", 72),
    ("3-7 d", 168),
    ("> 7 d", float("inf")),
)


@dataclass(frozen=True)
class FeeBars:
    """One currency's fees, summed: floats to draw, exact text to print."""

    currency: str
    ledger: float
    platform: float
    expected: float | None
    difference_text: str


def _no_data(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes, color=NEUTRAL)
    ax.set_xticks([])
    ax.set_yticks([])


def _tidy(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def categories_bar(ax: Axes, counts: Mapping[str, int]) -> None:
    """Rows per category, in the categories' order; exceptions red, matched and pending not."""
    names = list(counts)
    values = [counts[n] for n in names]
    if not any(values):
        _no_data(ax, "no rows")
        return
    colours = [QUIET_COLOURS.get(n, EXCEPTION_COLOUR) if n in QUIET or v else NEUTRAL
               for n, v in zip(names, values, strict=True)]  # fmt: skip
    y = np.arange(len(names))
    ax.barh(y, values, color=colours)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    top = max(values)
    for yi, v in zip(y, values, strict=True):
        ax.text(v + top * 0.01, float(yi), f"{v:,}", va="center", fontsize=8)
    ax.set_xlim(0, top * 1.12)
    ax.set_xlabel("rows")
    _tidy(ax)


def amounts_by_status(
    ax: Axes,
    shares: Mapping[str, Mapping[str, float]],
    totals_text: Mapping[str, str] | None = None,
) -> None:
    """Per currency, the platform amount split by status, as shares of the currency's total.

    Currencies cannot share one axis of amounts (IDR millions beside USD hundreds), so each bar is
    one currency's total, 100 % wide, labelled with the exact total from ``totals_text``.
    """
    currencies = list(shares)
    if not currencies:
        _no_data(ax, "no payouts on the platform side")
        return
    statuses = [s for s in STATUS_COLOURS if any(shares[c].get(s) for c in currencies)]
    statuses += sorted({s for c in currencies for s in shares[c]} - set(STATUS_COLOURS))
    y = np.arange(len(currencies))
    left = np.zeros(len(currencies))
    totals = np.array([sum(shares[c].values()) for c in currencies], dtype=float)
    totals[totals == 0] = 1.0
    for status in statuses:
        part = np.array([shares[c].get(status, 0.0) for c in currencies], dtype=float) / totals
        ax.barh(y, part, left=left, color=STATUS_COLOURS.get(status, OTHER), label=status)
        left += part
    labels = [f"{c}  {totals_text[c]}" if totals_text and c in totals_text else c
              for c in currencies]  # fmt: skip
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of the currency's platform amount")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=len(statuses), frameon=False)
    _tidy(ax)


def fee_comparison(ax: Axes, fees: Sequence[FeeBars]) -> None:
    """Per currency, the ledger's fees and the contract's against the platform's (= 100 %)."""
    rows = [f for f in fees if f.platform or f.ledger]
    if not rows:
        _no_data(ax, "no fees")
        return
    x = np.arange(len(rows))
    has_expected = any(f.expected is not None for f in rows)
    width = 0.27 if has_expected else 0.38

    def pct(value: float | None, base: float) -> float:
        return 0.0 if value is None or not base else 100.0 * value / base

    platform = [100.0 if f.platform else 0.0 for f in rows]
    ledger = [pct(f.ledger, f.platform) for f in rows]
    ax.bar(x - width, platform, width, label="platform", color="#1565c0")
    ax.bar(x, ledger, width, label="ledger", color="#90a4ae")
    if has_expected:
        expected = [pct(f.expected, f.platform) for f in rows]
        ax.bar(x + width, expected, width, label="fee schedule", color="#ffb300")
    top = max([*platform, *ledger, 100.0])
    for xi, f in zip(x, rows, strict=True):
        ax.text(float(xi), top * 1.04, f.difference_text, ha="center", fontsize=8)
    ax.set_xticks(x, [f.currency for f in rows])
    ax.set_ylim(0, top * 1.15)
    ax.yaxis.set_major_formatter(PercentFormatter(100.0))
    ax.set_ylabel("% of the platform's fees")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, frameon=False, ncol=3)
    _tidy(ax)


#: Round durations for the processing-time axis: 1 s, 10 s, 1 min, 10 min, 1 h, 6 h, 1 d, 1 week.
_DURATION_TICKS = (1, 10, 60, 600, 3600, 21_600, 86_400, 604_800)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86_400:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 86_400:.3g} d"


def processing_times(ax: Axes, seconds: Sequence[float] | np.ndarray) -> None:
    """How long final payouts took from ``createdAt`` to ``processedAt`` (log scale), with the
    median and the 90th percentile marked."""
    values = np.asarray(seconds, dtype=float)
    values = values[np.isfinite(values) & (values >= 0)]
    if not len(values):
        _no_data(ax, "no processed payouts")
        return
    clipped = np.clip(values, 1.0, None)
    lo, hi = np.log10(clipped.min()), np.log10(clipped.max())
    bins = [float(b) for b in np.logspace(lo, max(hi, lo + 1), 40)]
    ax.hist(clipped, bins=bins, color="#1565c0")
    ax.set_xscale("log")
    ticks = [t for t in _DURATION_TICKS if bins[0] <= t <= bins[-1]]
    ax.set_xticks(ticks or [bins[0], bins[-1]])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _duration(v)))
    for q, style in ((50, "-"), (90, "--")):
        at = float(np.percentile(values, q))
        ax.axvline(max(at, 1.0), color="#c62828", linestyle=style, linewidth=1)
        ax.text(max(at, 1.0), ax.get_ylim()[1] * 0.95, f" p{q} {_duration(at)}", color="#c62828",
                fontsize=8, va="top")  # fmt: skip
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("createdAt -> processedAt")
    ax.set_ylabel("payouts")
    _tidy(ax)


def aging(ax: Axes, ages_hours: Sequence[float] | np.ndarray) -> None:
    """Payouts still ``PROCESSING`` by how long ago they were created."""
    ages = np.asarray(ages_hours, dtype=float)
    ages = ages[np.isfinite(ages)]
    labels = [label for label, _ in AGE_BUCKETS]
    edges = [0.0, *(upper for _, upper in AGE_BUCKETS)]
    counts = [int(((ages >= a) & (ages < b)).sum()) for a, b in itertools.pairwise(edges)]
    counts[0] += int((ages < 0).sum())  # clock skew: created "in the future" counts as new
    if not len(ages):
        _no_data(ax, "no payout is still PROCESSING")
        return
    colours = ["#5c7cfa", "#5c7cfa", "#ffb300", "#ef6c00", "#c62828", "#8e0000"]
    x = np.arange(len(labels))
    ax.bar(x, counts, color=colours)
    for xi, v in zip(x, counts, strict=True):
        ax.text(float(xi), v, f"{v:,}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, max(counts) * 1.15 + 0.5)
    ax.set_xlabel("age of the payouts still PROCESSING (since createdAt)")
    ax.set_ylabel("payouts")
    _tidy(ax)


def figure_png(
    draw: Callable[[Axes], None], *, size: tuple[float, float] = (6.4, 3.0), dpi: int = 140
) -> bytes:
    """Draw one chart into a fresh figure and return it as PNG bytes (Agg; no pyplot state).

    The default size suits the report's two columns: about 900 pixels wide, shown at about 600.
    """
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    draw(fig.add_subplot())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


__all__ = [
    "AGE_BUCKETS",
    "FeeBars",
    "aging",
    "amounts_by_status",
    "categories_bar",
    "fee_comparison",
    "figure_png",
    "processing_times",
]
