"""The optional C speedups, and the switch between them and pure Python.

``amiproto._speedups`` is compiled from ``_speedups.c`` at install time when a C
compiler is there. It holds C twins of three hot loops: the framer's fast path,
the header split, and the ActionID lookup; and ``untrack``, which hides the
events of a batch from the cyclic garbage collector. Each module that has a twin keeps it
in a module global (None means pure Python), so the hot paths pay one global
lookup for the choice. Set ``AMIPROTO_PURE_PYTHON=1`` to ignore the C module.
"""

from __future__ import annotations

import os
from types import ModuleType

__all__ = ["speedups", "use_speedups"]


_built: ModuleType | None
try:
    from . import _speedups as _built
except ImportError:
    _built = None

speedups = None if os.environ.get("AMIPROTO_PURE_PYTHON") else _built
"""The C module, or None when it is not built or is switched off."""


def use_speedups(enabled: bool) -> None:
    """Use the C speedups (when built) or pure Python, from now on; for tests and benchmarks."""
    from . import _connection, _framing, _messages  # noqa: PLC0415 (imported late: they import this module)

    module = speedups if enabled else None
    _framing._C_TAKE_RUN = None if module is None else module.take_run
    _messages._C_SPLIT_HEADERS = None if module is None else module.split_headers
    _messages._C_FIND_ACTION_ID = None if module is None else module.find_action_id
    _connection._C_UNTRACK = None if module is None else module.untrack
