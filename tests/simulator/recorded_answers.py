"""The ``all_actions`` recording cut into one answer per action, and a session to replay it against.

An answer is the response to the action (found by its ActionID) and the names of
the events that follow it up to the next action, leaving out the events of the
calls the recording had running meanwhile (those with a channel, Local device
states, queue member status changes).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache

from amiproto_transports.simulator._config import users_from_mapping
from amiproto_transports.simulator._world import World

from ..conftest import RECORDINGS
from .test_session import USERS, Harness

__all__ = [
    "ALL_ACTIONS",
    "Answer",
    "answer_of",
    "assert_replays",
    "logged_in",
    "recorded",
    "recorded_bytes",
    "replay",
]

ALL_ACTIONS = RECORDINGS / "all_actions.jsonl"


@dataclass(frozen=True)
class Answer:
    status: str
    message: str | None
    events: tuple[str, ...]
    response_raw: bytes


def _blocks(data: bytes) -> list[dict[str, str]]:
    blocks = []
    for chunk in data.split(b"\r\n\r\n"):
        pairs: dict[str, str] = {}
        for line in chunk.decode("utf-8", "replace").split("\r\n"):
            name, sep, value = line.partition(": ")
            if sep and name not in pairs:
                pairs[name] = value
        if pairs:
            blocks.append(pairs)
    return blocks


def _is_call_noise(block: dict[str, str]) -> bool:
    if "Channel" in block or "Uniqueid" in block or block.get("Event") == "QueueMemberStatus":
        return True
    return block.get("Event") == "DeviceStateChange" and not block.get("Device", "").startswith("Queue:")


def answer_of(data: bytes, action_id: str) -> Answer:
    """The answer to ``action_id`` in ``data``, the bytes that followed the action."""
    blocks = _blocks(data)
    response = next(b for b in blocks if "Response" in b and b.get("ActionID") == action_id)
    start = data.find(b"ActionID: " + action_id.encode() + b"\r\n")
    head = data.rfind(b"Response: ", 0, start)
    end = data.find(b"\r\n\r\n", head)
    events = tuple(
        b["Event"]
        for b in blocks
        if "Event" in b and b.get("ActionID", action_id) == action_id and not _is_call_noise(b)
    )
    return Answer(response["Response"], response.get("Message"), events, data[head : end + 4])


@cache
def _segments() -> dict[str, tuple[bytes, bytes]]:
    """ActionID -> (the action's bytes, every byte the server sent until the next action)."""
    segments: dict[str, list[bytes]] = {}
    current: list[bytes] | None = None
    for line in ALL_ACTIONS.read_text().splitlines():
        chunk = json.loads(line)
        data = bytes.fromhex(chunk["hex"])
        if chunk["dir"] == "tx":
            match = re.search(rb"ActionID: (\S+)", data)
            current = segments.setdefault(match.group(1).decode() if match else "", [b"", b""])
            current[0] += data
        elif current is not None:
            current[1] += data
    return {key: (value[0], value[1]) for key, value in segments.items()}


def recorded(action_id: str) -> tuple[bytes, Answer]:
    """The recorded action ``action_id`` and the real server's answer to it."""
    action, data = _segments()[action_id]
    return action, answer_of(data, action_id)


def recorded_bytes(action_id: str) -> tuple[bytes, bytes]:
    """The recorded action ``action_id`` and every byte the server sent until the next action."""
    return _segments()[action_id]


def replay(harness: Harness, action_id: str) -> tuple[Answer, Answer]:
    """Send the recorded action to ``harness``; (the simulator's answer, the recorded one)."""
    action, expected = recorded(action_id)
    return answer_of(harness.send_raw(action), action_id), expected


def assert_replays(harness: Harness, action_ids: list[str]) -> None:
    """Send each recorded action in turn; each answer must match the recorded one."""
    for action_id in action_ids:
        got, expected = replay(harness, action_id)
        assert (got.status, got.message, got.events) == (
            expected.status,
            expected.message,
            expected.events,
        ), action_id


def logged_in() -> Harness:
    harness = Harness(World(users_from_mapping(USERS), start=100.0, wall_offset=1.7e9))
    harness.login()
    return harness
