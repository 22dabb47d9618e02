"""Dialplan actions: add and remove extensions in the dialplan ShowDialPlan reports.

Messages follow the ``all_actions`` recording and, where it shows one branch
only, pbx/pbx_config.c (Asterisk 22). The calls the simulator plays keep
following the recorded extensions.conf; added extensions are listed, not run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from ._registry import handler

if TYPE_CHECKING:
    from .._session import Session

__all__ = ["HINT"]

HINT = -1
"""The priority Asterisk gives an extension's hint."""

MAX_PRIORITIES = 10_000
"""Priorities the simulated dialplan holds at most; adding more fails as on ENOMEM."""

_TRUE = frozenset({"yes", "true", "y", "t", "1", "on"})


@handler("DialplanExtensionAdd", privilege="system", summary="Add an extension to the dialplan")
def dialplan_extension_add(session: Session, action: ReceivedAction) -> None:
    context, exten = action.get("Context") or "", action.get("Extension") or ""
    priority_text, application = action.get("Priority") or "", action.get("Application") or ""
    if not context or not exten or not priority_text or not application:
        session.error(
            action, "Context, Extension, Priority, and Application must be defined for DialplanExtensionAdd."
        )
        return
    priority = HINT if priority_text == "hint" else _scan_int(priority_text)
    if priority is None or priority < HINT:
        session.error(action, "The priority specified was invalid.")
        return
    dialplan = session.world.dialplan
    if sum(len(steps) for extens in dialplan.values() for steps in extens.values()) >= MAX_PRIORITIES:
        session.error(action, "Out of Memory")
        return
    # A caller-ID match after '/' is not modelled: the whole text names the extension.
    steps = dialplan.setdefault(context, {}).setdefault(exten, {})
    replace = (action.get("Replace") or "").strip().lower() in _TRUE
    if priority in steps and not replace:
        session.error(action, "That extension and priority already exist at that context")
        return
    steps[priority] = (application, action.get("ApplicationData") or "")
    session.reply(action, "Success", [("Message", "Added requested extension")])


@handler("DialplanExtensionRemove", privilege="system", summary="Remove an extension from the dialplan")
def dialplan_extension_remove(session: Session, action: ReceivedAction) -> None:
    context, exten = action.get("Context") or "", action.get("Extension") or ""
    if not context or not exten:
        session.error(action, "Context and Extension must be provided for DialplanExtensionRemove")
        return
    priority_text = action.get("Priority") or ""
    priority = 0  # the whole extension
    if priority_text:
        scanned = HINT if priority_text == "hint" else _scan_int(priority_text)
        if scanned is None or scanned == 0 or scanned < HINT:
            session.error(action, "Invalid priority provided for DialplanExtensionRemove")
            return
        priority = scanned
    extens = session.world.dialplan.get(context, {})
    steps = extens.get(exten)
    if steps is None or (priority and priority not in steps):
        session.error(action, "Failed to remove requested extension")
        return
    if priority:
        del steps[priority]
        if not steps:
            del extens[exten]
        session.reply(action, "Success", [("Message", "Removed the requested priority from the extension")])
    else:
        del extens[exten]
        session.reply(action, "Success", [("Message", "Removed the requested extension")])


def _scan_int(text: str) -> int | None:
    """What C's ``sscanf(text, "%d")`` reads, or None without a digit."""
    body = text.lstrip()
    sign = body[:1] if body[:1] in ("+", "-") else ""
    digits = body[len(sign) :]
    count = 0
    while count < len(digits) and "0" <= digits[count] <= "9":
        count += 1
    return int(sign + digits[:count]) if count else None
