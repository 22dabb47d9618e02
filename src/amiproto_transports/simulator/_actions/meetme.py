"""MeetMe actions (``apps/app_meetme.c``) of a PBX with app_meetme loaded and no conference running.

No recording shows them; the answers follow app_meetme.c (Asterisk 22), whose
``load_module`` registers MeetmeMute and MeetmeUnmute with ``call`` and the two
lists with ``reporting``. With no conference, both lists answer an error rather
than an empty list, as app_meetme.c does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from ._registry import handler

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []

# What strtoul() reads of a user number; meetmemute() refuses anything left after it.
_USER_NUMBER = re.compile(r"\s*[+-]?\d+")


@handler("MeetmeMute", privilege="call", summary="Mute a Meetme user.")
def mute(session: Session, action: ReceivedAction) -> None:
    _mute(session, action)


@handler("MeetmeUnmute", privilege="call", summary="Unmute a Meetme user.")
def unmute(session: Session, action: ReceivedAction) -> None:
    _mute(session, action)


def _mute(session: Session, action: ReceivedAction) -> None:
    user = action.get("Usernum")
    if not action.get("Meetme"):
        session.error(action, "Meetme conference not specified")
    elif not user:
        session.error(action, "Meetme user number not specified")
    elif _USER_NUMBER.fullmatch(user) is None:
        session.error(action, "Invalid user number")
    else:
        session.error(action, "Meetme conference does not exist")


@handler("MeetmeList", privilege="reporting", summary="List participants in a conference.")
def list_users(session: Session, action: ReceivedAction) -> None:
    session.error(action, "No active conferences.")


@handler("MeetmeListRooms", privilege="reporting", summary="List active conferences.")
def list_rooms(session: Session, action: ReceivedAction) -> None:
    session.error(action, "No active conferences.")
