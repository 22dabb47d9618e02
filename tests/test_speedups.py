"""The C speedups give exactly what their pure-Python twins give."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import itertools
import pickle
import random
import re
import subprocess
import sys
import tracemalloc
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from fuzz import fuzz_connection
from hypothesis import given
from hypothesis import strategies as st

import amiproto
from amiproto import _accel, _actions, _framing, _headers
from amiproto._framing import Framer
from amiproto._messages import Message, event_name_of
from amiproto._typed import to_int
from amiproto.live import PBX, _channels
from amiproto.live._changes import ChannelChanged
from amiproto.live._dispatching import TypeDispatcher
from amiproto.live._fields import header_list_reader, header_reader, python_field_assigner
from amiproto.live._making import maker
from amiproto.live._objects import Call

from .helpers import learn_name, load_jsonl, recording_paths, split_actions, take_fast_run

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


Parsed = tuple[list[tuple[str, str]], tuple[str, ...], tuple[str, ...], dict[str, int]]


def parsed_in_python(message: Message) -> Parsed:
    """A message's pairs, unparsed lines and shape, by the pure-Python parse."""
    headers = message._parse()
    return list(headers), message._unparsed, headers._shape.names, headers._shape.index


def parsed_in_c(message: Message) -> Parsed:
    headers = message.headers
    return list(headers), message.unparsed, headers._shape.names, headers._shape.index


def fresh(message: Message) -> Message:
    """The same message, not parsed yet."""
    if isinstance(message, amiproto.Response):
        return amiproto.Response(message.raw, encoding=message.encoding, body_start=message._body)
    return type(message)(message.raw, encoding=message.encoding)


@given(STREAMS, st.integers(-1, 400))
def test_the_c_headers_getter_agrees_with_python(data: bytes, end: int) -> None:
    message: Message = amiproto.Message(data)
    if end >= 0:
        message = amiproto.Response(data, body_start=end)  # headers end where a Follows body starts
    assert parsed_in_c(message) == parsed_in_python(fresh(message))


@given(STREAMS)
def test_c_values_read_as_the_list_python_makes(data: bytes) -> None:
    values = amiproto.Message(data).headers._values
    # A list (a shape's pattern, once it has one, gives the same values as a tuple).
    expected = list(fresh(amiproto.Message(data))._parse()._values)
    assert type(values).__name__ == "HeaderValues" and len(values) == len(expected)
    assert list(values) == expected and values == expected and (values != expected) is False
    assert values[::-1] == expected[::-1] and values[1:3] == expected[1:3]
    for index in range(-len(expected), len(expected)):
        assert values[index] == expected[index]
    assert repr(values) == repr(expected)
    assert pickle.loads(pickle.dumps(values)) == expected


def test_c_values_behave_as_a_read_only_list() -> None:
    values = amiproto.Message(b"A: 1\r\nB: 2\r\n\r\n").headers._values
    with pytest.raises(IndexError):
        values[2]
    with pytest.raises(IndexError):
        values[-3]
    with pytest.raises(TypeError):
        values["a"]  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        hash(values)
    with pytest.raises(TypeError):
        values[0] = "x"  # type: ignore[index]
    assert values == amiproto.Message(b"A: 1\r\nB: 2\r\n\r\n").headers._values
    assert values != ["1"]
    assert values != ("1", "2") and not gc.is_tracked(values)
    it = iter(values)
    assert list(it) == ["1", "2"] and list(it) == []


@pytest.mark.parametrize(
    "value",
    [b"", b"x", b"call,all", b"\xe9t\xe9", b"caf\xc3\xa9", b"y" * 40, b"z" * 41, b"a\x00b", b"\xff" * 3],
)
def test_values_read_twice_are_equal_whatever_their_bytes(value: bytes) -> None:
    """Short ASCII values come from a cache of decoded str: the same text as decoding."""
    expected = value.decode("utf-8", "surrogateescape")
    for _ in range(3):
        headers = amiproto.Message(b"A: " + value + b"\r\nB: " + value + b"\r\n\r\n").headers
        assert headers.get("A") == expected and list(headers) == [("A", expected), ("B", expected)]


def test_the_caches_of_shapes_and_values_stay_right_past_their_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Far more header names and values than the C tables hold: every message still
    parses as in Python, and the same names still share one shape."""
    # Fresh shape tables of the Python side, so that filling them leaves other tests alone.
    monkeypatch.setattr(_headers, "_SHAPES", {})
    monkeypatch.setattr(_headers, "_SHAPES_BY_KEY", {})
    messages = [
        f"Event: E\r\nName{i}: value{i}\r\nName{i % 7}: v{i % 5}\r\n\r\n".encode() for i in range(6000)
    ]
    for raw in messages + messages[:50]:
        assert parsed_in_c(amiproto.Message(raw)) == parsed_in_python(amiproto.Message(raw))
    again = amiproto.Message(messages[3]).headers
    assert again._shape is amiproto.Message(messages[3]).headers._shape
    assert len(_headers._SHAPES) == _headers._SHAPES_LIMIT


def test_c_headers_are_hidden_from_the_cyclic_gc() -> None:
    message = amiproto.Event(b"Event: A\r\nB: c\r\n\r\n")
    headers = message.headers
    assert not gc.is_tracked(headers) and headers.get("b") == "c"
    assert message.headers is headers  # parsed once


def test_other_encodings_go_to_python() -> None:
    message = amiproto.Event(b"Event: A\r\nActionID: \xe9\r\nName: \xe9\r\n\r\n", encoding="latin-1")
    assert message.headers._values == ["A", "é", "é"] and type(message.headers._values) is list
    assert message.action_id == "é"


def test_the_getters_refuse_what_is_not_a_message() -> None:
    with pytest.raises(TypeError):
        Message.headers.fget(object())  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        Message.action_id.fget("x")  # type: ignore[attr-defined]


@given(STREAMS, st.sampled_from(["utf-8", "latin-1", "utf-16-le"]))
def test_the_c_action_id_agrees_with_the_regex(data: bytes, encoding: str) -> None:
    message = amiproto.Message(data, encoding=encoding)
    try:
        expected: str | type[Exception] | None = message._python_action_id()
    except UnicodeDecodeError:
        expected = UnicodeDecodeError
    try:
        got: str | type[Exception] | None = message.action_id
    except UnicodeDecodeError:
        got = UnicodeDecodeError
    assert got == expected


@given(st.lists(st.tuples(st.text(max_size=5), st.text(max_size=5)), max_size=6))
def test_iter_headers_gives_the_pairs_zip_gives(pairs: list[tuple[str, str]]) -> None:
    headers = amiproto.Headers(pairs)
    assert speedups is not None
    assert list(speedups.iter_headers(headers._shape.names, headers._values)) == pairs
    assert list(headers) == pairs and dict(headers) == dict(pairs)


def test_iter_headers_hands_out_pairs_that_stay_as_they_were() -> None:
    headers = amiproto.Message(b"A: 1\r\nB: 2\r\nC: 3\r\n\r\n").headers
    kept = []
    for pair in headers:
        kept.append(pair)  # a pair kept is never reused for the next one
    assert kept == [("A", "1"), ("B", "2"), ("C", "3")]
    assert [pair for pair in headers] == kept and dict(headers) == {"A": "1", "B": "2", "C": "3"}
    assert speedups is not None
    with pytest.raises(ValueError, match="as many names as values"):
        speedups.iter_headers(("A",), ["1", "2"])


def frame_all(
    stream: bytes, cuts: list[int], *, c: bool, fast: bool = True, limit: int = 120
) -> list[tuple[bytes, str | None] | bytes]:
    """Every message's bytes (with its event name, on the fast path), fed in pieces,
    with one implementation's fast path (or, ``fast=False``, the general path alone:
    the oracle both fast paths must match)."""
    _accel.use_speedups(c)
    try:
        framer = Framer(expect_greeting=False, max_message_size=limit, max_buffer_size=4096)
        out: list[tuple[bytes, str | None] | bytes] = []
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


def drain(framer: Framer, fast: bool = True) -> list[tuple[bytes, str | None] | bytes]:
    out: list[tuple[bytes, str | None] | bytes] = []
    while True:
        run = take_fast_run(framer) if fast else None
        if run is not None:
            if not run:
                return out
            out += run
            continue
        frame = framer.next_frame()
        if frame is None:
            return out
        out.append((frame.raw, event_name_of(frame.raw)) if fast else frame.raw)


def raws(framed: list[tuple[bytes, str | None] | bytes]) -> list[bytes]:
    return [item if isinstance(item, bytes) else item[0] for item in framed]


@given(STREAMS, st.lists(st.integers(0, 400), max_size=8))
def test_take_events_frames_and_names_like_the_python_fast_path(stream: bytes, cuts: list[int]) -> None:
    assert frame_all(stream, cuts, c=True) == frame_all(stream, cuts, c=False)


@given(
    STREAMS,
    st.lists(st.integers(0, 400), max_size=8) | st.just(list(range(400))),
    st.sampled_from([1, 5, 9, 12, 20, 50, 120, 1000]),
)
def test_take_events_frames_like_the_general_path(stream: bytes, cuts: list[int], limit: int) -> None:
    """The C fast path against the general framer itself, at many size limits and with
    one byte at a time, so that resumed scans and the limit's edges are covered."""
    cuts = [cut for cut in cuts if cut <= len(stream)]
    expected = frame_all(stream, cuts, c=False, fast=False, limit=limit)
    assert raws(frame_all(stream, cuts, c=True, limit=limit)) == expected


@given(STREAMS, st.lists(st.integers(0, 400), max_size=8), st.sampled_from([5, 20, 120]))
def test_take_events_frames_bytes_kept_in_place_like_the_general_path(
    stream: bytes, cuts: list[int], limit: int
) -> None:
    """As above, with every bytes object fed kept as it is (the C path reads it in place)."""
    cuts = [cut for cut in cuts if cut <= len(stream)]
    expected = frame_all(stream, cuts, c=False, fast=False, limit=limit)
    with mock.patch.object(_framing, "_KEEP_FROM", 1):
        assert raws(frame_all(stream, cuts, c=True, limit=limit)) == expected


@given(st.sampled_from(RECORDED or [b""]), st.lists(st.integers(0, 1 << 20), max_size=30))
def test_take_events_frames_recordings_like_python(stream: bytes, cuts: list[int]) -> None:
    cuts = [cut % (len(stream) + 1) for cut in cuts]
    assert frame_all(stream, cuts, c=True) == frame_all(stream, cuts, c=False)


def take(
    data: bytes, resume: int = 0, first_lf: int = -1, limit: int = 1000
) -> tuple[list[amiproto.Event], bytes | None, int, int, int, int]:
    assert speedups is not None
    taken: tuple[list[amiproto.Event], bytes | None, int, int, int, int] = speedups.take_events(
        data, limit, resume, first_lf, {}, learn_name, "utf-8", amiproto.Event
    )
    return taken


def test_an_incomplete_message_is_scanned_once() -> None:
    """take_events resumes where it stopped: what it reports moves forward with the bytes."""
    message = b"Event: Big\r\n" + b"Output: " + b"y" * 60 + b"\r\n"
    buffer = bytearray()
    resume, first_lf = 0, -1
    for _ in range(50):
        buffer += message[12:]
        events, response, consumed, stop, resume, first_lf = take(
            bytes(message[:12]) + buffer, resume, first_lf, 1 << 20
        )
        assert (events, response, consumed, stop) == ([], None, 0, 0)
        assert first_lf == 11
        # It stops at the last LF, whose next byte has not come yet.
        assert resume == 12 + len(buffer) - 1
    events, response, consumed, stop, resume, first_lf = take(
        bytes(message[:12]) + buffer + b"\r\nEvent: Next", resume, first_lf, 1 << 20
    )
    assert len(events) == 1 and events[0].raw.endswith(b"y\r\n\r\n") and events[0].name == "Big"
    assert (response, stop, resume, first_lf) == (None, 0, len(b"Event: Next"), -1)


@pytest.mark.parametrize(("resume", "first_lf"), [(-5, -1), (10**9, -1), (3, 2), (5, 9), (2, -7)])
def test_take_events_ignores_a_resume_point_that_cannot_be_right(resume: int, first_lf: int) -> None:
    data = b"Event: A\r\nX: 1\r\n\r\n"
    events, _, consumed, *_ = take(data, resume, first_lf)
    assert [event.raw for event in events] == [data] and consumed == len(data)


def test_take_events_stops_after_a_response_and_builds_what_came_before() -> None:
    data = b"Event: A\r\n\r\nResponse: Success\r\nActionID: 1\r\n\r\nEvent: B\r\n\r\n"
    events, response, consumed, stop, *_ = take(data)
    assert [event.name for event in events] == ["A"]
    assert response == b"Response: Success\r\nActionID: 1\r\n\r\n" and stop == 2
    assert consumed == len(data) - len(b"Event: B\r\n\r\n")


def test_take_events_names_and_builds_events_as_the_connection_would() -> None:
    class Named(amiproto.Event):
        __slots__ = ()

    class Extra(amiproto.Event):
        __slots__ = ("note",)

    names: dict[bytes, tuple[str, type[amiproto.Event]]] = {b" A\r": ("A", Named)}
    learned: list[bytes] = []

    def learn(key: bytes) -> tuple[str, type[amiproto.Event]]:
        learned.append(key)
        return "B", Extra

    assert speedups is not None
    data = b"Event: A\r\nX: 1\r\n\r\nEvent: B\r\n\r\nEvent: A\r\n\r\n"
    events, *_ = speedups.take_events(data, 1000, 0, -1, names, learn, "latin-1", amiproto.Event)
    assert [(type(event), event.name) for event in events] == [(Named, "A"), (Extra, "B"), (Named, "A")]
    assert learned == [b" B\r"] and events[0].encoding == "latin-1" and not events[0].truncated
    assert events[0].headers == [("Event", "A"), ("X", "1")] and events[0].get("X") == "1"
    # Hidden from the cyclic GC unless the class has slots of its own.
    assert [gc.is_tracked(event) for event in events] == [False, True, False]


@pytest.mark.parametrize("known", [("A", str), ("A",), "A", (b"A", amiproto.Event), ("A", amiproto.Response)])
def test_take_events_refuses_a_name_that_does_not_map_to_an_event_class(known: object) -> None:
    assert speedups is not None
    with pytest.raises(TypeError):
        names: dict[bytes, Any] = {b" A\r": known}
        speedups.take_events(b"Event: A\r\n\r\n", 1000, 0, -1, names, learn_name, "utf-8", amiproto.Event)


def test_an_error_in_learning_a_name_comes_out() -> None:
    def learn(key: bytes) -> tuple[str, type[amiproto.Event]]:
        raise RuntimeError("no")

    assert speedups is not None
    with pytest.raises(RuntimeError, match="no"):
        speedups.take_events(b"Event: A\r\n\r\n", 1000, 0, -1, {}, learn, "utf-8", amiproto.Event)


def test_the_follows_check_matches_the_framer_regex() -> None:
    follows = re.compile(rb"(?i)\s*response\s*:\s*follows\s*\Z")
    for line in [
        b"Response: Follows\r",
        b"Response:follows",
        b"Response:  FOLLOWS \t\r",
        b"Response: Followsx\r",
    ]:
        stream = line + b"\nActionID: 1\r\n\r\n"
        _, response, *_ = take(stream)
        assert (response is None) == bool(follows.match(line))


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
    # The greeting stays in its sight; an ordinary action's answer, made in C, does not
    # (see test_what_c_makes_for_an_ordinary_action_is_out_of_the_collectors_sight).
    others = {type(item).__name__: item for item in items if not isinstance(item, amiproto.Event)}
    assert set(others) == {"Greeting", "Response", "ActionCompleted"}
    assert gc.is_tracked(others["Greeting"])
    assert not gc.is_tracked(others["Response"]) and not gc.is_tracked(others["ActionCompleted"])


def test_untrack_leaves_instances_with_a_dict_or_slots_of_their_own_alone() -> None:
    class Annotated(amiproto.Event):
        pass  # no __slots__: it has a __dict__, where anything may go

    class Extra(amiproto.Event):
        __slots__ = ("note",)

    plain = amiproto.Event(b"Event: A\r\n\r\n")
    annotated = Annotated(b"Event: A\r\n\r\n")
    extra = Extra(b"Event: A\r\n\r\n")
    response = amiproto.Response(b"Response: Success\r\n\r\n")
    assert speedups is not None
    speedups.untrack([plain, annotated, extra, response, "not a message"], amiproto.Event)
    assert not gc.is_tracked(plain)
    assert gc.is_tracked(annotated) and gc.is_tracked(extra)
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


def test_the_c_path_frames_bytes_where_they_lie() -> None:
    """A bytes object fed is not copied into the framer's buffer: the C path builds its
    events from it and copies only the message a read cut short."""
    framer = Framer(expect_greeting=False)
    events = b"Event: A\r\nX: 1\r\n\r\n" * 10_000
    framer.feed(events + b"Event: Cut\r\nX:")
    assert len(framer._buf) == 0
    run = take_fast_run(framer)
    assert run is not None and len(run) == 10_000
    assert bytes(framer._buf) == b"Event: Cut\r\nX:" and framer.waiting
    framer.feed(b" 2\r\n\r\n" + events)
    assert take_fast_run(framer) == [(b"Event: Cut\r\nX: 2\r\n\r\n", "Cut")]
    assert take_fast_run(framer) == [(b"Event: A\r\nX: 1\r\n\r\n", "A")] * 10_000
    assert framer.buffered == 0 and take_fast_run(framer) == [] and framer.waiting


# -- the live model's reads: views of values and the field assigner --

VALUE_BYTES = st.sampled_from([b"", b"a", b"b", b"6", b"up", b"\xc3\xa9", b"\xff", b"x" * 50])


def values_of(raw_values: list[bytes]) -> Any:
    """The C values of a message whose headers carry ``raw_values``, in order."""
    raw = b"".join(b"H%d: %s\r\n" % (index, value) for index, value in enumerate(raw_values)) + b"\r\n"
    return amiproto.Message(raw).headers._values


@given(st.lists(VALUE_BYTES, max_size=6), st.integers(-8, 8), st.integers(-8, 8))
def test_a_view_of_values_reads_as_the_slice_of_their_list(
    raw_values: list[bytes], start: int, stop: int
) -> None:
    assert speedups is not None
    values = values_of(raw_values)
    view = speedups.values_view(start, stop, values)
    assert (
        type(view) is type(values) and list(view) == list(values)[start:stop] and len(view) == len(list(view))
    )
    assert (
        speedups.values_view(start, stop, list(values)) == list(values)[start:stop]
    )  # other sequences: sliced


@given(st.lists(VALUE_BYTES, min_size=1, max_size=5), st.lists(VALUE_BYTES, min_size=1, max_size=5))
def test_values_compare_by_their_bytes_as_their_lists_do(left: list[bytes], right: list[bytes]) -> None:
    a, b = values_of(left), values_of(right)
    assert (a == b) == (list(a) == list(b)) and (a != b) == (list(a) != list(b))
    assert speedups is not None
    assert (speedups.values_view(0, 1, a) == speedups.values_view(0, 1, b)) == (list(a)[:1] == list(b)[:1])


class Target:
    __slots__ = ("a", "b", "c")

    def __init__(self, a: object, b: object, c: object) -> None:
        self.a, self.b, self.c = a, b, c


NAMES = st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=4)
CONVERTERS = st.sampled_from([None, str.upper, to_int])


@given(
    NAMES.flatmap(
        lambda names: st.tuples(
            st.just(names), st.lists(CONVERTERS, min_size=len(names), max_size=len(names))
        )
    ),
    st.lists(VALUE_BYTES, min_size=4, max_size=5),
    st.none() | st.lists(VALUE_BYTES, min_size=4, max_size=5),
    st.tuples(
        st.sampled_from([None, "a", "6", 6]), st.sampled_from([None, "b", "UP"]), st.sampled_from([None, "é"])
    ),
    st.sampled_from(["view", "list", "absent"]),
)
def test_the_c_field_assigner_sets_and_reports_what_the_python_one_does(
    spec: tuple[list[str | None], list[Any]],
    new_bytes: list[bytes],
    old_bytes: list[bytes] | None,
    start: tuple[object, object, object],
    new_kind: str,
) -> None:
    assert speedups is not None
    names, converters = spec
    new: Any = values_of(new_bytes)
    old: Any = None if old_bytes is None else values_of(old_bytes)
    if new_kind != "view":
        new = list(new)
        if new_kind == "absent":
            new[0] = None  # an absent header keeps what is known
    results = []
    c_assign = speedups.field_assigner(tuple(names), tuple(converters))
    python_assign = python_field_assigner(names, converters)
    # The C one on what it is given (views or lists), the Python one on lists.
    for assign, given_new, given_old in ((c_assign, new, old), (python_assign, list(new), old and list(old))):
        target = Target(*start)
        fields: dict[str, tuple[Any, Any]] = {}
        assign(target, given_new, given_old, fields)
        results.append((fields, (target.a, target.b, target.c)))
    assert results[0] == results[1]


def test_the_field_assigners_refuse_too_few_values_and_bad_specs() -> None:
    assert speedups is not None
    for assign in (
        speedups.field_assigner(("a", "b"), (None, None)),
        python_field_assigner(["a", "b"], [None, None]),
    ):
        with pytest.raises(ValueError, match="fewer values"):
            assign(Target(1, 2, 3), ["x"], None, {})
        with pytest.raises(ValueError, match="fewer values"):
            assign(Target(1, 2, 3), ["x", "y"], ["x"], {})
    with pytest.raises(TypeError):
        speedups.field_assigner(("a", "b"), (None,))
    with pytest.raises(TypeError):
        speedups.field_assigner(("a", 1), (None, None))
    with pytest.raises(ValueError, match="converter"):
        python_field_assigner(["a", "b"], [None])
    with pytest.raises(ValueError, match="field name"):
        python_field_assigner(["a b", "c"], [None, None])
    with pytest.raises(TypeError):
        speedups.field_assigner(("a",), (None,))(Target(1, 2, 3), ["x"], None, [])  # fields must be a dict


def test_the_c_dispatcher_hands_out_as_its_python_twin_does() -> None:
    assert speedups is not None
    seen: list[tuple[str, object, object, int]] = []

    def handler(item: object, now: object, seq: int, changes: list[object]) -> None:
        seen.append(("handler", item, now, seq))
        changes.append(item)

    def fallback(item: object, now: object) -> list[object]:
        seen.append(("fallback", item, now, 0))
        return ["fell", item]

    results = []
    makers: tuple[Any, ...] = (speedups.type_dispatcher, TypeDispatcher)
    for make in makers:
        seen.clear()
        dispatch = make({int: handler, str: None}, fallback)
        got = [
            dispatch(1),
            dispatch(2, 5.0),
            dispatch("x", now=1.0),
            dispatch(b"y", 2.0),
            dispatch(3, now=None),
        ]
        results.append((got, list(seen), dispatch.seq))
        dispatch.seq = 10
        assert dispatch(4) == [4] and dispatch.seq == 11
        with pytest.raises(TypeError):
            dispatch()
        with pytest.raises(TypeError):
            dispatch(1, 2.0, 3)
        with pytest.raises(TypeError):
            dispatch(1, later=2.0)
    assert results[0] == results[1]
    assert results[0] == (
        [[1], [2], (), ["fell", b"y"], [3]],
        [
            ("handler", 1, None, 1),
            ("handler", 2, 5.0, 2),
            ("fallback", b"y", 2.0, 0),
            ("handler", 3, None, 3),
        ],
        3,
    )


def test_an_error_in_a_handler_comes_out_of_the_c_dispatcher() -> None:
    assert speedups is not None

    def broken(*args: object) -> None:
        raise LookupError("handler")

    dispatch = speedups.type_dispatcher({int: broken}, broken)
    for item in (1, "falls back"):
        with pytest.raises(LookupError, match="handler"):
            dispatch(item)


@given(st.lists(st.none() | st.integers() | st.text(max_size=3), min_size=4, max_size=4))
def test_a_c_maker_makes_what_the_class_makes(values: list[Any]) -> None:
    assert speedups is not None
    for cls in (ChannelChanged, Call):
        count = len(dataclasses.fields(cls))
        made = speedups.instance_maker(cls, tuple(field.name for field in dataclasses.fields(cls)))(
            *values[:count] + [None] * (count - len(values))
        )
        expected = cls(*values[:count] + [None] * (count - len(values)))
        assert (
            type(made) is cls
            and repr(made) == repr(expected)
            and gc.is_tracked(made) == gc.is_tracked(expected)
        )
    change = maker(ChannelChanged)(values[0], values[1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        change.fields = {}


def test_a_c_maker_refuses_what_it_cannot_make() -> None:
    assert speedups is not None

    class Plain:
        def __init__(self, a: object) -> None:
            self.a = a

    @dataclasses.dataclass
    class WithDict:
        a: int

    @dataclasses.dataclass(slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            raise ValueError

    with pytest.raises(TypeError):
        speedups.instance_maker(Plain, ("a",))
    with pytest.raises(AttributeError):
        speedups.instance_maker(ChannelChanged, ("channel", "nothing"))
    with pytest.raises(TypeError):
        speedups.instance_maker(ChannelChanged, ("channel", "__init__"))  # not a slot
    make = speedups.instance_maker(ChannelChanged, ("channel", "fields"))
    with pytest.raises(TypeError):
        make(1)
    with pytest.raises(TypeError):
        make(1, fields=2)
    for cls in (WithDict, Checked, Plain):
        with pytest.raises(TypeError):
            maker(cls)


def test_the_c_reader_reads_recordings_as_the_python_one() -> None:
    names = ["Uniqueid", "Channel", "Linkedid", "Missing"]
    side_by_side = ["Uniqueid", "Linkedid"]
    c_readers = (header_reader(names), header_list_reader(side_by_side))
    _accel.use_speedups(False)
    try:
        python_readers = (header_reader(names), header_list_reader(side_by_side))
    finally:
        _accel.use_speedups(True)
    assert type(c_readers[0]).__name__ == "ShapeReader" and type(python_readers[0]).__name__ == "function"
    connection = amiproto.Connection()
    connection.receive_data(b"Asterisk Call Manager/6.0.0\r\n" + b"".join(RECORDED[:3]))
    events = [item for item in connection.next_events() if isinstance(item, amiproto.Event)]
    assert events or not RECORDED
    for event in events:
        for c_read, python_read in zip(c_readers, python_readers, strict=True):
            assert list(c_read(event)) == list(python_read(event))
    with pytest.raises(AttributeError):
        c_readers[0]("not a message")  # type: ignore[arg-type]


def test_switching_the_speedups_rebuilds_the_live_models_helpers() -> None:
    assert type(_channels._assign).__name__ == "FieldAssigner"
    assert type(_channels._make.channel_changed).__name__ == "InstanceMaker"
    _accel.use_speedups(False)
    try:
        assert (
            type(_channels._assign).__name__ == type(_channels._assign_bridge_fields).__name__ == "function"
        )
        assert _channels._make.channel_changed is ChannelChanged
        assert type(PBX().apply).__name__ == "TypeDispatcher"
    finally:
        _accel.use_speedups(True)
    assert type(_channels._assign).__name__ == "FieldAssigner"
    assert (
        type(PBX().apply).__name__ == "TypeDispatcher"
        and type(PBX().apply).__module__ == "amiproto._speedups"
    )


# -- actions completed in C --------------------------------------------------------

# What a test sends: (name, headers, list_complete_event, wait_for_result).
SENDS = [
    ("Ping", (), None, False),
    ("Status", (), "StatusComplete", False),
    ("QueueStatus", (), None, False),
    ("Originate", (("Async", "true"),), None, True),
    ("Originate", (), None, True),
    ("Logoff", (), None, False),
    ("Login", (("Username", "u"), ("Secret", "s")), None, False),
    ("Challenge", (("AuthType", "MD5"),), None, False),
]


def answers_to(action_id: str | None) -> list[bytes]:
    """Messages from the server about ``action_id`` (None: without one), of every
    kind the completion logic tells apart."""
    id_line = b"" if action_id is None else b"ActionID: %s\r\n" % action_id.encode()
    other_id = b"" if action_id is None else b"actionid:%s\r\n" % action_id.encode()
    return [
        b"Response: Success\r\n" + id_line + b"Ping: Pong\r\n\r\n",
        b"Response: Error\r\n" + id_line + b"Message: No such thing\r\n\r\n",
        b"Response: Success\r\n" + other_id + b"\r\n",
        b"Response: success\r\n" + id_line + b"\r\n",
        b"Response: Goodbye\r\n" + id_line + b"Message: Thanks\r\n\r\n",
        b"Response: Success\r\n" + id_line + b"EventList: start\r\nMessage: Here\r\n\r\n",
        b"Response: Success\r\n" + id_line + b"Message: Queue status will follow\r\n\r\n",
        b"Response: Error\r\n" + id_line + b"Message: eventlist is off\r\n\r\n",
        b"Response: Follows\r\n" + id_line + b"Output\r\n--END COMMAND--\r\n\r\n",
        b"Response: Success\r\n" + id_line + b"Response: Success\r\n\r\n",
        b"Event: QueueMember\r\n" + id_line + b"Queue: q\r\n\r\n",
        b"Event: StatusComplete\r\n" + id_line + b"Items: 1\r\n\r\n",
        b"Event: QueueStatusComplete\r\n" + id_line + b"EventList: Complete\r\n\r\n",
        b"Event: OriginateResponse\r\n" + id_line + b"Response: Success\r\n\r\n",
        b"Event: Hangup\r\nChannel: x\r\n\r\n",
    ]


@contextlib.contextmanager
def answering(how: str, **options: Any) -> Iterator[amiproto.Connection]:
    """A Connection whose answers are taken as ``how`` says: "c", "python", or
    "reference" (pure Python with every answer taken by ``_on_response``: what both
    ways of answering in the run must match)."""
    _accel.use_speedups(how == "c")
    try:
        conn = amiproto.Connection(**options)
        if how == "reference":
            conn._answers_inline = False
        yield conn
    finally:
        _accel.use_speedups(True)


def fed(
    conn: amiproto.Connection,
    data: bytes,
    cuts: list[int],
    *,
    one: bool = False,
    eof: bool = False,
    expected: tuple[type[Exception], ...] = (amiproto.ProtocolError,),
) -> list[object]:
    """What ``conn`` hands out for ``data`` fed in pieces (then the end of the stream,
    with ``eof``), item by item with ``one``; told in plain values, so that two runs
    compare, and the ``expected`` error that stopped it, if one did."""
    story: list[object] = []
    bounds = [0, *sorted(cut % (len(data) + 1) for cut in cuts), len(data)]
    pieces = [data[start:stop] for start, stop in itertools.pairwise(bounds)] + ([b""] if eof else [])
    try:
        for piece in pieces:
            conn.receive_data(piece)
            while True:
                items = [conn.next_event()] if one else conn.next_events()
                if not items or items == [amiproto.NEED_DATA]:
                    break
                story += [told(item) for item in items]
    except expected as error:  # a bad stream, or bytes after a Goodbye
        story.append(str(error))
    return story


def completion_story(
    how: str, sends: list[int], answers: list[tuple[int, bytes]], cuts: list[int], one: bool
) -> list[object]:
    """What a connection hands out when ``sends`` (indexes into SENDS) went out and
    the server answered ``answers`` ((which send, or past them: an unknown ID, which
    message)), fed in pieces."""
    with answering(how, action_id_prefix="t", max_list_events=3) as conn:
        conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
        story: list[object] = [type(item).__name__ for item in conn.next_events()]
        for index in sends:
            name, headers, list_end, wait = SENDS[index]
            try:
                conn.send(amiproto.Action(name, headers, list_complete_event=list_end), wait_for_result=wait)
            except amiproto.LocalProtocolError:
                story.append("refused")  # after a Logoff
        story += fed(conn, b"".join(message for _, message in answers), cuts, one=one)
        story.append(("pending", conn.pending_action_ids, conn.state.name))
        return story


def told(item: object) -> object:
    if isinstance(item, amiproto.Response):
        headers = list(item.headers)
        return ("Response", item.raw, item.orphan, item.status, item.success, item.action_id, headers)
    if isinstance(item, amiproto.ActionCompleted):
        return (
            "ActionCompleted",
            item.action_id,
            item.action,
            None if item.response is None else told(item.response),
            [event.raw for event in item.events],
            item.complete,
            item.timed_out,
            item.warnings,
            item.is_list,
            item.too_many_events,
            None if item.result is None else item.result.raw,
            item.success,
        )
    if isinstance(item, amiproto.Message):
        return (type(item).__name__, item.raw)
    return repr(item)


@st.composite
def completion_cases(draw: st.DrawFn) -> tuple[list[int], list[tuple[int, bytes]], list[int], bool]:
    sends = draw(st.lists(st.integers(0, len(SENDS) - 1), max_size=6))
    count = len(sends)
    answers = []
    for _ in range(draw(st.integers(0, 14))):
        which = draw(st.integers(0, count + 1))
        action_id = f"t-{which + 1}" if which < count else (None if which == count else "t-99")
        answers.append((which, draw(st.sampled_from(answers_to(action_id)))))
    return sends, answers, draw(st.lists(st.integers(0, 2000), max_size=5)), draw(st.booleans())


@given(completion_cases())
def test_actions_complete_in_c_as_in_python(
    case: tuple[list[int], list[tuple[int, bytes]], list[int], bool],
) -> None:
    """Whatever was sent and however the server answered (lists, results, orphans,
    goodbyes, odd cases and spellings), the C answerer and its Python twin hand out
    what ``_on_response`` does for every answer."""
    sends, answers, cuts, one = case
    reference = completion_story("reference", sends, answers, cuts, one)
    assert completion_story("c", sends, answers, cuts, one) == reference
    assert completion_story("python", sends, answers, cuts, one) == reference


@pytest.mark.parametrize("sent", range(len(SENDS)))
@pytest.mark.parametrize("answer", range(len(answers_to("t-1"))))
def test_each_kind_of_answer_to_each_kind_of_action_completes_alike(sent: int, answer: int) -> None:
    """Every pair, whole and fed a byte at a time, beside the random mixes above."""
    answers = [(0, answers_to("t-1")[answer]), (0, b"Event: StatusComplete\r\nActionID: t-1\r\n\r\n")]
    for cuts in ([], list(range(80))):
        reference = completion_story("reference", [sent], answers, cuts, False)
        assert completion_story("c", [sent], answers, cuts, False) == reference
        assert completion_story("python", [sent], answers, cuts, True) == reference


def test_pings_answered_in_one_read_complete_in_one_run() -> None:
    """The answers of ordinary actions do not stop the C fast path: a read of many
    comes out of one call, each Response followed by its ActionCompleted."""
    conn = amiproto.Connection(action_id_prefix="p")
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    conn.next_events()
    for _ in range(3):
        conn.send(amiproto.Action("Ping"))
    conn.receive_data(
        b"".join(b"Response: Success\r\nActionID: p-%d\r\nPing: Pong\r\n\r\n" % n for n in (1, 2, 3))
        + b"Event: Hangup\r\n\r\n"
    )
    framer = conn._framer
    with mock.patch.object(framer, "take_built_run", wraps=framer.take_built_run) as taken:
        items = conn.next_events()
    assert taken.call_count == 1
    assert [type(item).__name__ for item in items] == [
        *["Response", "ActionCompleted"] * 3,
        "Hangup",
    ]
    assert [item.action_id for item in items[1:6:2] if isinstance(item, amiproto.ActionCompleted)] == [
        "p-1",
        "p-2",
        "p-3",
    ]
    assert conn.pending_action_ids == []


def test_the_answerer_refuses_classes_without_the_slots_it_writes() -> None:
    assert speedups is not None

    class NoSlots:
        pass

    with pytest.raises((TypeError, AttributeError)):
        speedups.answerer({}, amiproto.Response, amiproto.ActionCompleted, NoSlots)
    with pytest.raises((TypeError, AttributeError)):
        speedups.answerer({}, NoSlots, amiproto.ActionCompleted, NoSlots)
    with pytest.raises(TypeError):
        speedups.take_events(b"", 10, 0, -1, {}, learn_name, "utf-8", amiproto.Event, object())


# -- actions' headers and bytes --------------------------------------------------------

HEADER_NAMES = st.sampled_from(["Channel", "Exten", "ActionID", "Unchecked", "Variable"])
HEADER_VALUES = st.one_of(
    st.text(st.sampled_from("ab \r\n\0é€\udc80\ud800:"), max_size=6),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
    st.just(3 + 0j),
)
HEADER_ITEMS = st.lists(
    st.one_of(
        st.tuples(HEADER_NAMES, HEADER_VALUES),
        st.tuples(HEADER_NAMES),
        st.lists(st.text(max_size=2), min_size=2, max_size=2),
        st.tuples(st.integers(), st.text(max_size=2)),
    ),
    max_size=5,
)


@given(HEADER_ITEMS, st.booleans())
def test_c_header_pairs_are_what_python_makes(items: list[object], as_tuple: bool) -> None:
    assert speedups is not None
    good = {"Channel", "Exten", "ActionID", "Variable"}
    given_items: list[object] | tuple[object, ...] = tuple(items) if as_tuple else items
    assert speedups.header_pairs(given_items, good) == _actions._plain_headers(given_items, good)


@given(
    st.text(st.sampled_from("Pingé\udc80"), min_size=1, max_size=4),
    st.lists(st.tuples(HEADER_NAMES, st.text(st.sampled_from("ab é€\udc80\ud800:"), max_size=6)), max_size=4),
    st.sampled_from(["utf-8", "latin-1", "ascii", "utf8"]),
)
def test_an_action_serialises_alike_in_c_and_python(
    name: str, headers: list[tuple[str, str]], encoding: str
) -> None:
    """Where C declines (another encoding, a surrogate), Python makes the bytes; where
    both can, they are the same bytes."""
    assert speedups is not None
    in_c = speedups.serialize(name, tuple(headers), encoding)
    in_python = _actions._python_serialize(name, tuple(headers), encoding)
    if in_c is not None:
        assert in_c == in_python
    else:
        text = name + "".join(header + value for header, value in headers)
        assert encoding != "utf-8" or any("\ud800" <= c <= "\udfff" for c in text)


def test_actions_are_made_and_sent_alike_with_and_without_c() -> None:
    """The whole path, both ways: the same headers, the same bytes, the same errors."""
    cases: list[tuple[str, list[tuple[str, object]]]] = [
        ("Originate", [("Channel", "PJSIP/1"), ("Async", True), ("Timeout", 30000), ("X", 1.5)]),
        ("Ping", []),
        ("Setvar", [("Value", "é\udc80")]),
        ("Setvar", [("Value", "a\r\nAction: Logoff")]),
        ("Setvar", [("Value", None)]),
    ]
    made: dict[bool, list[object]] = {}
    for c in (True, False):
        _accel.use_speedups(c)
        try:
            out: list[object] = []
            for _ in range(2):  # the second time, the names are known: the fast path
                for name, pairs in cases:
                    try:
                        action = amiproto.Action(name, pairs)  # type: ignore[arg-type]
                        out.append(
                            (action.headers, action.serialize(), action._with_checked_id("n-1").serialize())
                        )
                        out.append(action.serialize("latin-1"))
                    except amiproto.LocalProtocolError as error:
                        out.append(str(error))
            made[c] = out
        finally:
            _accel.use_speedups(True)
    assert made[True] == made[False]


@pytest.mark.parametrize("bad", ["\r", "\n", "\0"])
@pytest.mark.parametrize("where", [0, 1, 5])
def test_c_header_pairs_leave_a_value_that_breaks_the_framing_to_the_general_path(
    bad: str, where: int
) -> None:
    assert speedups is not None
    value = "ab€de"[:where] + bad + "ab€de"[where:]
    items = [("Channel", "x"), ("Exten", value)]
    assert speedups.header_pairs(items, {"Channel", "Exten"}) is None
    assert _actions._plain_headers(items, {"Channel", "Exten"}) is None
    assert speedups.header_pairs(items[:1], {"Channel", "Exten"}) == (("Channel", "x"),)


def recorded_story(how: str, path: Path) -> list[object]:
    """A recorded session replayed as sent and received, told as ``completion_story`` tells."""
    with answering(how) as conn:
        story: list[object] = []
        for direction, data in load_jsonl(path):
            if direction == "tx":
                for action in split_actions(data):
                    conn.send(action)
            else:
                story += fed(conn, data, [], expected=())  # real traffic: no error
        story.append(conn.pending_action_ids)
        return story


@pytest.mark.parametrize("path", list(recording_paths()), ids=lambda p: p.name.split(".")[0])
def test_recorded_sessions_complete_alike_by_every_path(path: Path) -> None:
    """Real Asterisk 22 answers, every action of the recordings: the C answerer and its
    Python twin hand out what ``_on_response`` does."""
    reference = recorded_story("reference", path)
    assert recorded_story("c", path) == reference
    assert recorded_story("python", path) == reference


def test_a_str_subclass_is_sent_as_the_characters_that_were_checked() -> None:
    """A str subclass's __str__ wrote other bytes than the ones checked: in pure Python
    a second action could be injected through a header value."""

    class Sneaky(str):
        def __str__(self) -> str:
            return "x\r\n\r\nAction: Originate\r\nChannel: PJSIP/evil"

        def __format__(self, spec: str) -> str:
            return str(self)

    for c in (True, False):
        _accel.use_speedups(c)
        try:
            action = amiproto.Action(Sneaky("Ping"), [(Sneaky("ActionID"), Sneaky("abc"))])
            assert action.serialize() == b"Action: Ping\r\nActionID: abc\r\n\r\n"
            assert all(type(text) is str for pair in action.headers for text in pair)
            assert type(action.name) is str
        finally:
            _accel.use_speedups(True)


def test_an_action_changed_from_outside_is_serialised_by_python_not_refused() -> None:
    action = amiproto.Action("Ping", [("X", "1"), ("Y", "2")])
    action.headers = list(action.headers)  # type: ignore[assignment]
    assert action.serialize() == b"Action: Ping\r\nX: 1\r\nY: 2\r\n\r\n"


def test_header_pairs_survive_a_list_changed_while_they_are_read() -> None:
    """The C loop read the caller's list while making pairs, which can run Python code
    (a collection's callbacks and finalizers, another thread) that changes the list:
    it read freed memory. Here a GC callback empties the list in mid-loop; in a child
    process, since the old code crashed."""
    script = """
import gc
from amiproto import _accel
pairs = [(f"H{n}", n) for n in range(200)]
names = {f"H{n}" for n in range(200)}
armed = []
gc.callbacks.append(lambda phase, info: pairs.clear() if armed else None)
gc.set_threshold(1, 1, 1)
armed.append(True)
made = _accel.speedups.header_pairs(pairs, names)
armed.clear()
gc.set_threshold(700, 10, 10)
print(len(pairs), made is None or (len(made) == 200 and made[-1] == ("H199", "199")))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "True"]  # emptied in mid-call, and no harm done


def test_an_error_later_in_a_run_leaves_the_actions_it_answered_pending() -> None:
    """A run that fails after answering an action (here, learning an event's name
    raises) is given up whole: the action waits as before, and its answer, read again
    with the bytes, completes it."""
    conn = amiproto.Connection(action_id_prefix="t")
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    conn.next_events()
    conn.send(amiproto.Action("Ping"), timeout=5, now=0.0)
    learn = conn._learn_event_name
    failures = [RuntimeError("learning failed")]

    def flaky(key: bytes) -> tuple[str, type[amiproto.Event]]:
        if failures:
            raise failures.pop()
        return learn(key)

    conn._learn_event_name = flaky  # type: ignore[method-assign]
    conn.receive_data(b"Response: Success\r\nActionID: t-1\r\n\r\nEvent: BrandNew\r\n\r\n")
    with pytest.raises(RuntimeError):
        conn.next_events()
    assert conn.pending_action_ids == ["t-1"]
    items = conn.next_events()
    assert [type(item).__name__ for item in items] == ["Response", "ActionCompleted", "Event"]
    assert isinstance(items[0], amiproto.Response) and not items[0].orphan
    assert conn.pending_action_ids == []


def fuzzed_story(how: str, data: bytes, cuts: list[int]) -> list[object]:
    """``data`` fed as the fuzz harness feeds it, its ActionIDs sent first, told as
    ``completion_story`` tells it."""
    with answering(how, max_message_size=4096, max_buffer_size=65536) as conn:
        fuzz_connection._send_waiting(conn, data)
        return [*fed(conn, data, cuts, eof=True), conn.pending_action_ids]


FUZZ_CORPUS = fuzz_connection.seed_corpus()


@given(st.integers(0, 2**32 - 1))
def test_mutated_samples_complete_alike_by_every_path(seed: int) -> None:
    """The fuzz harness's mutated samples, with actions waiting for their ActionIDs."""
    rng = random.Random(seed)
    data = fuzz_connection.mutate(rng, rng.choice(FUZZ_CORPUS)[:4000])
    cuts = [rng.randint(0, len(data)) for _ in range(3)]
    reference = fuzzed_story("reference", data, cuts)
    assert fuzzed_story("c", data, cuts) == reference
    assert fuzzed_story("python", data, cuts) == reference


# -- actions sent in C -------------------------------------------------------------

# What a sending test may send: (name, headers, list_complete_event). Ordinary actions,
# given ActionIDs (one twice: refused), the names that move the state machine in odd
# cases, a header name Python lowers but C does not read, text UTF-8 cannot encode.
SENT = [
    ("Ping", (), None),
    ("Originate", (("Channel", "Local/1@x"), ("Variable", "A=ü"), ("Async", "true")), None),
    ("Status", (("Channel", "x"),), "StatusComplete"),
    ("Ping", (("ActionID", "mine"),), None),
    ("Ping", (("actionid", "Mine-2"), ("ActionID", "ignored")), None),
    ("Ping", (("X", "1"), ("ACTIONID", "third")), None),
    ("logoff", (), None),
    ("LOGIN", (("Username", "u"), ("Secret", "s")), None),
    ("Challenge", (("AuthType", "MD5"),), None),
    ("Logins", (), None),
    ("Ping", (("Ünïcode", "1"),), None),
    ("Ping", (("X", "\udcff"),), None),
    ("Pïng", (), None),
]


def pending_told(pending: Any, action_ids: dict[int, str]) -> object:
    return (
        pending.action,
        pending.action.headers,
        pending.deadline,
        pending.role,
        pending.credentials,
        pending.response,
        pending.is_list,
        pending.events,
        pending.result_event,
        pending.result,
        pending.simple,
        action_ids.get(id(pending)),
    )


def sending_story(
    how: str, steps: list[tuple[int, float | None, float | None, bool]], encoding: str, greeted: bool
) -> list[object]:
    """What a connection says and holds after each of ``steps`` ((which of SENT, its
    timeout, the time given, wait_for_result)): the bytes or the error, then every
    piece of state a send may change."""
    with answering(how, action_id_prefix="s", encoding=encoding) as conn:
        if greeted:
            conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
            conn.next_events()
        story: list[object] = []
        for index, timeout, now, wait in steps:
            name, headers, list_end = SENT[index]
            action = amiproto.Action(name, headers, list_complete_event=list_end)
            try:
                said: object = conn.send(action, timeout=timeout, now=now, wait_for_result=wait)
            except (amiproto.LocalProtocolError, UnicodeError) as error:
                said = (type(error).__name__, str(error))
            ids = {id(pending): action_id for action_id, pending in conn._pending.items()}
            story.append(
                (
                    said,
                    conn.state.name,
                    conn.last_action_id,
                    conn._next_id,
                    conn._now,
                    conn._idle_since,
                    conn._collecting,
                    [(action_id, pending_told(p, ids)) for action_id, p in conn._pending.items()],
                    [(d, o, i, ids.get(id(p))) for d, o, i, p in conn._deadlines_in_order],
                    sorted((d, o, i, ids.get(id(p))) for d, o, i, p in conn._deadlines),
                )
            )
        return story


@given(
    st.lists(
        st.tuples(
            st.integers(0, len(SENT) - 1),
            st.sampled_from([None, 0, 2.5, 10]),
            st.sampled_from([None, 0.0, 1.5, 100.0]),
            st.booleans(),
        ),
        max_size=8,
    ),
    st.sampled_from(["utf-8", "latin-1"]),
    st.booleans(),
)
def test_actions_are_sent_in_c_as_in_python(
    steps: list[tuple[int, float | None, float | None, bool]], encoding: str, greeted: bool
) -> None:
    """Whatever is sent, when, with what timeout and clock, in which encoding and state:
    the C sender's bytes, errors and every piece of state it leaves are _send's."""
    assert sending_story("c", steps, encoding, greeted) == sending_story("python", steps, encoding, greeted)


def test_an_ordinary_action_is_sent_without_the_python_path() -> None:
    """Not a fallback that always declines: Ping, a given ActionID and a list action go
    through C alone; Logoff, Python's own names and another encoding do not."""
    conn = amiproto.Connection(action_id_prefix="s")
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    conn.next_events()
    with mock.patch.object(conn, "_send", side_effect=AssertionError("the Python path ran")):
        sent = conn.send(amiproto.Action("Ping"), timeout=1, now=5.0)
        assert sent == b"Action: Ping\r\nActionID: s-1\r\n\r\n"
        conn.send(amiproto.Action("Ping", ActionID="given"))
        conn.send(amiproto.Action("Status", list_complete_event="StatusComplete"), timeout=1)
    assert conn.pending_action_ids == ["s-1", "given", "s-2"]
    assert [entry[0] for entry in conn._deadlines_in_order] == [6.0, 6.0]
    with mock.patch.object(conn, "_send", wraps=conn._send) as python_path:
        conn.send(amiproto.Action("Logoff"))
    assert python_path.call_count == 1 and conn.state is amiproto.State.CLOSING


def test_the_sender_refuses_classes_without_the_slots_it_reads() -> None:
    assert speedups is not None

    class NoSlots:
        pass

    heappush = lambda heap, item: None  # noqa: E731
    args: list[Any] = [{}, deque(), [], itertools.count(), heappush, amiproto.Action, NoSlots, None, 0]
    with pytest.raises((TypeError, AttributeError)):
        speedups.sender(*args)
    args[5:7] = [NoSlots, amiproto._connection._Pending]
    with pytest.raises((TypeError, AttributeError)):
        speedups.sender(*args)
    with pytest.raises(TypeError):
        speedups.sender({}, [])


def test_what_c_makes_for_an_ordinary_action_is_out_of_the_collectors_sight() -> None:
    """The pending action, its numbered copy, its events list, its deadline entry, its
    Response and its ActionCompleted hold no cycle, so C leaves them untracked (a burst
    of them was traversed and promoted by every collection, and the promotions brought
    full collections on); they are freed by reference counting all the same."""
    conn = amiproto.Connection(action_id_prefix="g")
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    conn.next_events()
    conn.send(amiproto.Action("Ping", [("X", "1")]), timeout=5, now=0.0)
    pending = conn._pending["g-1"]
    assert not gc.is_tracked(pending) and not gc.is_tracked(pending.action)
    assert not gc.is_tracked(pending.action.headers) and not gc.is_tracked(pending.events)
    (entry,) = [entry for entry in (*conn._deadlines_in_order, *conn._deadlines) if entry[2] == "g-1"]
    assert entry[3] is pending and not gc.is_tracked(entry)
    conn.receive_data(b"Response: Success\r\nActionID: g-1\r\nPing: Pong\r\n\r\n")
    response, completed = conn.next_events()
    assert isinstance(completed, amiproto.ActionCompleted) and completed.action is pending.action
    assert not gc.is_tracked(response) and not gc.is_tracked(completed)
    del pending, response, completed
    before = len(gc.get_objects())
    for n in range(2, 2000):
        conn.send(amiproto.Action("Ping"), timeout=5, now=0.0)
        conn.receive_data(b"Response: Success\r\nActionID: g-%d\r\n\r\n" % n)
        conn.next_events()
        conn.next_deadline()
    assert len(gc.get_objects()) - before < 100  # nothing tracked piles up
    assert conn.pending_action_ids == [] and not conn._deadlines_in_order
