"""The optional C speedups: one table of C functions and the Python they replace, one switch.

Two C modules are compiled at install time when a C compiler is there:
``amiproto._speedups`` (the core's hot loops) and ``amiproto_transports._dispatch``
(the clients' dispatch to callbacks and their routing check). Each C function replaces a piece of Python
that stays the reference: ``tests/test_speedups.py`` compares them, and the test
suite runs both ways.

A module that has a twin keeps the C function in a module global (None means
pure Python), so its hot path pays one global lookup for the choice. It fills
the global with ``c_function()`` when imported; ``use_speedups()`` refills every
global of the table in modules already imported, then calls the module's
``_speedups_switched()`` if it has one: a module that builds something from its
globals (``_messages`` makes ``Message.headers`` of one) rebuilds it there.
``AMIPROTO_PURE_PYTHON=1`` chooses pure Python for the whole process, the core
and the clients alike.

This module imports nothing of the packages it serves (only the C modules, by
name, when asked), so it is a leaf of the import graph.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = ["TWINS", "Twin", "c_function", "speedups", "speedups_enabled", "use_speedups"]


@dataclass(frozen=True)
class Twin:
    """One C function, the module global that holds it, and the Python it replaces."""

    module: str  # the module whose hot path reads ``slot``
    slot: str  # the module global: the C function, or None for pure Python
    c_module: str
    c_name: str
    python_twin: str  # where the pure-Python path is, for readers and tests


TWINS: tuple[Twin, ...] = (
    Twin(
        "amiproto._connection",
        "_C_TAKE_EVENTS",
        "amiproto._speedups",
        "take_events",
        "Framer.take_plain_run, then Connection._on_blocks",
    ),
    Twin(
        "amiproto._actions",
        "_C_HEADER_PAIRS",
        "amiproto._speedups",
        "header_pairs",
        "_actions._plain_headers",
    ),
    Twin(
        "amiproto._actions",
        "_C_SERIALIZE",
        "amiproto._speedups",
        "serialize",
        "_actions._python_serialize",
    ),
    Twin(
        "amiproto._connection",
        "_C_ANSWERER",
        "amiproto._speedups",
        "answerer",
        "Connection._answered",
    ),
    Twin(
        "amiproto._connection",
        "_C_SENDER",
        "amiproto._speedups",
        "sender",
        "Connection._send, for an ordinary action sent while READY",
    ),
    Twin(
        "amiproto._messages",
        "_C_MESSAGE_GETTERS",
        "amiproto._speedups",
        "message_getters",
        "Message._python_headers with Message._parse, and Message._python_action_id",
    ),
    Twin(
        "amiproto._headers",
        "_C_ITER_HEADERS",
        "amiproto._speedups",
        "iter_headers",
        "Headers.__iter__'s zip",
    ),
    Twin(
        "amiproto._connection",
        "_C_UNTRACK",
        "amiproto._speedups",
        "untrack",
        "none: pure Python leaves batches tracked by the cyclic GC",
    ),
    Twin(
        "amiproto_transports._shared._callbacks",
        "_C_DISPATCH",
        "amiproto_transports._dispatch",
        "dispatch",
        "_callbacks.run_callbacks_sync and _run_in_python",
    ),
    Twin(
        "amiproto.live._fields",
        "_C_VALUES_VIEW",
        "amiproto._speedups",
        "values_view",
        "a slice of the values list",
    ),
    Twin(
        "amiproto.live._fields",
        "_C_SHAPE_READER",
        "amiproto._speedups",
        "shape_reader",
        "the read() that live._fields._reader builds",
    ),
    Twin(
        "amiproto.live._channels",
        "_C_FIELD_ASSIGNER",
        "amiproto._speedups",
        "field_assigner",
        "live._fields.python_field_assigner",
    ),
    Twin(
        "amiproto.live._making",
        "_C_INSTANCE_MAKER",
        "amiproto._speedups",
        "instance_maker",
        "calling the class",
    ),
    Twin(
        "amiproto.live._dispatching",
        "_C_TYPE_DISPATCHER",
        "amiproto._speedups",
        "type_dispatcher",
        "live._dispatching.TypeDispatcher",
    ),
    Twin(
        "amiproto_transports._shared._session",
        "_C_ALL_INSTANCES",
        "amiproto_transports._dispatch",
        "all_instances",
        "_session._all_instances",
    ),
    Twin(
        "amiproto_transports._shared._session",
        "_C_ROUTE_ANSWERS",
        "amiproto_transports._dispatch",
        "route_answers",
        "_session._route_answers",
    ),
)
"""Every C function the packages use, by the module global that holds it."""

_BY_SLOT = {(twin.module, twin.slot): twin for twin in TWINS}

_enabled = not os.environ.get("AMIPROTO_PURE_PYTHON")


def _load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:  # not built: no compiler at install, or a pure-Python wheel
        return None


def c_function(module: str, slot: str) -> Callable[..., Any] | None:
    """What ``module.slot`` holds now: the C function, or None for pure Python."""
    twin = _BY_SLOT[module, slot]
    built = _load(twin.c_module) if _enabled else None
    return None if built is None else getattr(built, twin.c_name)


def use_speedups(enabled: bool) -> None:
    """Use the C speedups (where built) or pure Python from now on, in the core and the clients."""
    global _enabled  # noqa: PLW0603 (the one switch)
    _enabled = enabled
    refilled: list[ModuleType] = []
    for twin in TWINS:
        module = sys.modules.get(twin.module)
        if module is not None:
            setattr(module, twin.slot, c_function(twin.module, twin.slot))
            if module not in refilled:
                refilled.append(module)
    for module in refilled:
        switched = getattr(module, "_speedups_switched", None)
        if switched is not None:
            switched()


def speedups_enabled() -> bool:
    """Whether the C speedups are chosen (they may still be missing: see ``speedups``)."""
    return _enabled


speedups = _load("amiproto._speedups") if _enabled else None
"""The core's C module, or None when it is not built or ``AMIPROTO_PURE_PYTHON`` is set."""
