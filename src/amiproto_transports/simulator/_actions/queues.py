"""Queue actions: the recorded server's queues and members (``_queues.py``), as app_queue answers.

Messages and checks follow the ``all_actions`` recording; where it shows only one
branch, the others are app_queue.c's (Asterisk 22), as the comments say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from .._queues import DEVICE_INVALID, DEVICE_UNAVAILABLE, MAX_MEMBERS, Member, Queue, listing_order
from ._registry import handler
from ._replies import Pairs, aid, message_with_newline, response

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []

_TRUE = frozenset({"yes", "true", "y", "t", "1", "on"})
_FALSE = frozenset({"no", "false", "n", "f", "0", "off"})


@handler("QueueStatus", privilege=None, summary="Show queue status.")
def queue_status(session: Session, action: ReceivedAction) -> None:
    wanted, member_filter = action.get("Queue") or "", action.get("Member") or ""
    world = session.world
    items: list[Pairs] = []
    for queue in world.queues.queues.values():
        if wanted and wanted != queue.name:
            continue
        completed = queue.completed
        # Every completed call counts as within the service level here: the simulator's callers never wait.
        level = 100.0 if completed else 0.0
        level2 = 100.0 if completed + queue.abandoned else 0.0
        items.append(
            [
                ("Event", "QueueParams"),
                ("Queue", queue.name),
                ("Max", "0"),
                ("Strategy", queue.strategy),
                ("Calls", str(_callers(session, queue.name))),
                ("Holdtime", "0"),
                ("TalkTime", "0"),
                ("Completed", str(completed)),
                ("Abandoned", str(queue.abandoned)),
                ("ServiceLevel", "0"),
                ("ServicelevelPerf", f"{level:.1f}"),
                ("ServicelevelPerf2", f"{level2:.1f}"),
                ("Weight", "0"),
                *aid(action),
            ]
        )
        for member in listing_order(queue):
            if member_filter and member_filter not in (member.name, member.interface):
                continue
            items.append(
                [
                    ("Event", "QueueMember"),
                    ("Queue", queue.name),
                    ("Name", member.name),
                    ("Location", member.interface),
                    ("StateInterface", member.state_interface),
                    ("Membership", "dynamic" if member.dynamic else "static"),
                    ("Penalty", str(member.penalty)),
                    ("CallsTaken", str(member.calls_taken)),
                    ("LastCall", str(member.last_call)),
                    ("LastPause", str(member.last_pause)),
                    ("LoginTime", str(member.login_time)),
                    ("InCall", "1" if member.in_call else "0"),
                    ("Status", str(world.device_status(member.state_interface))),
                    ("Paused", "1" if member.paused else "0"),
                    ("PausedReason", member.paused_reason),
                    ("Wrapuptime", str(member.wrapuptime)),
                    *aid(action),
                ]
            )
    session.send_list(action, "Queue status will follow", items, "QueueStatusComplete")


@handler("QueueSummary", privilege=None, summary="Show queue summary.")
def queue_summary(session: Session, action: ReceivedAction) -> None:
    wanted = action.get("Queue") or ""
    items: list[Pairs] = []
    for queue in session.world.queues.queues.values():
        if wanted and wanted != queue.name:
            continue
        logged_in = available = 0
        for member in queue.members:
            status = session.world.device_status(member.state_interface)
            # app_queue counts a member logged in unless its device is invalid or unavailable,
            # and available when it is also idle (not in use, or unknown) and not paused.
            if status not in (DEVICE_INVALID, DEVICE_UNAVAILABLE):
                logged_in += 1
                if status in (0, 1) and not member.paused:
                    available += 1
        items.append(
            [
                ("Event", "QueueSummary"),
                ("Queue", queue.name),
                ("LoggedIn", str(logged_in)),
                ("Available", str(available)),
                ("Callers", str(_callers(session, queue.name))),
                ("HoldTime", "0"),
                ("TalkTime", "0"),
                ("LongestHoldTime", "0"),
                *aid(action),
            ]
        )
    session.send_list(action, "Queue summary will follow", items, "QueueSummaryComplete")


@handler("QueueAdd", privilege="agent", summary="Add interface to queue.")
def queue_add(session: Session, action: ReceivedAction) -> None:
    name, interface = action.get("Queue"), action.get("Interface")
    if not name:
        session.error(action, "'Queue' not specified.")
        return
    if not interface:
        session.error(action, "'Interface' not specified.")
        return
    queues = session.world.queues
    queue = queues.get(name)
    if queue is None:
        session.error(action, "Unable to add interface to queue: No such queue")
        return
    if queue.member(interface) is not None:
        session.error(action, "Unable to add interface: Already there")
        return
    if len(queue.members) >= MAX_MEMBERS:
        session.error(action, "Out of memory")
        return
    now = int(session.world.wall(session.now))
    paused = _is_true(action.get("Paused"))
    penalty = _scan_int(action.get("Penalty") or "")
    member = Member(
        interface,
        action.get("MemberName") or interface,
        action.get("StateInterface") or interface,
        now,
        True,
        penalty=penalty if penalty is not None and penalty >= 0 else 0,
        paused=paused,
        paused_reason=(action.get("Reason") or "") if paused else "",
        last_pause=now if paused else 0,
        wrapuptime=max(_scan_int(action.get("Wrapuptime") or "") or 0, 0),
    )
    queue.members.append(member)
    session.reply(action, "Success", [("Message", "Added interface to queue")])
    queues.pause_device(queue, member, paused=paused)
    queues.member_event("QueueMemberAdded", queue, member)


@handler("QueueRemove", privilege="agent", summary="Remove interface from queue.")
def queue_remove(session: Session, action: ReceivedAction) -> None:
    name, interface = action.get("Queue"), action.get("Interface")
    if not name or not interface:
        session.error(action, "Need 'Queue' and 'Interface' parameters.")
        return
    queues = session.world.queues
    queue = queues.get(name)
    if queue is None:
        session.error(action, "Unable to remove interface from queue: No such queue")
        return
    member = queue.member(interface)
    if member is None:
        session.error(action, "Unable to remove interface: Not there")
        return
    if not member.dynamic:
        session.error(action, "Member not dynamic")
        return
    queue.members.remove(member)
    session.reply(action, "Success", [("Message", "Removed interface from queue")])
    queues.member_event("QueueMemberRemoved", queue, member)
    queues.pause_device(queue, member, paused=False)


@handler("QueuePause", privilege="agent", summary="Makes a queue member temporarily unavailable.")
def queue_pause(session: Session, action: ReceivedAction) -> None:
    interface, paused_text = action.get("Interface"), action.get("Paused")
    if not interface or not paused_text:
        session.error(action, "Need 'Interface' and 'Paused' parameters.")
        return
    paused = _is_true(paused_text)
    reason = action.get("Reason") or ""
    found = _members(session, action.get("Queue") or "", interface)
    if not found:
        session.error(action, "Interface not found")
        return
    now = int(session.world.wall(session.now))
    message = "Interface paused successfully" if paused else "Interface unpaused successfully"
    session.reply(action, "Success", [("Message", message)])
    queues = session.world.queues
    for queue, member in found:
        member.paused, member.paused_reason = paused, reason if paused else ""
        member.last_pause = now if paused else member.last_pause
        queues.pause_device(queue, member, paused=paused)
        queues.member_event("QueueMemberPause", queue, member)


@handler("QueuePenalty", privilege="agent", summary="Set the penalty for a queue member.")
def queue_penalty(session: Session, action: ReceivedAction) -> None:
    interface, penalty_text = action.get("Interface"), action.get("Penalty")
    if not interface or not penalty_text:
        session.error(action, "Need 'Interface' and 'Penalty' parameters.")
        return
    penalty = _scan_int(penalty_text) or 0  # atoi()
    found = _members(session, action.get("Queue") or "", interface)
    if penalty < 0 or not found:
        session.error(action, "Invalid interface, queuename or penalty")
        return
    session.reply(action, "Success", [("Message", "Interface penalty set successfully")])
    for queue, member in found:
        member.penalty = penalty
        session.world.queues.member_event("QueueMemberPenalty", queue, member)


@handler("QueueMemberRingInUse", privilege="agent", summary="Set the ringinuse value for a queue member.")
def queue_member_ring_in_use(session: Session, action: ReceivedAction) -> None:
    interface, text = action.get("Interface"), action.get("RingInUse")
    if not interface or not text:
        session.error(action, "Need 'Interface' and 'RingInUse' parameters.")
        return
    value = text.strip().lower()
    if value not in _TRUE and value not in _FALSE:
        # app_queue.c's wording.
        session.error(action, "'RingInUse' parameter must be a truth value (yes/no, on/off, 0/1)")
        return
    found = _members(session, action.get("Queue") or "", interface)
    if not found:
        # app_queue.c ends this message with a newline of its own.
        session.answer(
            [message_with_newline(action, "Error", "Invalid interface, queuename, or ringinuse value")]
        )
        return
    session.reply(action, "Success", [("Message", "Interface ringinuse set successfully")])
    for queue, member in found:
        member.ringinuse = value in _TRUE
        session.world.queues.member_event("QueueMemberRinginuse", queue, member)


@handler("QueueLog", privilege="agent", summary="Adds custom entry in queue_log.")
def queue_log(session: Session, action: ReceivedAction) -> None:
    if not action.get("Queue") or not action.get("Event"):
        session.error(action, "Need 'Queue' and 'Event' parameters.")
        return
    # The simulator keeps no queue_log file; Asterisk acknowledges the same way.
    session.reply(action, "Success", [("Message", "Event added successfully")])


@handler("QueueReset", privilege=None, summary="Reset queue statistics.")
def queue_reset(session: Session, action: ReceivedAction) -> None:
    wanted = action.get("Queue") or ""
    for queue in session.world.queues.queues.values():
        if not wanted or wanted == queue.name:
            queue.completed = queue.abandoned = 0
            for member in queue.members:
                member.calls_taken = member.last_call = 0
    session.reply(action, "Success", [("Message", "Queue stats reset successfully")])


@handler(
    "QueueReload",
    privilege=None,
    summary="Reload a queue, queues, or any sub-section of a queue or queues.",
)
def queue_reload(session: Session, action: ReceivedAction) -> None:
    # The simulator's queues.conf never changes, so reloading it keeps what is there.
    session.reply(action, "Success", [("Message", "Queue reloaded successfully")])


@handler("QueueRule", privilege=None, summary="Queue Rules.")
def queue_rule(session: Session, action: ReceivedAction) -> None:
    # The recorded server has no queuerules.conf: no RuleList lines, and app_queue ends
    # the answer with an extra empty line of its own.
    session.answer([response(action, "Success", [])[:-2] + b"\r\n\r\n"])


def _queue_and_caller(session: Session, action: ReceivedAction) -> tuple[str, str] | None:
    """The Queue and Caller headers both caller actions need, or None after app_queue's error."""
    name = action.get("Queue")
    if not name:
        session.error(action, "'Queue' not specified.")
        return None
    caller = action.get("Caller")
    if not caller:
        session.error(action, "'Caller' not specified.")
        return None
    return name, caller


@handler("QueueChangePriorityCaller", privilege=None, summary="Change priority of a caller on queue.")
def queue_change_priority_caller(session: Session, action: ReceivedAction) -> None:
    named = _queue_and_caller(session, action)
    if named is None:
        return
    name, caller = named
    priority_text = action.get("Priority")
    if not priority_text:
        session.error(action, "'Priority' not specified.")
        return
    if _scan_int(priority_text) is None:
        session.error(action, "'Priority' need integer.")
        return
    problem = _caller_problem(session, name, caller)
    if problem:
        session.error(action, f"Unable to change priority caller on queue: {problem}")
        return
    # One caller at a time waits in the simulator's queue, so its position cannot change.
    session.reply(action, "Success", [("Message", "Priority change for caller on queue")])


@handler(
    "QueueWithdrawCaller",
    privilege=None,
    summary="Request to withdraw a caller from the queue back to the dialplan.",
)
def queue_withdraw_caller(session: Session, action: ReceivedAction) -> None:
    named = _queue_and_caller(session, action)
    if named is None:
        return
    name, caller = named
    problem = _caller_problem(session, name, caller)
    if problem:
        session.error(action, f"Unable to request withdraw from queue: {problem}")
        return
    # Accepted as app_queue accepts it; the simulated caller leaves when its call script ends.
    session.reply(action, "Success", [("Message", "Withdraw requested successfully")])


def _caller_problem(session: Session, name: str, caller: str) -> str:
    if session.world.queues.get(name) is None:
        return "No such queue"
    waiting = session.world.pbx.channels.get(caller)
    if waiting is None or waiting.application != "Queue":
        return "No such caller"
    return ""


def _members(session: Session, name: str, interface: str) -> list[tuple[Queue, Member]]:
    """The member ``interface`` of queue ``name``, or of every queue when no name is given."""
    found = []
    for queue in session.world.queues.queues.values():
        if name and name != queue.name:
            continue
        member = queue.member(interface)
        if member is not None:
            found.append((queue, member))
    return found


def _callers(session: Session, name: str) -> int:
    """Calls waiting in the queue: channels running the Queue application on it."""
    return sum(
        1
        for chan in session.world.pbx.channels.values()
        if chan.application == "Queue" and chan.app_data.split(",", 1)[0] == name
    )


def _is_true(text: str | None) -> bool:
    return (text or "").strip().lower() in _TRUE


def _scan_int(text: str) -> int | None:
    """What C's ``sscanf(text, "%d")`` reads, or None without a digit."""
    body = text.lstrip()
    sign = body[:1] if body[:1] in ("+", "-") else ""
    digits = body[len(sign) :]
    count = 0
    while count < len(digits) and "0" <= digits[count] <= "9":
        count += 1
    return int(sign + digits[:count]) if count else None
