"""The config files the simulator serves to GetConfig and ListCategories.

extensions.conf and queues.conf are the recorded server's (they describe the
dialplan and queue the simulator plays); manager.conf is the one the simulator
was given, or one written for its users.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Mapping

from ._config import User, manager_conf_text
from ._confparse import IncludeReader

__all__ = [
    "CONFIG_DIR",
    "EXTENSIONS_CONF",
    "QUEUES_CONF",
    "include_reader",
    "lookup",
    "served_files",
    "served_name",
]

CONFIG_DIR = "/etc/asterisk"
"""Where the served files seem to live; an absolute ``Filename`` must point here."""

EXTENSIONS_CONF = (
    "[general]\n"
    "static=yes\n"
    "[default]\n"
    "exten => echo,1,Answer()\n"
    " same => n,Set(FOO=bar baz: qux)\n"
    " same => n,Set(CALLERID(name)=\u0132sbrand M\u00fcller)\n"
    " same => n,UserEvent(TestEvent,Key1: value1,Key2: with: colons)\n"
    " same => n,Wait(2)\n"
    " same => n,Hangup()\n"
    "exten => wait,1,Answer()\n"
    " same => n,Wait(30)\n"
    " same => n,Hangup()\n"
    "exten => dial,1,Dial(Local/echo@default,10)\n"
    " same => n,Hangup()\n"
    "exten => queue,1,Answer()\n"
    " same => n,Queue(support,,,,5)\n"
    " same => n,Hangup()\n"
)
"""The recorded server's extensions.conf: the dialplan ``_calls.DIALPLAN`` plays."""

QUEUES_CONF = "[support]\nstrategy = ringall\nmember => Local/wait@default\n"
"""The recorded server's queues.conf: the queue QueueStatus and QueueSummary report."""


def served_files(users: Mapping[str, User], manager_conf: str | None = None) -> dict[str, str]:
    """File name -> text; manager.conf is ``manager_conf`` or written for ``users``."""
    return {
        "manager.conf": manager_conf_text(users) if manager_conf is None else manager_conf,
        "extensions.conf": EXTENSIONS_CONF,
        "queues.conf": QUEUES_CONF,
    }


def lookup(files: Mapping[str, str], filename: str) -> str | None:
    """The text for a ``Filename`` header, relative to ``CONFIG_DIR`` or absolute, or None."""
    filename = filename.strip()
    if filename.endswith("/"):
        return None  # a file is not a directory
    path = posixpath.normpath(posixpath.join(CONFIG_DIR, filename))
    directory, _, name = path.rpartition("/")
    if directory != CONFIG_DIR:
        return None
    return files.get(name)


def include_reader(files: Mapping[str, str]) -> IncludeReader:
    """An ``IncludeReader`` over the served files, for ``parse_config(..., source=f"{CONFIG_DIR}/name")``.

    A served file's ``#include`` resolves against ``CONFIG_DIR`` like its
    ``Filename``; wildcards match the served names, in sorted order.
    """

    def read(path: str) -> list[tuple[str, str]]:
        directory, _, pattern = path.rpartition("/")
        if directory != CONFIG_DIR:
            return []
        names = sorted(fnmatch.filter(files, pattern))
        return [(f"{CONFIG_DIR}/{name}", files[name]) for name in names]

    return read


def served_name(filename: str) -> str | None:
    """The served file name a ``Filename`` header points to, existing or not; None outside ``CONFIG_DIR``."""
    filename = filename.strip()
    if not filename or filename.endswith("/"):
        return None
    directory, _, name = posixpath.normpath(posixpath.join(CONFIG_DIR, filename)).rpartition("/")
    return name if directory == CONFIG_DIR else None
