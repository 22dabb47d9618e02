"""The C speedups give exactly what their pure-Python twins give."""

from __future__ import annotations

import gc
import itertools
import re
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

import amiproto
from amiproto import _accel
from amiproto._framing import Framer
from amiproto._headers import DECODE_ERRORS, split_lines
from amiproto._messages import _ACTION_ID_FIRST_LINE, _ACTION_ID_LINE

from .helpers import load_jsonl, recording_paths

speedups = _accel.speedups
pytestmark = pytest.mark.skipif(speedups is None, reason="the C speedups are not built")

# Bytes that look like AMI often and break its rules often: header lines, every
# kind of line ending, glued first headers, Follows, colons, and invalid UTF-8.
PIECES = st.sampled_from(
    [
        b"Event:",
        b"Event: Newchannel",
        b"Response:",
        b"Response: Success",
        b"Response: Follows",
        b" follows ",
        b"ActionID: 7",
        b"actionid:",
        b"ACTIONID:x",
        b"Key: value: more",
        b":",
        b": ",
        b" ",
        b"\r\n",
        b"\n",
        b"\r",
        b"\r\n\r\n",
        b"\n\r\n",
        b"\n\n",
        b"x",
        b"\xe2\x82",
        b"\xac",
        b"\xff",
        b"\xc3\xa9",
        b"\x00",
    ]
)
STREAMS = st.lists(PIECES, max_size=40).map(b"".join)
RECORDED = [
    b"".join(data for direction, data in load_jsonl(path) if direction == "rx") for path in recording_paths()
]


def python_action_id(raw: bytes) -> bytes | None:
    found = _ACTION_ID_FIRST_LINE.match(raw) or _ACTION_ID_LINE.search(raw)
    if found is None:
        return None
    value = found.group(1)
    return value[:-1] if value[-1:] == b"\r" else value


@given(STREAMS, st.integers(-1, 400))
def test_split_headers_agrees_with_split_lines(data: bytes, end: int) -> None:
    assert speedups is not None
    key, values, unparsed = speedups.split_headers(data, end)
    head = data if end < 0 else data[:end]
    names, expected_values, expected_unparsed = split_lines(head.decode("utf-8", DECODE_ERRORS))
    assert values == expected_values
    assert unparsed == expected_unparsed
    assert (key.decode("utf-8", DECODE_ERRORS).split("\n") if values else []) == names


@given(STREAMS)
def test_find_action_id_agrees_with_the_regex(data: bytes) -> None:
    assert speedups is not None
    assert speedups.find_action_id(data) == python_action_id(data)


def frame_all(stream: bytes, cuts: list[int], *, c: bool, fast: bool = True, limit: int = 120) -> list[bytes]:
    """Every frame's bytes, fed in pieces, with one implementation's fast path (or,
    ``fast=False``, the general path alone: the oracle both fast paths must match)."""
    _accel.use_speedups(c)
    try:
        framer = Framer(expect_greeting=False, max_message_size=limit, max_buffer_size=4096)
        out: list[bytes] = []
        bounds = [0, *sorted(cuts), len(stream)]
        try:
            for start, stop in itertools.pairwise(bounds):
                if start < stop:
                    framer.feed(stream[start:stop])
                out += drain(framer, fast)
            framer.feed(b"")
            out += drain(framer, fast)
        except Exception as error:
            out.append(f"<{type(error).__name__}>".encode())
        return out
    finally:
        _accel.use_speedups(True)


def drain(framer: Framer, fast: bool = True) -> list[bytes]:
    out: list[bytes] = []
    while True:
        run = framer.take_plain_run() if fast else None
        if run is not None:
            if not run[0]:
                return out
            out += run[0]
            continue
        frame = framer.next_frame()
        if frame is None:
            return out
        out.append(frame.raw)


@given(STREAMS, st.lists(st.integers(0, 400), max_size=8))
def test_take_run_frames_like_the_python_fast_path(stream: bytes, cuts: list[int]) -> None:
    assert frame_all(stream, cuts, c=True) == frame_all(stream, cuts, c=False)


@given(
    STREAMS,
    st.lists(st.integers(0, 400), max_size=8) | st.just(list(range(400))),
    st.sampled_from([1, 5, 9, 12, 20, 50, 120, 1000]),
)
def test_take_run_frames_like_the_general_path(stream: bytes, cuts: list[int], limit: int) -> None:
    """The C fast path against the general framer itself, at many size limits and with
    one byte at a time, so that resumed scans and the limit's edges are covered."""
    cuts = [cut for cut in cuts if cut <= len(stream)]
    expected = frame_all(stream, cuts, c=False, fast=False, limit=limit)
    assert frame_all(stream, cuts, c=True, limit=limit) == expected


@given(st.sampled_from(RECORDED or [b""]), st.lists(st.integers(0, 1 << 20), max_size=30))
def test_take_run_frames_recordings_like_python(stream: bytes, cuts: list[int]) -> None:
    cuts = [cut % (len(stream) + 1) for cut in cuts]
    assert frame_all(stream, cuts, c=True) == frame_all(stream, cuts, c=False)


def test_an_incomplete_message_is_scanned_once() -> None:
    """take_run resumes where it stopped: what it reports moves forward with the bytes."""
    assert speedups is not None
    message = b"Event: Big\r\n" + b"Output: " + b"y" * 60 + b"\r\n"
    buffer = bytearray()
    resume, first_lf = 0, -1
    for _ in range(50):
        buffer += message[12:]
        raws, _, consumed, stop, resume, first_lf = speedups.take_run(
            bytes(message[:12]) + buffer, 1 << 20, resume, first_lf
        )
        assert (raws, consumed, stop) == ([], 0, 0)
        assert first_lf == 11
        # It stops at the last LF, whose next byte has not come yet.
        assert resume == 12 + len(buffer) - 1
    raws, keys, consumed, stop, resume, first_lf = speedups.take_run(
        bytes(message[:12]) + buffer + b"\r\nEvent: Next", 1 << 20, resume, first_lf
    )
    assert len(raws) == 1 and raws[0].endswith(b"y\r\n\r\n") and keys == [b" Big\r"]
    assert (stop, resume, first_lf) == (0, len(b"Event: Next"), -1)


@pytest.mark.parametrize(("resume", "first_lf"), [(-5, -1), (10**9, -1), (3, 2), (5, 9), (2, -7)])
def test_take_run_ignores_a_resume_point_that_cannot_be_right(resume: int, first_lf: int) -> None:
    assert speedups is not None
    data = b"Event: A\r\nX: 1\r\n\r\n"
    assert speedups.take_run(data, 1000, resume, first_lf)[:3] == ([data], [b" A\r"], len(data))


def test_the_follows_check_matches_the_framer_regex() -> None:
    follows = re.compile(rb"(?i)\s*response\s*:\s*follows\s*\Z")
    for line in [
        b"Response: Follows\r",
        b"Response:follows",
        b"Response:  FOLLOWS \t\r",
        b"Response: Followsx\r",
    ]:
        stream = line + b"\nActionID: 1\r\n\r\n"
        taken = speedups.take_run(stream, 1000, 0, -1)[0] if speedups else []
        assert (taken == []) == bool(follows.match(line))


def test_batches_of_events_are_hidden_from_the_cyclic_gc() -> None:
    conn = amiproto.Connection()
    conn.send(amiproto.Action("Ping", [("ActionID", "1")]))
    conn.receive_data(
        b"Asterisk Call Manager/11.0.0\r\n"
        b"Event: Newchannel\r\nChannel: x\r\n\r\n"
        b"Event: NoSuchEvent\r\nA: b\r\n\r\n"
        b"Response: Success\r\nActionID: 1\r\n\r\n"
    )
    items = conn.next_events()
    events = [item for item in items if isinstance(item, amiproto.Event)]
    assert [type(event).__name__ for event in events] == ["Newchannel", "Event"]
    assert not any(gc.is_tracked(event) for event in events)
    # Greetings, responses and ActionCompleted (which holds a list) stay in its sight.
    others = [item for item in items if not isinstance(item, amiproto.Event)]
    assert {type(item).__name__ for item in others} == {"Greeting", "Response", "ActionCompleted"}
    assert all(gc.is_tracked(item) for item in others)


def test_untrack_leaves_instances_with_a_dict_alone() -> None:
    class Annotated(amiproto.Event):
        pass  # no __slots__: it has a __dict__, where anything may go

    plain = amiproto.Event(b"Event: A\r\n\r\n")
    annotated = Annotated(b"Event: A\r\n\r\n")
    response = amiproto.Response(b"Response: Success\r\n\r\n")
    assert speedups is not None
    speedups.untrack([plain, annotated, response, "not a message"], amiproto.Event)
    assert not gc.is_tracked(plain)
    assert gc.is_tracked(annotated)
    assert gc.is_tracked(response)


def test_untracked_events_are_freed_with_their_last_reference() -> None:
    conn = amiproto.Connection()
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    conn.next_events()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        conn.receive_data(b"Event: A\r\nB: c\r\n\r\n" * 10_000)
        items = conn.next_events()
        assert not any(gc.is_tracked(item) for item in items)
        held, _ = tracemalloc.get_traced_memory()
        del items
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held - before > 10_000 * 50  # the events were there
    assert after - before < (held - before) / 10  # and went with the list, no collection run
