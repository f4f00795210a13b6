"""``python -m payrecon`` is the ``payrecon`` command."""

from payrecon.cli import run

run()
