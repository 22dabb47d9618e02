"""Config actions: read the files the simulator serves (its manager.conf and the recorded dialplan)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from .._conffiles import lookup
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
