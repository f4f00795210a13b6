"""The HTML report of a :class:`~payrecon.reconciliation.Reconciliation`, from a jinja2 template.

The template only lays out :meth:`Reconciliation.report_data`; nothing is computed in it, so the
richer report (issue 6) can change the layout without touching the numbers. Autoescaping is on:
ids and status words come from users' files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape

if TYPE_CHECKING:
    from payrecon.reconciliation import Reconciliation

_env = Environment(
    loader=PackageLoader("payrecon.report", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_report(rec: Reconciliation, *, max_exceptions: int = 500) -> str:
    """The whole report page: metadata, counts per category, totals per currency, exceptions."""
    return _env.get_template("report.html").render(
        data=rec.report_data(max_exceptions=max_exceptions), full_page=True
    )


def render_summary(rec: Reconciliation) -> str:
    """The Jupyter view: the same page body with the first 20 exceptions."""
    return _env.get_template("report.html").render(
        data=rec.report_data(max_exceptions=20), full_page=False
    )


__all__ = ["render_report", "render_summary"]
