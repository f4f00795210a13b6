"""The HTML report of a :class:`~payrecon.core.result.Reconciliation`, from a jinja2 template.

One self-contained file: the CSS sits in a ``<style>`` element, the charts are PNGs inside
``data:image/png;base64,...`` URIs, and there is no script and no address of anything to fetch, so
the page reads the same from a mail attachment, a file share or an air-gapped laptop, and prints.

The template only lays out a :class:`~payrecon.report.model.ReportModel` (built once by
:func:`~payrecon.report.model.build_model`: exact text, exceptions already worst first); it
computes nothing and changes nothing. Autoescaping is on: ids and status words come from users'
files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape

from payrecon.report.model import ReportModel, build_model

if TYPE_CHECKING:
    from payrecon.core.result import Reconciliation

_env = Environment(
    loader=PackageLoader("payrecon.report", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def group_digits(text: str | None) -> str:
    """``-1234567.50`` as ``-1,234,567.50``: exact decimal text grouped by thousands for reading.

    A text operation on the exact value (never through a number), so no digit can change.
    """
    if text is None:
        return ""
    sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, dot, frac = body.partition(".")
    if not whole.isdigit():
        return text
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + ",".join(groups) + dot + frac


_env.filters["money"] = group_digits


def render_html(model: ReportModel, *, full_page: bool = True) -> str:
    """``model`` as HTML: a whole self-contained page, or (``full_page=False``) the page's body
    with its style, for Jupyter."""
    return _env.get_template("report.html").render(m=model, full_page=full_page)


def render_report(rec: Reconciliation, *, max_exceptions: int = 500) -> str:
    """The whole report page: what was reconciled, counts, exact totals, charts, exceptions."""
    return render_html(build_model(rec, max_exceptions=max_exceptions, charts=True))


def render_summary(rec: Reconciliation) -> str:
    """The Jupyter view: the same page body without charts, with the 20 worst exceptions."""
    return render_html(build_model(rec, max_exceptions=20), full_page=False)


__all__ = ["group_digits", "render_html", "render_report", "render_summary"]
