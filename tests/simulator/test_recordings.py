"""Replay each shared recording's client side against the simulator and compare with the real server."""

from __future__ import annotations

import hashlib
import re
import socket
import time
from pathlib import Path

import pytest

import amiproto
import amiproto.actions
from amiproto_transports.simulator import Simulator

from ..conftest import RECORDINGS, needs_shared
from .test_actions import documented_synopses

SESSIONS = [
    "plain_login",
    "md5_login",
    "bad_secret",
    "readonly",
    "events_off",
    "filter",
    "originate_sync",
    "mixed_session",
]
# Actions that read config files: answered from the recorded server's files.
CONFIG_ACTIONS = {"listcategories", "getconfig"}
CALL_EVENTS = {
    "Newchannel",
    "Newstate",
    "Newexten",
    "VarSet",
    "LocalBridge",
    "DialBegin",
    "DialEnd",
    "BridgeCreate",
    "BridgeEnter",
    "BridgeLeave",
    "BridgeDestroy",
    "HangupRequest",
    "SoftHangupRequest",
    "Hangup",
    "DeviceStateChange",
    "OriginateResponse",
    "UserEvent",
}


def parse_rx(data: bytes) -> list[object]:
    conn = amiproto.Connection()
    conn.receive_data(data)
    conn.receive_data(b"")
    items: list[object] = []
    while (item := conn.next_event()) is not amiproto.NEED_DATA:
        items.append(item)
        if isinstance(item, amiproto.ConnectionClosed):
            break
    return items


def by_action_id(items: list[object]) -> dict[str, tuple[amiproto.Response, list[amiproto.Event]]]:
    result: dict[str, tuple[amiproto.Response, list[amiproto.Event]]] = {}
    for item in items:
        if isinstance(item, amiproto.Response) and item.action_id is not None:
            result[item.action_id] = (item, [])
        elif isinstance(item, amiproto.Event) and item.action_id in result:
            result[item.action_id][1].append(item)
    return result


def all_actions_list() -> dict[str, str]:
    """The ListCommands answer of the all_actions recording, lower-cased name -> value."""
    path = RECORDINGS / "all_actions.rx"
    if not path.exists():
        return {}
    for item in parse_rx(path.read_bytes()):
        if isinstance(item, amiproto.Response) and item.get("ListCommands") is not None:
            return {name.lower(): value for name, value in item.headers}
    return {}


def run_tx(address: tuple[str, int], tx: bytes) -> bytes:
    """Send the recorded actions one by one, each after the previous one's answer (or a short wait)."""
    actions = [block + b"\r\n\r\n" for block in tx.split(b"\r\n\r\n") if block.strip()]
    received = b""
    with socket.create_connection(address, timeout=5) as sock:

        def read_until(pattern: bytes, timeout: float) -> None:
            nonlocal received
            deadline = time.monotonic() + timeout
            while pattern not in received and time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    return
                if not chunk:
                    return
                received += chunk

        read_until(b"\r\n", 5)
        originated = False
        for recorded in actions:
            action = recorded
            if b"Action: Logoff" in action and originated:
                # The real client waited for its calls to end before logging off.
                read_until(b"\x00never", 2.5)
            if b"\r\nKey: " in action and b"AuthType: MD5" in action:
                challenge = re.findall(rb"Challenge: (\d+)", received)[-1]
                key = hashlib.md5(challenge + b"wordpass").hexdigest().encode()
                action = re.sub(rb"Key: \w+", b"Key: " + key, action)
            action_id = re.search(rb"ActionID: ([^\r]*)", action)
            assert action_id is not None
            try:
                sock.sendall(action)
            except OSError:
                break
            read_until(b"ActionID: " + action_id.group(1) + b"\r\n", 3)
            if b"Originate" in action:
                originated = True
                read_until(b"Event: Hangup\r\n", 0.3)
        read_until(b"\x00never", 0.3)
    return received


# List actions whose items are the calls live at the moment they are answered.
CHANNEL_LISTS = {"status": "Channel", "coreshowchannels": "Channel", "hangup": "Channel"}


def header_names(message: amiproto.Response | amiproto.Event) -> list[str]:
    """The header names in order, without the ``Output`` lines (compared apart) and the ActionID."""
    return [name.lower() for name, _ in message.headers if name.lower() not in ("output", "actionid")]


def output_shape(line: str) -> str:
    """A Command output line with what changes from run to run (counts, durations) left out."""
    if ":" in line:
        return line.split(":", 1)[0] + ":"
    # "206 calls processed" and "1 call processed" have the same shape.
    return re.sub(r"\d+ (\w+?)s?\b", r"N \1", line)


def live_channels_at_answers(items: list[object]) -> dict[str, set[str]]:
    """For each Response, the Local channels that our own event stream showed alive before it."""
    live: set[str] = set()
    snapshots: dict[str, set[str]] = {}
    for item in items:
        if isinstance(item, amiproto.Event) and item.action_id is None:
            channel = item.get("Channel") or ""
            if item.name == "Newchannel":
                live.add(channel)
            elif item.name == "Hangup":
                live.discard(channel)
        elif isinstance(item, amiproto.Response) and item.action_id is not None:
            snapshots[item.action_id] = set(live)
    return snapshots


def compare_lists(
    action_name: str,
    real_events: list[amiproto.Event],
    our_events: list[amiproto.Event],
    live: set[str],
) -> None:
    """List shapes match; our list holds items wherever the real one did and ours can."""
    real_items, our_items = real_events[:-1], our_events[:-1]
    channel_header = CHANNEL_LISTS.get(action_name)
    if channel_header is not None:
        # Which calls are still up depends on timing; the items must be exactly ours.
        assert {e.get(channel_header) for e in our_items} == live
        if real_items and live:
            assert our_items
    elif real_items:
        assert our_items, "the real server listed items; the simulator listed none"
    if real_items and our_items:
        real_shapes = {e.name: header_names(e) for e in real_items}
        our_shapes = {e.name: header_names(e) for e in our_items}
        assert our_shapes == real_shapes
        assert [e.name for e in our_items] == [e.name for e in real_items] or channel_header is not None
    assert header_names(our_events[-1]) == header_names(real_events[-1]) or not real_items or not our_items


@needs_shared(RECORDINGS)
@pytest.mark.parametrize("name", SESSIONS)
def test_recorded_session_gets_the_same_answers(name: str) -> None:
    real_items = parse_rx((RECORDINGS / f"{name}.rx").read_bytes())
    sim = Simulator(manager_conf=RECORDINGS / "asterisk-config" / "manager.conf")
    with sim.running() as address:
        ours = run_tx(address, (RECORDINGS / f"{name}.tx").read_bytes())
    assert ours.startswith(b"Asterisk Call Manager/11.0.0\r\n")
    our_items = parse_rx(ours)
    real, sim_answers = by_action_id(real_items), by_action_id(our_items)
    live = live_channels_at_answers(our_items)
    tx_text = (RECORDINGS / f"{name}.tx").read_bytes().decode()
    names_by_id = {aid: action for action, aid in re.findall(r"Action: (\w+)\r\nActionID: ([^\r]*)", tx_text)}
    assert real, "the recording has answers"
    for action_id, (response, events) in real.items():
        action_name = names_by_id.get(action_id, "").lower()
        assert action_id in sim_answers, f"no answer to {action_id}"
        ours_response, our_events = sim_answers[action_id]
        assert (ours_response.status, ours_response.message) == (response.status, response.message), action_id
        if action_name in CONFIG_ACTIONS:
            # The files served are the recorded server's, so the answer is too, byte for byte.
            assert ours_response.raw == response.raw, action_id
        if action_name == "listcommands":
            # We list the actions we implement: a subset of Asterisk's, described the same way
            # (by this server, or by the all_actions one, which had more modules loaded).
            real_pairs = {**all_actions_list(), **{name.lower(): value for name, value in response.headers}}
            ours_pairs = [
                (name.lower(), value) for name, value in ours_response.headers if name != "ActionID"
            ]
            assert len(ours_pairs) > 10
            # Actions neither recorded server had (PJSIP) carry their documented synopsis.
            documented = {name.lower(): synopsis for name, synopsis in documented_synopses().items()}
            assert all(
                real_pairs.get(name) == value
                or (name not in real_pairs and value.split("  (Priv: ")[0] == documented.get(name))
                for name, value in ours_pairs
            ), action_id
        else:
            assert header_names(ours_response) == header_names(response), action_id
        real_output = [output_shape(line) for line in response.output]
        assert [output_shape(line) for line in ours_response.output] == real_output, action_id
        if response.event_list == "start":
            assert ours_response.event_list == "start"
            assert our_events and our_events[-1].name == events[-1].name
            assert our_events[-1].event_list == "complete"
            compare_lists(action_name, events, our_events, live[action_id])
    if "bad_secret" in name:
        assert isinstance(our_items[-1], amiproto.ConnectionClosed)
        assert "2" not in sim_answers
    # Call events: the ones the real server sent (that we model) also come, in a plausible order.
    real_calls = {e.name for e in real_items if isinstance(e, amiproto.Event)} & CALL_EVENTS
    our_events_all = [e for e in our_items if isinstance(e, amiproto.Event)]
    our_calls = {e.name for e in our_events_all} & CALL_EVENTS
    assert real_calls <= our_calls | {"UserEvent"} or not real_calls
    seen: dict[str, list[str]] = {}
    for event in our_events_all:
        channel = event.get("Channel")
        if channel and channel.startswith("Local/"):
            seen.setdefault(channel, []).append(event.name)
    assert not real_calls or seen
    for channel, names in seen.items():
        if "Newchannel" in names and "Hangup" in names:
            assert names.index("Newchannel") < names.index("Hangup") == len(names) - 1, channel


def test_load_recording_skips_banner_responses_and_action_events(tmp_path: Path) -> None:
    from amiproto_transports.simulator._replay import load_recording

    path = tmp_path / "x.rx"
    path.write_bytes(
        b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: 1\r\n\r\n"
        b"Event: A\r\nPrivilege: call,all\r\n\r\nEvent: B\r\nActionID: 1\r\n\r\nEvent: C\r\n\r\n"
    )
    recording = load_recording(path)
    assert recording.names == ["A", "C"]
    assert recording.blob == b"Event: A\r\nPrivilege: call,all\r\n\r\nEvent: C\r\n\r\n"
    assert recording.classes[0] == frozenset({"call"})


def test_load_recording_larger_than_the_core_buffer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from amiproto_transports.simulator import _replay

    # A core with a small buffer stands for a recording beyond the default 64 MiB.
    def small() -> amiproto.Connection:
        return amiproto.Connection(max_buffer_size=64 * 1024, max_message_size=8 * 1024)

    monkeypatch.setattr(_replay, "Connection", small)
    monkeypatch.setattr(_replay, "_FEED_SIZE", 16 * 1024)
    events = b"".join(f"Event: E{n}\r\nPad: {'x' * 100}\r\n\r\n".encode() for n in range(2000))
    path = tmp_path / "big.rx"
    path.write_bytes(b"Asterisk Call Manager/11.0.0\r\n" + events + b"Event: Cut\r\nA: b\r\n")
    recording = _replay.load_recording(path)
    assert len(events) > 3 * 64 * 1024
    assert recording.names == [f"E{n}" for n in range(2000)]  # the cut-off last one is left out
    assert recording.blob == events
