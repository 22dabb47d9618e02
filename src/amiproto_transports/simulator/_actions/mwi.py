"""External MWI actions (``res/res_mwi_external_ami.c``): mailboxes whose counts a program sets.

No recording shows them; the answers follow res_mwi_external_ami.c (Asterisk
22), whose ``load_module`` registers MWIGet with ``call,reporting`` and
MWIDelete and MWIUpdate with ``call``. The mailboxes live in the world
(``World.mwi_mailboxes``), none at start. An update publishes the mailbox's MWI
state: a MessageWaiting event without channel fields (main/manager_mwi.c) and,
through res_mwi_devstate.c, the ``MWI:<mailbox>`` device state (INUSE while new
messages wait), whose DeviceStateChange follows only a change.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from amiproto import ReceivedAction, format_message

from .._events import make_event
from .._filters import compile_pattern
from ._registry import handler
from ._replies import Pairs, aid, response

if TYPE_CHECKING:
    from .._session import Session

__all__ = ["MAX_MWI_MAILBOXES"]

MAX_MWI_MAILBOXES = 10_000
"""Mailboxes MWIUpdate may create; past it a new one is refused with "Update attempt failed"
(Asterisk's answer when storing a mailbox fails). Updating an existing one always works."""

# What sscanf("%u") accepts: blanks, a sign (a minus wraps around), digits; anything may follow.
_C_UNSIGNED = re.compile(r"\s*([+-]?\d+)")


def _count(text: str) -> int | None:
    match = _C_UNSIGNED.match(text)
    return None if match is None else int(match[1]) % 2**32


def _selected(session: Session, action: ReceivedAction, *, missing_is_error: bool) -> list[str] | None:
    """The mailbox ids ``Mailbox`` names (``/regex/`` or one id), or None after answering an error."""
    mailbox = action.get("Mailbox")
    if not mailbox:
        session.error(action, "Missing mailbox parameter in request")
        return None
    boxes = session.world.mwi_mailboxes
    if not mailbox.startswith("/"):
        return [mailbox] if mailbox in boxes else []
    if len(mailbox) < 2 or not mailbox.endswith("/"):
        session.error(action, f"Mailbox regex format invalid in: {mailbox}")
        return None
    try:
        # Sorcery's regcomp() search: unanchored. In linear time, and metered: one client's
        # pattern (such as "(a+)+$" or "a.{900}Z") must not stall the server's one thread.
        pattern = compile_pattern(mailbox[1:-1])
        # Sorcery's memory store has no order of its own; the simulator sorts by id.
        return sorted(pattern.select(boxes))
    except ValueError:
        # MWIGet gets no container back; MWIDelete deletes nothing and acknowledges.
        if missing_is_error:
            session.error(action, "Mailbox container creation failure")
            return None
        return []


@handler("MWIGet", privilege="call,reporting", summary="Get selected mailboxes with message counts.")
def mwi_get(session: Session, action: ReceivedAction) -> None:
    names = _selected(session, action, missing_is_error=True)
    if names is None:
        return
    boxes = session.world.mwi_mailboxes
    # res_mwi_external_ami.c writes these by hand: the ActionID comes last.
    messages = [response(action, "Success", [("EventList", "start"), ("Message", "Mailboxes will follow")])]
    for name in names:
        old, new = boxes[name]
        item: Pairs = [("Event", "MWIGet"), ("Mailbox", name), ("OldMessages", str(old))]
        messages.append(format_message([*item, ("NewMessages", str(new)), *aid(action)]))
    tail: Pairs = [("Event", "MWIGetComplete"), ("EventList", "Complete"), ("ListItems", str(len(names)))]
    messages.append(format_message([*tail, *aid(action)]))
    session.answer(messages, is_list=True)


@handler("MWIDelete", privilege="call", summary="Delete selected mailboxes.")
def mwi_delete(session: Session, action: ReceivedAction) -> None:
    names = _selected(session, action, missing_is_error=False)
    if names is None:
        return
    for name in names:
        # Deleting clears the cached MWI state: no event follows. Its device state goes too,
        # or a client creating and deleting mailboxes would grow the device list for ever.
        del session.world.mwi_mailboxes[name]
        session.world.device_states.pop(f"MWI:{name}", None)
    session.reply(action, "Success", [])


@handler("MWIUpdate", privilege="call", summary="Update the mailbox message counts.")
def mwi_update(session: Session, action: ReceivedAction) -> None:
    mailbox = action.get("Mailbox")
    if not mailbox:
        session.error(action, "Missing mailbox parameter in request")
        return
    counts: list[int] = []
    for header in ("OldMessages", "NewMessages"):
        text = action.get(header) or ""
        count = _count(text) if text else 0
        if count is None:
            session.error(action, f"Invalid {header}: {text}")
            return
        counts.append(count)
    old, new = counts
    world = session.world
    if mailbox not in world.mwi_mailboxes and len(world.mwi_mailboxes) >= MAX_MWI_MAILBOXES:
        session.error(action, "Update attempt failed")
        return
    world.mwi_mailboxes[mailbox] = (old, new)
    session.reply(action, "Success", [])
    # manager_mwi.c takes "Waiting" from ast_app_has_voicemail(), which asks app_voicemail,
    # not these counts: its spool holds no message, so 0 whatever the update said.
    waiting = [("Mailbox", mailbox), ("Waiting", "0"), ("New", str(new)), ("Old", str(old))]
    world.emit(make_event("MessageWaiting", "call,all", waiting))
    device, state = f"MWI:{mailbox}", "INUSE" if new else "NOT_INUSE"
    if world.device_states.get(device) != state:
        world.device_states[device] = state
        world.emit(make_event("DeviceStateChange", "call,all", [("Device", device), ("State", state)]))
