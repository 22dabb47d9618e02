"""Database and variable actions: the AstDB's family/key store, and global or channel variables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from ._registry import handler
from ._replies import aid

if TYPE_CHECKING:
    from .._session import Session

__all__ = ["MAX_DB_ENTRIES"]

MAX_DB_ENTRIES = 10_000
"""Keys the simulator's AstDB holds, for all clients together: one client must not grow
the shared server without limit. A new key past it is refused as a failed put."""


@handler("DBPut", privilege="system", summary="Put DB entry.")
def db_put(session: Session, action: ReceivedAction) -> None:
    # DBPut's errors, unlike its siblings', end without a full stop (main/db.c).
    where = _db_key(session, action, stop="")
    if where is not None:
        db = session.world.db
        if where not in db and len(db) >= MAX_DB_ENTRIES:
            session.error(action, "Failed to update entry")  # main/db.c's words for a failed put
            return
        # Asterisk reads the value from "Val"; a "Value" header is ignored.
        db[where] = action.get("Val") or ""
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


@handler(
    "DBGetTree", privilege="system,reporting", summary="Get DB entries, optionally at a particular family/key"
)
def db_get_tree(session: Session, action: ReceivedAction) -> None:
    # Both headers are optional; with neither the whole database is listed, ordered by path.
    prefix = _tree_prefix(action.get("Family"), action.get("Key"))
    rows = sorted(
        (f"/{where[0]}/{where[1]}", value)
        for where, value in session.world.db.items()
        if _in_tree(where, prefix)
    )
    items = [
        [("Event", "DBGetTreeResponse"), ("Key", path), ("Val", value), *aid(action)] for path, value in rows
    ]
    session.send_list(action, "Result will follow", items, "DBGetTreeComplete")


@handler("DBDelTree", privilege="system", summary="Delete DB Tree.")
def db_del_tree(session: Session, action: ReceivedAction) -> None:
    family = action.get("Family")
    if not family:
        session.error(action, "No family specified.")
        return
    prefix = _tree_prefix(family, action.get("Key"))
    db = session.world.db
    doomed = [where for where in db if _in_tree(where, prefix)]
    if not doomed:
        session.error(action, "Database entry not found")
        return
    for where in doomed:
        del db[where]
    session.reply(action, "Success", [("Message", "Key tree deleted successfully")])


@handler("Setvar", privilege="call", summary="Sets a channel variable or function value.")
def setvar(session: Session, action: ReceivedAction) -> None:
    name = action.get("Variable")
    if not name:
        session.error(action, "No variable specified")
        return
    done = session.world.pbx.setvar(action.get("Channel"), name, action.get("Value") or "")
    if done is None:
        session.error(action, "Failed to set variable")
        return
    if not done:
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


def _db_key(session: Session, action: ReceivedAction, stop: str = ".") -> tuple[str, str] | None:
    """The ``(Family, Key)`` asked for, or None after answering the error."""
    family, key = action.get("Family"), action.get("Key")
    if not family:
        session.error(action, f"No family specified{stop}")
        return None
    if not key:
        session.error(action, f"No key specified{stop}")
        return None
    return family, key


def _tree_prefix(family: str | None, key: str | None) -> str:
    """The AstDB path a tree action covers: ``/family/key``, ``/family`` or everything."""
    if family and key:
        return f"/{family}/{key}"
    return f"/{family}" if family else ""


def _in_tree(where: tuple[str, str], prefix: str) -> bool:
    # Asterisk matches whole path components: /fam covers /fam/k but not /family/k.
    path = f"/{where[0]}/{where[1]}"
    return not prefix or path == prefix or path.startswith(prefix + "/")
