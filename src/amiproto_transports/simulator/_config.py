"""Users and their permission classes, from arguments or an Asterisk ``manager.conf``."""

from __future__ import annotations

import glob
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ._confparse import ConfigSyntaxError, IncludeReader, parse_config
from ._eventfilter import EventFilter, FilterError, parse_filter

__all__ = [
    "ALL_CLASSES",
    "CLASS_ORDER",
    "DEFAULT_USERS",
    "ManagerConfError",
    "User",
    "load_manager_conf",
    "manager_conf_text",
    "parse_classes",
    "parse_manager_conf",
    "read_from_disk",
    "users_from_mapping",
]

# The permission classes Asterisk 22 knows, in the order it lists them; "all"
# in a user's read or write line stands for every one of them.
CLASS_ORDER = (
    "system",
    "call",
    "log",
    "verbose",
    "command",
    "agent",
    "user",
    "config",
    "dtmf",
    "reporting",
    "cdr",
    "dialplan",
    "originate",
    "agi",
    "cc",
    "aoc",
    "test",
    "security",
    "message",
)
ALL_CLASSES = frozenset(CLASS_ORDER)

DEFAULT_USERS: dict[str, tuple[str, str, str]] = {"admin": ("wordpass", "all", "all")}
"""Without users or a manager.conf the simulator accepts ``admin``/``wordpass`` with all rights."""


def parse_classes(text: str) -> frozenset[str]:
    """``"system,call"`` -> the set of classes; ``all`` expands to every class."""
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    if "all" in names:
        return ALL_CLASSES | {"all"}
    return frozenset(names & ALL_CLASSES)


@dataclass(frozen=True, slots=True)
class User:
    """One manager account: its secret, the classes it may read and write, its event filters."""

    name: str
    secret: str
    read: frozenset[str]
    write: frozenset[str]
    event_filters: tuple[EventFilter, ...] = ()
    """manager.conf's ``eventfilter`` lines, in order: every session of this user starts with them."""


class ManagerConfError(ValueError):
    """A ``manager.conf`` that Asterisk itself would refuse to load; the message names the line."""


def users_from_mapping(users: Mapping[str, tuple[str, str, str]]) -> dict[str, User]:
    """``{"admin": ("secret", "read classes", "write classes")}`` -> ``User`` objects."""
    return {
        name: User(name, secret, parse_classes(read), parse_classes(write))
        for name, (secret, read, write) in users.items()
    }


def parse_manager_conf(
    text: str,
    source: str = "manager.conf",
    *,
    read: IncludeReader | None = None,
    warnings: list[str] | None = None,
) -> dict[str, User]:
    """The users of a ``manager.conf``: every section but ``[general]`` and templates that has a secret.

    The file is read as Asterisk reads it (see ``_confparse``): a user may come
    from templates (``[readonly](base)``) and ``#include`` files, found by
    ``read``. Settings are read in order, the last one winning, so a user's own
    override its templates'; every ``eventfilter`` line counts, inherited ones
    first. A filter Asterisk refuses is skipped with a warning in ``warnings``,
    as Asterisk logs it and goes on. Raises ``ManagerConfError`` (naming the
    file and line) for a file Asterisk itself refuses.
    """
    found = [] if warnings is None else warnings
    try:
        categories = parse_config(text, source=source, read=read, warnings=found)
    except ConfigSyntaxError as error:
        raise ManagerConfError(str(error)) from None
    sections: dict[str, dict[str, str]] = {}
    filters: dict[str, list[EventFilter]] = {}
    for category in categories:
        if category.template:
            continue
        options = sections.setdefault(category.name, {})
        rules = filters.setdefault(category.name, [])
        for key, value in category.variables:
            if key.lower().startswith("eventfilter"):
                try:
                    rules.append(parse_filter(key, value))
                except FilterError as refused:
                    found.append(f"{source} [{category.name}]: {key} = {value} not used: {refused}")
            else:
                options[key.lower()] = value
    return {
        name: User(
            name,
            options["secret"],
            parse_classes(options.get("read", "")),
            parse_classes(options.get("write", "")),
            tuple(filters[name]),
        )
        for name, options in sections.items()
        if name.lower() != "general" and "secret" in options
    }


def _classes_text(classes: frozenset[str]) -> str:
    if "all" in classes:
        return "all"
    return ",".join(name for name in CLASS_ORDER if name in classes)


def manager_conf_text(users: Mapping[str, User]) -> str:
    """A ``manager.conf`` for ``users``, laid out like the recorded server's.

    Its ``[general]`` section is the recorded one; each user gets the settings
    the recorded ``admin`` has, so the default user's text is the recorded one.
    """
    lines = [
        "[general]",
        "enabled = yes",
        "port = 5038",
        "bindaddr = 127.0.0.1",
        "displayconnects = yes",
        "timestampevents = no",
    ]
    for user in users.values():
        lines += [
            "",
            f"[{user.name}]",
            f"secret = {user.secret}",
            "deny = 0.0.0.0/0.0.0.0",
            "permit = 127.0.0.1/255.255.255.255",
            f"read = {_classes_text(user.read)}",
            f"write = {_classes_text(user.write)}",
            "writetimeout = 5000",
        ]
    return "\n".join(lines) + "\n"


def read_from_disk(path: str) -> list[tuple[str, str]]:
    """An ``IncludeReader`` over the file system: the files ``path`` names (wildcards expanded, sorted)."""
    names = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
    return [(name, Path(name).read_text(encoding="utf-8")) for name in names if Path(name).is_file()]


def load_manager_conf(path: str | Path, warnings: list[str] | None = None) -> dict[str, User]:
    """Read and parse a ``manager.conf`` file and what it includes (see ``parse_manager_conf``).

    ``OSError`` if the file itself is unreadable.
    """
    return parse_manager_conf(
        Path(path).read_text(encoding="utf-8"), str(path), read=read_from_disk, warnings=warnings
    )
