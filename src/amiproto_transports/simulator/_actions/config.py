"""Config actions: read, create and update the files the simulator serves.

Created and updated files live in memory for as long as the simulator runs; the
answers follow the ``all_actions`` recording and main/manager.c (Asterisk 22).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from .._conffiles import lookup, served_name
from .._confparse import Category, ConfigSyntaxError, parse_config, select_categories
from ._registry import handler
from ._replies import Pairs, response

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []


@handler("ListCategories", privilege="config", summary="List categories in configuration file.")
def list_categories(session: Session, action: ReceivedAction) -> None:
    categories = _config_file(session, action)
    if categories is None:
        return
    selected = select_categories(categories, filter_text=action.get("Match") or "")
    pairs = [(f"Category-{index:06d}", cat.name) for index, cat in enumerate(selected)]
    if not selected:
        pairs = [("Error", "no categories found")]
    session.reply(action, "Success", pairs)


@handler("GetConfig", privilege="system,config", summary="Retrieve configuration.")
def get_config(session: Session, action: ReceivedAction) -> None:
    categories = _config_file(session, action)
    if categories is None:
        return
    wanted = action.get("Category") or ""
    selected = select_categories(categories, wanted, action.get("Filter") or "")
    pairs: Pairs = []
    for index, cat in enumerate(selected):
        pairs.append((f"Category-{index:06d}", cat.name))
        pairs += [
            (f"Line-{index:06d}-{line:06d}", f"{name}={value}")
            for line, (name, value) in enumerate(cat.variables)
        ]
    message = response(action, "Success", pairs)
    if wanted and not selected:
        # Asterisk writes this as a bare line, not a "name: value" header.
        message = message[:-2] + b"No categories found\r\n\r\n"
    session.answer([message])


def _config_file(session: Session, action: ReceivedAction) -> list[Category] | None:
    """The categories of the ``Filename`` asked for, or None after answering the error."""
    filename = action.get("Filename") or ""
    if not filename:
        session.error(action, "Filename not specified")
        return None
    text = lookup(session.world.config_files, filename)
    if text is None:
        session.error(action, "Config file not found")
        return None
    try:
        return parse_config(text)
    except ConfigSyntaxError:
        session.error(action, "Config file has invalid format")
        return None


@handler("GetConfigJSON", privilege="system,config", summary="Retrieve configuration (JSON format).")
def get_config_json(session: Session, action: ReceivedAction) -> None:
    categories = _config_file(session, action)
    if categories is None:
        return
    selected = select_categories(categories, action.get("Category") or "", action.get("Filter") or "")
    # manager.c writes this object by hand: a repeated name stays repeated, and only '"' and '\'
    # are escaped.
    body = ",".join(
        f'"{_json_escape(cat.name)}":{{'
        + ",".join(f'"{_json_escape(name)}":"{_json_escape(value)}"' for name, value in cat.variables)
        + "}"
        for cat in selected
    )
    session.reply(action, "Success", [("JSON", "{" + body + "}")])


def _json_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


@handler("CreateConfig", privilege="config", summary="Creates an empty file in the configuration directory.")
def create_config(session: Session, action: ReceivedAction) -> None:
    filename = action.get("Filename") or ""
    if not filename:
        session.error(action, "Filename not specified")
        return
    files = session.world.config_files
    name = served_name(filename)
    # Asterisk answers with strerror() of its open(O_CREAT | O_EXCL).
    if name is None:
        session.error(action, "No such file or directory")
    elif name in files:
        session.error(action, "File exists")
    elif len(files) >= MAX_CONFIG_FILES:
        session.error(action, "No space left on device")
    else:
        files[name] = ""
        session.reply(action, "Success", [("Message", "New configuration file created successfully")])


MAX_CONFIG_FILES = 100
"""Files the simulator serves at most; CreateConfig beyond it fails as on a full disk."""

MAX_CONFIG_SIZE = 1 << 20
"""Bytes one served file may grow to through UpdateConfig; more fails as Asterisk's save would."""

MAX_UPDATES = 100_000
"""Asterisk reads ``Action-000000`` to ``Action-099999`` at most."""


class _UpdateError(Exception):
    """One of handle_updates()'s failures; its message is manager.c's answer."""


@handler("UpdateConfig", privilege="config", summary="Update basic configuration.")
def update_config(session: Session, action: ReceivedAction) -> None:
    source, destination = action.get("SrcFilename") or "", action.get("DstFilename") or ""
    if not source or not destination:
        session.error(action, "Filename not specified")
        return
    files = session.world.config_files
    text = lookup(files, source)
    if text is None:
        session.error(action, "Config file not found")
        return
    try:
        categories = parse_config(text)
    except ConfigSyntaxError:
        session.error(action, "Config file has invalid format")
        return
    try:
        _apply_updates(action, categories)
    except _UpdateError as problem:
        # Nothing is saved: the changes were made on the loaded copy only.
        session.error(action, str(problem))
        return
    name = served_name(destination)
    new_text = "".join(
        f"[{cat.name}]\n" + "".join(f"{var} = {value}\n" for var, value in cat.variables) + "\n"
        for cat in categories
    )
    if (
        name is None
        or len(new_text) > MAX_CONFIG_SIZE
        or (name not in files and len(files) >= MAX_CONFIG_FILES)
    ):
        session.error(action, "Save of config failed")
        return
    files[name] = new_text
    # Asterisk acknowledges with no Message at all.
    session.reply(action, "Success", [])


def _apply_updates(action: ReceivedAction, categories: list[Category]) -> None:
    """Apply each ``Action-NNNNNN`` with its ``Cat``, ``Var``, ``Value``, ``Match`` and ``Line``."""
    for index in range(MAX_UPDATES):
        suffix = f"-{index:06d}"
        verb = (action.get("Action" + suffix) or "").lower()
        if not verb:
            return
        cat_name = action.get("Cat" + suffix) or ""
        var = action.get("Var" + suffix) or ""
        value = action.get("Value" + suffix) or ""
        match = action.get("Match" + suffix) or ""
        line = action.get("Line" + suffix) or ""
        if not cat_name:
            raise _UpdateError("Category not specified")
        if verb == "newcat":
            categories.append(Category(cat_name))
            continue
        if verb not in ("renamecat", "delcat", "emptycat", "update", "delete", "append", "insert"):
            raise _UpdateError("Unknown action command")
        needs_argument = {
            "renamecat": not value,
            "update": not var,
            "delete": not var and not line,
            "append": not var,
            "insert": not var or not line,
        }
        if needs_argument.get(verb, False):
            raise _UpdateError("Problem with category, value, or line (if required)")
        category = next((cat for cat in categories if cat.name.lower() == cat_name.lower()), None)
        if category is None:
            raise _UpdateError("Given category does not exist")
        if verb == "renamecat":
            category.name = value
        elif verb == "delcat":
            categories.remove(category)
        elif verb == "emptycat":
            category.variables.clear()
        elif verb == "append":
            category.variables.append((var, value))
        elif verb == "insert":
            position = _scan_index(line)
            category.variables.insert(max(position, 0), (var, value))
        elif verb == "update":
            _update_variable(category, var, value, match)
        else:
            _delete_variable(category, var, match, line)


def _update_variable(category: Category, var: str, value: str, match: str) -> None:
    for index, (name, old) in enumerate(category.variables):
        if name.lower() == var.lower() and (not match or old == match):
            category.variables[index] = (name, value)
            return
    raise _UpdateError("Update did not complete successfully")


def _delete_variable(category: Category, var: str, match: str, line: str) -> None:
    for index, (name, old) in enumerate(category.variables):
        by_line = bool(line) and _scan_index(line) == index
        if by_line or (name.lower() == var.lower() and (not match or old == match)):
            del category.variables[index]
            return
    raise _UpdateError("Delete did not complete successfully")


def _scan_index(text: str) -> int:
    """``atoi()``: the leading integer, 0 without one."""
    body = text.strip()
    sign = -1 if body.startswith("-") else 1
    digits = body.lstrip("+-")
    count = 0
    while count < len(digits) and digits[count].isdigit():
        count += 1
    return sign * int(digits[:count]) if count else 0
