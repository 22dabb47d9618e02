"""Queue actions answer as the recorded Asterisk 22 did and change what QueueStatus and QueueSummary say."""

from __future__ import annotations

from typing import Any

import pytest

from ..conftest import RECORDINGS, needs_shared
from .recorded_answers import assert_replays, logged_in, replay
from .test_session import Harness

pytestmark = needs_shared(RECORDINGS / "all_actions.jsonl")

# The recording's order: a paused member added to support, paused again, its penalty and
# ringinuse changed, the queue listed, the member removed, then the other queue actions;
# later each action again without a required header.
SEQUENCE = [f"a-{n}" for n in (62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, *range(184, 192))]


def test_the_recorded_queue_actions_get_the_recorded_answers() -> None:
    assert_replays(logged_in(), SEQUENCE)


def test_queue_rule_ends_with_the_extra_empty_line() -> None:
    got, expected = replay(logged_in(), "a-70")
    assert got.response_raw == expected.response_raw == b"Response: Success\r\nActionID: a-70\r\n\r\n"


def _members(harness: Harness) -> dict[str, dict[str, str]]:
    reply = harness.action("QueueStatus", Queue="support")
    return {event.get("Name"): _fields(event) for event in reply.events if event.name == "QueueMember"}


def _fields(event: Any) -> dict[str, str]:
    names = ("Membership", "Penalty", "Status", "Paused", "PausedReason", "CallsTaken")
    return {name: event.get(name) for name in names}


def _summary(harness: Harness) -> tuple[str, str]:
    reply = harness.action("QueueSummary")
    (item,) = [event for event in reply.events if event.name == "QueueSummary"]
    return item.get("LoggedIn"), item.get("Available")


def test_members_added_paused_and_removed_show_in_status_and_summary() -> None:
    h = logged_in()
    assert list(_members(h)) == ["Local/wait@default"]
    assert _summary(h) == ("1", "1")
    echo = {"Queue": "support", "Interface": "Local/echo@default"}
    added = h.action("QueueAdd", [*echo.items(), ("MemberName", "echo"), ("Penalty", "3")])
    assert added.response.message == "Added interface to queue"
    assert h.events("QueueMemberAdded")[-1].get("Paused") == "0"
    member = _members(h)["echo"]
    assert [member[name] for name in ("Membership", "Penalty", "Status", "Paused")] == [
        "dynamic",
        "3",
        "1",
        "0",
    ]
    assert _summary(h) == ("2", "2")

    h.action("QueuePause", Interface="Local/echo@default", Paused="yes", Reason="lunch")
    assert (_members(h)["echo"]["Paused"], _members(h)["echo"]["PausedReason"]) == ("1", "lunch")
    assert _summary(h) == ("2", "1")
    assert h.events("DeviceStateChange")[-1].get("State") == "INUSE"
    unpaused = h.action("QueuePause", Interface="Local/echo@default", Paused="no")
    assert unpaused.response.message == "Interface unpaused successfully"
    assert _summary(h) == ("2", "2")

    h.action("QueuePenalty", Interface="Local/echo@default", Penalty="7")
    assert _members(h)["echo"]["Penalty"] == "7"
    h.action("QueueRemove", list(echo.items()))
    assert list(_members(h)) == ["Local/wait@default"]
    assert h.events("QueueMemberRemoved")[-1].get("MemberName") == "echo"


@pytest.mark.parametrize(
    ("action", "headers", "message"),
    [
        (
            "QueueAdd",
            {"Queue": "nope", "Interface": "Local/x@default"},
            "Unable to add interface to queue: No such queue",
        ),
        (
            "QueueAdd",
            {"Queue": "support", "Interface": "Local/wait@default"},
            "Unable to add interface: Already there",
        ),
        ("QueueRemove", {"Queue": "support", "Interface": "Local/wait@default"}, "Member not dynamic"),
        (
            "QueueRemove",
            {"Queue": "support", "Interface": "Local/x@default"},
            "Unable to remove interface: Not there",
        ),
        ("QueuePause", {"Interface": "Local/x@default", "Paused": "1"}, "Interface not found"),
        (
            "QueuePenalty",
            {"Interface": "Local/wait@default", "Penalty": "-1"},
            "Invalid interface, queuename or penalty",
        ),
        (
            "QueueMemberRingInUse",
            {"Interface": "Local/wait@default", "RingInUse": "maybe"},
            "'RingInUse' parameter must be a truth value (yes/no, on/off, 0/1)",
        ),
        (
            "QueueWithdrawCaller",
            {"Queue": "nope", "Caller": "Local/x@default-00000000;2"},
            "Unable to request withdraw from queue: No such queue",
        ),
    ],
)
def test_refusals_follow_app_queue(action: str, headers: dict[str, str], message: str) -> None:
    reply = logged_in().action(action, list(headers.items()))
    assert (reply.response.status, reply.response.message) == ("error", message)


def test_a_member_of_a_missing_extension_is_invalid_and_not_logged_in() -> None:
    h = logged_in()
    h.action("QueueAdd", Queue="support", Interface="Local/nowhere@default")
    assert _members(h)["Local/nowhere@default"]["Status"] == "4"
    assert _summary(h) == ("1", "1")


def test_a_call_to_the_queue_extension_reports_the_caller_and_the_agent() -> None:
    h = logged_in()
    h.action("Originate", Channel="Local/queue@default", Application="Wait", Data="3", Async="true")
    h.advance(8)
    names = [event.name for event in h.events() if event.name.startswith(("Queue", "Agent"))]
    # The order of the load_120calls recording.
    assert names == ["QueueCallerJoin", "AgentCalled", "QueueCallerLeave", "AgentConnect", "AgentComplete"]
    (complete,) = h.events("AgentComplete")
    assert (complete.get("Queue"), complete.get("Interface"), complete.get("Reason")) == (
        "support",
        "Local/wait@default",
        "caller",
    )
    params = [event for event in h.action("QueueStatus").events if event.name == "QueueParams"]
    assert (params[0].get("Completed"), params[0].get("ServicelevelPerf")) == ("1", "100.0")
    assert _members(h)["Local/wait@default"]["CallsTaken"] == "1"
    h.action("QueueReset", Queue="support")
    assert _members(h)["Local/wait@default"]["CallsTaken"] == "0"
