"""The terminal summary of a reconciliation: one screen, rendered from the report model."""

from __future__ import annotations

from payrecon.report.model import ReportModel


def render_text(model: ReportModel) -> str:
    """Rows per category, the exact totals per currency, then one line each for the changes
    since the last run, the suggestions, the balance tie-out and the conservation proof."""
    lines = [
        f"reconciled {model.n_ledger_rows:,} ledger rows and {model.n_platform_only:,} "
        f"platform-only payouts: {model.n_exceptions:,} need a person",
        f"  {model.rows_read}",
    ]
    lines += [f"  {c.name:<20} {c.count:>12,}" for c in model.categories if c.count]
    if model.n_status_regressed:
        lines.append(
            f"  {'status_regressed':<20} {model.n_status_regressed:>12,}  "
            "(flag: look at these first)"
        )
    if model.totals:
        lines.append(
            f"  {'currency':<10} {'ledger amount':>20} {'platform amount':>20} {'difference':>18}"
        )
    lines += [
        f"  {t.currency:<10} {t.ledger_amount:>20} {t.platform_amount:>20} "
        f"{t.amount_difference:>18}"
        for t in model.totals
    ]
    return "\n".join(lines + _more_lines(model))


def _more_lines(model: ReportModel) -> list[str]:
    """Changes, suggestions, tie-out and proof: one line each (the proof's every equation when
    it fails)."""
    lines = []
    ch = model.changes
    if ch is not None:
        since = (
            f"since the last run ({ch.previous_run_at:%Y-%m-%d %H:%M} UTC)"
            if ch.previous_run_at
            else "first run of this name"
        )
        counts = ", ".join(f"{k} {v}" for k, v in ch.counts)
        lines.append(f"{since} '{ch.run_name}': {counts}")
    s = model.suggestions
    if s is not None and s.n_rows:
        lines.append(
            f"suggested matches: {s.n_suggested} of {s.n_rows} ledger rows without a "
            "usable id (suggestions.csv)"
        )
    if model.tie_out is not None:
        listed = ", ".join(f"{c} {g}" for c, g in model.tie_out.gaps)
        lines.append(
            f"balance tie-out: gaps in {listed} (balances.csv)"
            if listed
            else "balance tie-out: no gap"
        )
    if model.proof is not None:
        lines.append("conservation proof holds" if model.proof.holds else model.proof.text)
    return lines


__all__ = ["render_text"]
