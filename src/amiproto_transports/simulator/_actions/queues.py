"""Queue actions: the one recorded queue, ``support``, with its one static member."""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from .._calls import QUEUE_MEMBER
from ._registry import handler
from ._replies import Pairs, aid

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []


@handler("QueueStatus", privilege=None, summary="Show queue status.")
def queue_status(session: Session, action: ReceivedAction) -> None:
    world = session.world
    params: Pairs = [
        ("Event", "QueueParams"),
        ("Queue", "support"),
        ("Max", "0"),
        ("Strategy", "ringall"),
        ("Calls", str(_callers(session))),
        ("Holdtime", "0"),
        ("TalkTime", "0"),
        ("Completed", "0"),
        ("Abandoned", "0"),
        ("ServiceLevel", "0"),
        ("ServicelevelPerf", "100.0"),
        ("ServicelevelPerf2", "100.0"),
        ("Weight", "0"),
        *aid(action),
    ]
    member: Pairs = [
        ("Event", "QueueMember"),
        ("Queue", "support"),
        ("Name", QUEUE_MEMBER),
        ("Location", QUEUE_MEMBER),
        ("StateInterface", QUEUE_MEMBER),
        ("Membership", "static"),
        ("Penalty", "0"),
        ("CallsTaken", "0"),
        ("LastCall", "0"),
        ("LastPause", "0"),
        ("LoginTime", str(int(world.wall(world.start)))),
        ("InCall", "0"),
        ("Status", "1"),
        ("Paused", "0"),
        ("PausedReason", ""),
        ("Wrapuptime", "0"),
        *aid(action),
    ]
    session.send_list(action, "Queue status will follow", [params, member], "QueueStatusComplete")


@handler("QueueSummary", privilege=None, summary="Show queue summary.")
def queue_summary(session: Session, action: ReceivedAction) -> None:
    item: Pairs = [
        ("Event", "QueueSummary"),
        ("Queue", "support"),
        ("LoggedIn", "1"),
        ("Available", "1"),
        ("Callers", str(_callers(session))),
        ("HoldTime", "0"),
        ("TalkTime", "0"),
        ("LongestHoldTime", "0"),
        *aid(action),
    ]
    session.send_list(action, "Queue summary will follow", [item], "QueueSummaryComplete")


def _callers(session: Session) -> int:
    """Calls waiting in the queue: channels running the Queue application."""
    return sum(1 for chan in session.world.pbx.channels.values() if chan.application == "Queue")
