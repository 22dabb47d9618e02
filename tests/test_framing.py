"""Framing on bytes: line endings, Follows bodies, truncation, limits, linear cost."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

import amiproto
from amiproto import _framing
from amiproto._framing import Framer

from .helpers import chunked, feed_all, summary, take_fast_run

# Every test here runs with the C speedups and in pure Python.
pytestmark = pytest.mark.usefixtures("implementation")


def frames(data: bytes, *, greeting: bool = False) -> list[tuple[bytes, bool, int | None]]:
    framer = Framer(expect_greeting=greeting)
    framer.feed(data)
    framer.feed(b"")
    out = []
    while (frame := framer.next_frame()) is not None:
        out.append((frame.raw, frame.truncated, frame.body_start))
    return out


def test_crlf_lf_and_mixed_endings() -> None:
    data = b"Event: A\r\nX: 1\r\n\r\nEvent: B\nY: 2\n\nEvent: C\r\nM: z\n\r\n\r\nEvent: D\r\n\r\n"
    raws = [raw for raw, _, _ in frames(data)]
    assert raws == [
        b"Event: A\r\nX: 1\r\n\r\n",
        b"Event: B\nY: 2\n\n",
        b"Event: C\r\nM: z\n\r\n",
        b"Event: D\r\n\r\n",
    ]


def test_greeting_only_on_the_first_line() -> None:
    items = feed_all([b"Asterisk Call Manager/1.1\r\nResponse: Success\r\n\r\nplain text\r\n\r\n"])
    assert isinstance(items[0], amiproto.Greeting)
    assert (items[0].name, items[0].version) == ("Asterisk Call Manager", "1.1")
    assert isinstance(items[1], amiproto.Response)
    assert isinstance(items[2], amiproto.UnknownMessage) and items[2].unparsed == ("plain text",)


def test_no_banner_is_fine() -> None:
    items = feed_all([b"Event: X\r\n\r\n"])
    assert isinstance(items[0], amiproto.Event) and items[0].name == "X"


def test_truncated_message_is_reported() -> None:
    ((raw, truncated, _),) = frames(b"Event: Cut\r\nChannel: SIP/1-0")
    assert truncated and raw == b"Event: Cut\r\nChannel: SIP/1-0"
    items = feed_all([b"Event: Cut\r\nChannel: SIP/1-0"])
    assert isinstance(items[0], amiproto.Event) and items[0].truncated
    assert items[0].get("Channel") == "SIP/1-0"


def test_follows_body_with_blank_lines_and_glued_marker() -> None:
    data = (
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\n"
        b"line one\n\nKey: looks like a header\nlast--END COMMAND--\r\n\r\nEvent: After\r\n\r\n"
    )
    items = feed_all([data])
    response, event = items[0], items[1]
    assert isinstance(response, amiproto.Response)
    assert response.output == ["line one", "", "Key: looks like a header", "last"]
    assert list(response.headers) == [("Response", "Follows"), ("Privilege", "Command"), ("ActionID", "7")]
    assert isinstance(event, amiproto.Event) and event.name == "After"


def test_follows_with_blank_line_then_marker() -> None:
    data = b"Response: Follows\r\nActionID: 1\r\n\r\n--END COMMAND--\r\n\r\nEvent: Next\r\n\r\n"
    items = feed_all([data])
    assert isinstance(items[0], amiproto.Response) and items[0].output == []
    assert items[0].raw.endswith(b"--END COMMAND--\r\n")
    assert isinstance(items[1], amiproto.Event)


def test_follows_cut_at_eof_keeps_its_body() -> None:
    items = feed_all([b"Response: Follows\r\nActionID: 1\r\npartial line\nmore"])
    response = items[0]
    assert isinstance(response, amiproto.Response) and response.truncated
    assert response.output == ["partial line", "more"]


def test_message_size_limit() -> None:
    conn = amiproto.Connection(max_message_size=100, max_buffer_size=1000)
    conn.receive_data(b"Event: Big\r\nData: " + b"x" * 200)
    with pytest.raises(amiproto.RemoteProtocolError, match="max_message_size"):
        conn.next_event()
    assert conn.state is amiproto.State.ERROR
    with pytest.raises(amiproto.RemoteProtocolError):
        conn.next_event()
    # Feeding more is refused with the error that caused the state, not a misuse error.
    with pytest.raises(amiproto.RemoteProtocolError, match="max_message_size") as refused:
        conn.receive_data(b"more")
    assert isinstance(refused.value.__cause__, amiproto.RemoteProtocolError)


def test_complete_but_oversized_message_is_refused() -> None:
    conn = amiproto.Connection(max_message_size=50, max_buffer_size=1000)
    conn.receive_data(b"Event: Big\r\nData: " + b"x" * 60 + b"\r\n\r\n")
    with pytest.raises(amiproto.RemoteProtocolError):
        conn.next_event()


def test_buffer_size_limit() -> None:
    conn = amiproto.Connection(max_message_size=100, max_buffer_size=150)
    conn.receive_data(b"Event: A\r\n\r\n" * 10)
    with pytest.raises(amiproto.RemoteProtocolError, match="max_buffer_size"):
        conn.receive_data(b"Event: B\r\n\r\n" * 10)
    assert conn.state is amiproto.State.ERROR


def test_limits_must_make_sense() -> None:
    with pytest.raises(amiproto.LocalProtocolError):
        amiproto.Connection(max_message_size=100, max_buffer_size=10)


class CountingBuffer(bytearray):
    """A bytearray that counts how many bytes find() and rfind() are asked to scan."""

    scanned = 0

    def find(  # type: ignore[override]
        self, sub: bytes, start: int | None = None, end: int | None = None
    ) -> int:
        begin = 0 if start is None else start
        stop = len(self) if end is None else min(end, len(self))
        found = super().find(sub, start, end)
        # A search stops at what it finds.
        CountingBuffer.scanned += max(0, (stop if found < 0 else found + len(sub)) - begin)
        return found

    def rfind(  # type: ignore[override]
        self, sub: bytes, start: int | None = None, end: int | None = None
    ) -> int:
        begin = 0 if start is None else start
        stop = len(self) if end is None else min(end, len(self))
        found = super().rfind(sub, start, end)
        CountingBuffer.scanned += max(0, stop - (begin if found < 0 else found))
        return found


@pytest.mark.parametrize(
    "body",
    [b"Event: Big\r\n", b"Response: Success\r\nActionID: 1\r\n", b"Response: Follows\r\nActionID: 1\r\n"],
)
@pytest.mark.parametrize("fast", [False, True])
def test_scanning_is_linear_in_the_number_of_chunks(body: bytes, fast: bool) -> None:
    """A big message fed in small chunks is scanned about once, not once per chunk,
    by the general path and by the fast path (which waits for the rest of it)."""
    follows = body.endswith(b"Follows\r\nActionID: 1\r\n")
    line = b"Output: " + b"y" * 60 + (b"\n" if follows else b"\r\n")
    message = body + line * 4000 + (b"--END COMMAND--\r\n\r\n" if follows else b"\r\n")
    framer = Framer(expect_greeting=False)
    framer._buf = CountingBuffer()
    CountingBuffer.scanned = 0
    taken: list[bytes] = []
    for i in range(0, len(message), 1448):
        framer.feed(message[i : i + 1448])
        run = take_fast_run(framer) if fast else None
        if run is None:
            frame = framer.next_frame()
            taken += [] if frame is None else [frame.raw]
        else:
            taken += [raw for raw, _ in run]
    # A Follows ends at its marker's line; the empty line after it separates.
    assert taken == [message.removesuffix(b"\r\n") if follows else message]
    assert CountingBuffer.scanned < 4 * len(message)


@pytest.mark.parametrize(
    ("head", "tail"),
    [
        (b"Response: Follows\r\nPrivilege: ", b"\r\n\r\n"),  # a long header line
        (b"Response: Follows\r\nPrivilege: Command\r\n\r\n", b"\n"),  # the line after the blank one
        (b"Response: Follows\r\nPrivilege: Command\r\nout\n--END COMMAND--", b"\n"),  # after the marker
    ],
)
def test_a_long_follows_line_in_pieces_is_searched_once(head: bytes, tail: bytes) -> None:
    """Each piece of a long line of a Follows answer was searched from the line's start."""
    message = head + b"x" * 300_000 + tail
    framer = Framer(expect_greeting=False)
    framer._buf = CountingBuffer()
    CountingBuffer.scanned = 0
    for i in range(0, len(message), 1448):
        framer.feed(message[i : i + 1448])
        framer.next_frame()
    framer.feed(b"")
    while framer.next_frame() is not None:
        pass
    assert CountingBuffer.scanned < 4 * len(message)


def test_a_glued_message_comes_out_at_the_same_read_in_c_and_in_python() -> None:
    """The C fast path left a glued message to the general path at once, the Python one
    waited for its end: the same bytes gave items at different reads."""
    conn = amiproto.Connection()
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\nEvent: A\r\nX: 1\r\nEvent: B\r\n")
    first = [item.raw for item in conn.next_events() if isinstance(item, amiproto.Event)]
    assert first == [b"Event: A\r\nX: 1\r\n"]
    conn.receive_data(b"Y: 2\r\n\r\n")
    assert [item.raw for item in conn.next_events() if isinstance(item, amiproto.Event)] == [
        b"Event: B\r\nY: 2\r\n\r\n"
    ]


def test_a_glued_message_is_complete_once_the_next_first_header_has_come() -> None:
    framer = Framer(expect_greeting=False)
    framer.feed(b"Event: A\r\nX: 1\r\nEvent: B\r\n")
    frame = framer.next_frame()
    assert frame is not None and frame.raw == b"Event: A\r\nX: 1\r\n"
    assert framer.next_frame() is None  # B waits for its end
    framer.feed(b"Y: 2\r\n\r\n")
    frame = framer.next_frame()
    assert frame is not None and frame.raw == b"Event: B\r\nY: 2\r\n\r\n"


class CountingPattern:
    """The framer's message-end pattern, counting into ``CountingBuffer.scanned`` the bytes
    each search looks at (up to what it finds)."""

    def __init__(self, pattern: re.Pattern[bytes]) -> None:
        self.pattern = pattern

    def search(self, buffer: bytearray, pos: int = 0, endpos: int | None = None) -> re.Match[bytes] | None:
        stop = len(buffer) if endpos is None else min(endpos, len(buffer))
        found = self.pattern.search(buffer, pos, stop)
        CountingBuffer.scanned += max(0, (stop if found is None else found.end()) - pos)
        return found


def mixed(count: int) -> bytes:
    """``count`` messages, every third of them for the general path."""
    return b"".join(
        b"Weird: %d\r\nX: y\r\n\r\n" % i if i % 3 == 0 else b"Event: E\r\nUniqueid: %d\r\n\r\n" % i
        for i in range(count)
    )


def bare_lf(count: int) -> bytes:
    """``count`` messages ended by a bare LF LF, not one LF CRLF among them."""
    return b"".join(b"Event: E\nUniqueid: %d\n\n" % i for i in range(count))


def glued(count: int) -> bytes:
    """``count`` events run into each other, one blank line after the last."""
    return b"".join(b"Event: E\r\nUniqueid: %d\r\n" % i for i in range(count)) + b"\r\n"


def cr_separated(count: int) -> bytes:
    """``count`` events, each followed by a stray CR: every one goes to the general path."""
    return b"".join(b"Event: E\r\nUniqueid: %d\r\n\r\n\r" % i for i in range(count))


def scanned_to_frame(count: int, make: Callable[[int], bytes] = mixed) -> tuple[int, int, int]:
    """What framing ``make(count)`` fed at once cost the pure-Python paths: bytes searched
    by ``find``, messages the fast path examined (each is checked for ``Event:``, by a
    ``map`` over ``repeat``), and the number of frames."""
    examined = 0

    def counting_repeat(value: bytes) -> Iterator[bytes]:
        nonlocal examined
        while True:
            examined += 1
            yield value

    stream = make(count)
    framer = Framer(expect_greeting=False)
    framer._buf = CountingBuffer()
    CountingBuffer.scanned = 0
    framer.feed(stream)
    framed = 0
    with (
        mock.patch.object(_framing, "repeat", counting_repeat),
        mock.patch.object(_framing, "_MESSAGE_END", CountingPattern(_framing._MESSAGE_END)),
        mock.patch.object(_framing, "_EVENT_END_OR_GLUED", CountingPattern(_framing._EVENT_END_OR_GLUED)),
        mock.patch.object(
            _framing, "_RESPONSE_END_OR_GLUED", CountingPattern(_framing._RESPONSE_END_OR_GLUED)
        ),
    ):
        while True:
            blocks = framer.take_plain_run()
            if blocks is None:
                if framer.next_frame() is None:
                    break
                framed += 1
            elif not blocks:
                break
            else:
                framed += len(blocks)
    return CountingBuffer.scanned, examined, framed


@pytest.mark.parametrize("make", [mixed, bare_lf, glued, cr_separated])
def test_many_messages_for_the_general_path_in_a_big_buffer_are_framed_in_linear_time(
    make: Callable[[int], bytes],
) -> None:
    """Each call of the fast path looked at the whole buffer for message ends, and each
    message for the general path ended a call; the general path looked for an LF CRLF end
    to the end of the buffer before a bare LF LF one, and for the end of each glued
    message to the one far end: quadratic in a big buffer of them."""
    small_scanned, small_examined, small_frames = scanned_to_frame(3000, make)
    big_scanned, big_examined, big_frames = scanned_to_frame(6000, make)
    assert (small_frames, big_frames) == (3000, 6000)
    assert big_scanned <= 2.5 * small_scanned
    assert big_examined <= 2.5 * small_examined


def frame_all(stream: bytes, *, use_fast_path: bool) -> list[bytes]:
    """Every frame's raw bytes (and ``<error>`` where framing failed), by one path."""
    framer = Framer(expect_greeting=False, max_message_size=64, max_buffer_size=4096)
    if stream:
        framer.feed(stream)
    framer.feed(b"")
    out: list[bytes] = []
    try:
        while True:
            run = take_fast_run(framer) if use_fast_path else None
            if run is not None:
                assert run, "the stream has ended: nothing can wait for more bytes"
                out.extend(raw for raw, _ in run)
                continue
            frame = framer.next_frame()
            if frame is None:
                return out
            out.append(frame.raw)
    except amiproto.RemoteProtocolError:
        return [*out, b"<error>"]


@pytest.mark.parametrize(
    "stream",
    [
        b"Event: A\r\nX: 1\r\n\r\nEvent: B\r\nY: 2\r\nEvent: C\r\n\r\nEvent: D\r\n\r\n",
        b"Event: A\r\n\r\nResponse: Success\r\nEvent: odd\r\n\r\nEvent: B\r\n\r\n",
        b"Event: A\r\nM: x\n\r\n\r\nEvent: B\r\n\r\n",
        b"Event: A\r\n\r\n\r\nEvent: B\r\nC: x\ny\r\n\r\nEvent: C\n\nEvent: D\r\n\r\n",
        b"Response: Follows\r\nActionID: 1\r\nbody\n--END COMMAND--\r\n\r\nEvent: E\r\n\r\n",
        b"Event: " + b"x" * 80 + b"\r\n\r\nEvent: small\r\n\r\n",
    ],
)
def test_fast_and_general_paths_frame_alike(stream: bytes) -> None:
    """The plain-run fast path gives exactly the general path's frames (and errors)."""
    assert frame_all(stream, use_fast_path=True) == frame_all(stream, use_fast_path=False)


PIECES = [
    b"Event: A",
    b"Event: B",
    b"Response: Success",
    b"Response: Follows",
    b"X: y",
    b"body",
    b"--END COMMAND--",
]
ENDINGS = [b"\r\n", b"\r\n", b"\r\n\r\n", b"\r\n\r\n", b"\n", b"\n\r\n", b"\n\n", b"\r"]


@given(st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(ENDINGS)), max_size=30))
def test_fast_path_agrees_on_generated_streams(parts: list[tuple[bytes, bytes]]) -> None:
    stream = b"".join(piece + ending for piece, ending in parts)
    assert frame_all(stream, use_fast_path=True) == frame_all(stream, use_fast_path=False)


@given(st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(ENDINGS)), max_size=30), st.data())
def test_generated_streams_frame_alike_however_chunked(
    parts: list[tuple[bytes, bytes]], data: st.DataObject
) -> None:
    stream = b"".join(piece + ending for piece, ending in parts)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    assert summary(feed_all(chunked(stream, cuts))) == summary(feed_all([stream]))


def drain_fast(framer: Framer) -> list[bytes]:
    """Every message the framer holds, by its fast path where it can, else the general one."""
    out: list[bytes] = []
    while True:
        run = take_fast_run(framer)
        if run:
            out += [raw for raw, _ in run]
            continue
        if run is not None:
            return out
        frame = framer.next_frame()
        if frame is None:
            return out
        out.append(frame.raw)


KINDS_OF_BUFFER = st.sampled_from([bytes, bytearray, memoryview])


MESSAGES = st.sampled_from(
    [
        b"Event: A\r\nX: 1\r\n\r\n",
        b"Response: Success\r\n\r\n",
        b"Event: B\n\n",
        b"Event: C\r\nEvent: D\r\n\r\n",  # glued
        b"Response: Follows\r\nPrivilege: Command\r\nline\n\n--END COMMAND--\r\n\r\n",
    ]
)


@given(
    st.lists(MESSAGES).map(b"".join),
    st.lists(st.tuples(st.integers(0, 300), KINDS_OF_BUFFER, st.booleans()), max_size=8),
    st.sampled_from([1, 16 * 1024]),
)
def test_every_kind_of_buffer_fed_in_any_pieces_frames_alike(
    stream: bytes, cuts: list[tuple[int, type, bool]], keep_from: int
) -> None:
    """bytes are kept as they are fed (the C path frames them in place, from
    ``keep_from`` bytes), other buffers copied; fed in pieces of any kind, drained after
    each or not, the messages are those the general path frames alone."""
    expected = [raw for raw, _, _ in frames(stream)] if stream else []
    framer = Framer(expect_greeting=False)
    out: list[bytes] = []
    bounds = sorted({cut for cut, _, _ in cuts if cut < len(stream)} | {0, len(stream)})
    drains = {cut: (kind, drained) for cut, kind, drained in cuts}
    with mock.patch.object(_framing, "_KEEP_FROM", keep_from):
        for start, stop in itertools.pairwise(bounds):
            kind, drained = drains.get(start, (bytes, True))
            framer.feed(kind(stream[start:stop]))
            if drained:
                out += drain_fast(framer)
        framer.feed(b"")
        out += drain_fast(framer)
    assert out == expected
    assert framer.buffered == 0


def test_a_buffer_changed_after_it_was_fed_changes_nothing() -> None:
    data = bytearray(b"Event: A\r\n\r\nEvent: B\r\n")
    framer = Framer(expect_greeting=False)
    with mock.patch.object(_framing, "_KEEP_FROM", 1):
        framer.feed(data)
    data[:] = b"x" * len(data)
    framer.feed(b"\r\n")
    assert drain_fast(framer) == [b"Event: A\r\n\r\n", b"Event: B\r\n\r\n"]


@pytest.mark.parametrize("keep_from", [1, 16 * 1024])
def test_bytes_kept_as_fed_count_towards_the_buffer_limit(keep_from: int) -> None:
    framer = Framer(expect_greeting=False, max_message_size=64, max_buffer_size=100)
    with mock.patch.object(_framing, "_KEEP_FROM", keep_from):
        framer.feed(b"Event: A\r\n\r\n" * 5)
        assert framer.buffered == 60
        with pytest.raises(amiproto.RemoteProtocolError, match="max_buffer_size"):
            framer.feed(b"Event: B\r\n\r\n" * 5)
