"""The command line (``payrecon``, ``python -m payrecon``) on top of everything else.

``_main`` parses arguments and maps errors to exit codes; ``_fetch``, ``_reconcile``,
``_sandbox`` and ``_callbacks`` are those commands, each with its options (``_options`` holds the
shared ones); ``_schedule`` holds what scheduled runs need (``--fail-on``, dated folders, the log
line), ``_recurring`` the steps of a recorded run, ``_demo`` the main job on the embedded sandbox,
``_outputs`` checks where a command will write, ``_signals`` handles SIGTERM as Ctrl-C,
``_runtime`` the speed switches."""

from __future__ import annotations

from payrecon._lazy import lazy

#: public name -> the private module that defines it
_EXPORTS = {
    "main": "._main",
    "run": "._main",
    "build_parser": "._main",
    "DATA_DIR": "._demo",
    "demo_sandbox": "._demo",
    "run_demo": "._demo",
    "write_outputs": "._demo",
    "log_line": "._schedule",
}

__getattr__, __dir__ = lazy(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
