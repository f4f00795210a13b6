"""Reports of a reconciliation: HTML (a jinja2 template) for now."""
