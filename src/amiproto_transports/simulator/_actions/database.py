"""Database and variable actions: the AstDB's family/key store, and global or channel variables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from ._registry import handler
from ._replies import aid

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []


@handler("DBPut", privilege="system", summary="Put DB entry.")
def db_put(session: Session, action: ReceivedAction) -> None:
    where = _db_key(session, action)
    if where is not None:
        # Asterisk reads the value from "Val"; a "Value" header is ignored.
        session.world.db[where] = action.get("Val") or ""
        session.reply(action, "Success", [("Message", "Updated database successfully")])


@handler("DBGet", privilege="system,reporting", summary="Get DB Entry.")
def db_get(session: Session, action: ReceivedAction) -> None:
    where = _db_key(session, action)
    if where is None:
        return
    value = session.world.db.get(where)
    if value is None:
        session.error(action, "Database entry not found")
        return
    item = [("Event", "DBGetResponse"), ("Family", where[0]), ("Key", where[1]), ("Val", value), *aid(action)]
    session.send_list(action, "Result will follow", [item], "DBGetComplete")


@handler("DBDel", privilege="system", summary="Delete DB entry.")
def db_del(session: Session, action: ReceivedAction) -> None:
    where = _db_key(session, action)
    if where is None:
        return
    if session.world.db.pop(where, None) is None:
        session.error(action, "Database entry not found")
        return
    session.reply(action, "Success", [("Message", "Key deleted successfully")])


@handler("Setvar", privilege="call", summary="Sets a channel variable or function value.")
def setvar(session: Session, action: ReceivedAction) -> None:
    name = action.get("Variable")
    if not name:
        session.error(action, "No variable specified")
        return
    if not session.world.pbx.setvar(action.get("Channel"), name, action.get("Value") or ""):
        session.error(action, "No such channel")
        return
    session.reply(action, "Success", [("Message", "Variable Set")])


@handler("Getvar", privilege="call,reporting", summary="Gets a channel variable or function value.")
def getvar(session: Session, action: ReceivedAction) -> None:
    name = action.get("Variable")
    if not name:
        session.error(action, "No variable specified")
        return
    value = session.world.pbx.getvar(action.get("Channel"), name)
    if value is None:
        session.error(action, "No such channel")
        return
    session.reply(action, "Success", [("Variable", name), ("Value", value)])


def _db_key(session: Session, action: ReceivedAction) -> tuple[str, str] | None:
    """The ``(Family, Key)`` asked for, or None after answering the error."""
    family, key = action.get("Family"), action.get("Key")
    if not family:
        session.error(action, "No family specified.")
        return None
    if not key:
        session.error(action, "No key specified.")
        return None
    return family, key
