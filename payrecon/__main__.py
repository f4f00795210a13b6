"""``python -m payrecon`` is the ``payrecon`` command."""

from payrecon.cli._main import run

run()
