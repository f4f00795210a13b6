"""Reports of a reconciliation, all rendered from one model.

``model``   :func:`~payrecon.report.model.build_model` turns a
            :class:`~payrecon.core.result.Reconciliation` into a frozen
            :class:`~payrecon.report.model.ReportModel` (exact text, exceptions worst first)
``order``   the orders a person reads in: exceptions worst first, changes by kind
``html``    the HTML page and the Jupyter view (jinja2 template ``templates/report.html``)
``excel``   the ``.xlsx`` workbook
``text``    the one-screen terminal summary
``figures`` / ``charts``  the PNG charts the page embeds

The dependency runs one way: these modules import the result; the result imports them only
inside the methods that render (``to_html``, ``to_excel``, ``summary_text``, ``_repr_html_``).
"""

from payrecon._lazy import lazy

#: Public names beyond the modules above: the figures a notebook draws with.
_EXPORTS = {
    "charts": ".charts",
    "figures": ".figures",
    "money_str": ".figures",
    "platform_payouts": ".figures",
    "processing_ages": ".figures",
}
__getattr__, __dir__ = lazy(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
