"""Property tests: chunking never changes the result; serialise then parse round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import amiproto

from .helpers import chunked, feed_all, kind, load_jsonl, recording_paths, summary

# Every test here runs with the C speedups and in pure Python.
pytestmark = pytest.mark.usefixtures("implementation")

RECORDED_RX = [b"".join(d for direction, d in load_jsonl(p) if direction == "rx") for p in recording_paths()]

NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,15}", fullmatch=True)
VALUES = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\0"), max_size=40
)


@st.composite
def messages(draw: st.DrawFn) -> list[tuple[str, str]]:
    first = draw(st.sampled_from(["Event", "Response"]))
    head = (first, draw(NAMES))
    return [head, *draw(st.lists(st.tuples(NAMES, VALUES), max_size=8))]


@given(st.lists(messages(), min_size=1, max_size=6), st.data())
def test_serialise_then_parse_round_trips(batch: list[list[tuple[str, str]]], data: st.DataObject) -> None:
    stream = b"".join(amiproto.format_message(pairs) for pairs in batch)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    items = [i for i in feed_all(chunked(stream, cuts)) if isinstance(i, amiproto.Message)]
    assert [list(m.headers) for m in items] == batch
    assert [kind(m) for m in items] == [pairs[0][0] for pairs in batch]


@given(st.data())
def test_any_split_of_a_recording_gives_the_same_objects(data: st.DataObject) -> None:
    stream = data.draw(st.sampled_from(RECORDED_RX))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=60))
    assert summary(feed_all(chunked(stream, cuts))) == summary(feed_all([stream]))


def test_one_byte_at_a_time_gives_the_same_objects() -> None:
    for stream in RECORDED_RX:
        one = [stream[i : i + 1] for i in range(len(stream))]
        assert summary(feed_all(one)) == summary(feed_all([stream]))


@given(st.lists(st.tuples(NAMES, VALUES), min_size=1, max_size=8))
def test_actions_serialise_in_order(pairs: list[tuple[str, str]]) -> None:
    pairs = [(n, v) for n, v in pairs if n.lower() not in ("action", "actionid")]
    action = amiproto.Action("UserEvent", pairs)
    server = amiproto.ServerConnection()
    server.receive_data(action.serialize())
    received = server.next_action()
    assert isinstance(received, amiproto.ReceivedAction)
    assert list(received.headers) == [("Action", "UserEvent"), *pairs]


@given(
    st.lists(
        st.tuples(st.sampled_from(["ActionID", "actionid", "ActionId", "ACTIONID", "X", "Action"]), VALUES),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([[("Event", "X")], [("Response", "Success")], []]),
)
def test_fast_action_id_agrees_with_the_header_parse(
    pairs: list[tuple[str, str]], first: list[tuple[str, str]]
) -> None:
    conn = amiproto.Connection()
    conn.receive_data(amiproto.format_message([*first, *pairs]))
    message = conn.next_event()
    assert isinstance(message, amiproto.Message)
    assert message.action_id == message.headers.get("ActionID")


LINES = st.one_of(
    st.tuples(NAMES, VALUES).map(lambda pair: f"{pair[0]}: {pair[1]}"),
    st.tuples(NAMES, VALUES).map(lambda pair: f"{pair[0]}:{pair[1]}"),
    VALUES,  # often no colon at all
    st.sampled_from([":x", "a :b", "Named Callgroup: 1", " lead: x", "x\r"]),
)


@given(st.lists(LINES, min_size=1, max_size=10))
def test_regex_header_split_agrees_with_the_line_loop(lines: list[str]) -> None:
    from amiproto._headers import split_lines, split_lines_general

    text = "\r\n".join(lines) + "\r\n\r\n"
    assert split_lines(text) == split_lines_general(text)
