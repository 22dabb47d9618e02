"""Users and their permission classes, from arguments or an Asterisk ``manager.conf``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ALL_CLASSES",
    "DEFAULT_USERS",
    "ManagerConfError",
    "User",
    "load_manager_conf",
    "parse_classes",
    "parse_manager_conf",
    "users_from_mapping",
]

# The permission classes Asterisk 22 knows; "all" in a user's read or write
# line stands for every one of them.
ALL_CLASSES = frozenset(
    [
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
    ]
)

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
    """One manager account: its secret and the classes it may read and write."""

    name: str
    secret: str
    read: frozenset[str]
    write: frozenset[str]


class ManagerConfError(ValueError):
    """A ``manager.conf`` that Asterisk itself would refuse to load; the message names the line."""


def users_from_mapping(users: Mapping[str, tuple[str, str, str]]) -> dict[str, User]:
    """``{"admin": ("secret", "read classes", "write classes")}`` -> ``User`` objects."""
    return {
        name: User(name, secret, parse_classes(read), parse_classes(write))
        for name, (secret, read, write) in users.items()
    }


def parse_manager_conf(text: str, source: str = "manager.conf") -> dict[str, User]:
    """The users of a ``manager.conf``: every section but ``[general]`` that has a secret.

    Raises ``ManagerConfError`` (naming ``source`` and the line number) for a
    section header without its closing ``]``, as Asterisk refuses such a file.
    """
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for number, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if "]" not in line:
                raise ManagerConfError(f"{source} line {number}: no closing ']' in section header {line!r}")
            name = line[1 : line.index("]")].strip()
            current = sections.setdefault(name, {})
            continue
        if current is None:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        # "key => value" is the same as "key = value" in Asterisk configs.
        current[key.strip().lower()] = value.lstrip(">").strip()
    return {
        name: User(
            name,
            options["secret"],
            parse_classes(options.get("read", "")),
            parse_classes(options.get("write", "")),
        )
        for name, options in sections.items()
        if name.lower() != "general" and "secret" in options
    }


def load_manager_conf(path: str | Path) -> dict[str, User]:
    """Read and parse a ``manager.conf`` file (``OSError`` if unreadable, else see ``parse_manager_conf``)."""
    return parse_manager_conf(Path(path).read_text(encoding="utf-8"), str(path))
