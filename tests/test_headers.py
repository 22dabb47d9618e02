"""Headers: the ordered, case-insensitive, lossless view of a message's header lines."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st

import amiproto
from amiproto import _headers
from amiproto._headers import Headers, headers_of_text, parse_header_lines, split_lines, split_lines_general

from .helpers import connected, reply

# Every test here runs with the C speedups and in pure Python.
pytestmark = pytest.mark.usefixtures("implementation")


def test_header_values_are_verbatim_and_lookup_ignores_case() -> None:
    conn = connected()
    (event,) = reply(conn, "Event: X\nA:  two spaces \nB:\nb: dup\nC:no space\n\n")
    assert isinstance(event, amiproto.Event)
    assert list(event.headers) == [
        ("Event", "X"),
        ("A", " two spaces "),
        ("B", ""),
        ("b", "dup"),
        ("C", "no space"),
    ]
    assert event.headers.get("b") == "" and event.headers.get_all("B") == ["", "dup"]
    assert event.get("missing", "d") == "d" and "c" in event.headers


def test_headers_with_empty_names_and_shapes() -> None:
    conn = connected()
    items = reply(conn, ":only\n\nEvent: X\nA: 1\n\nEvent: X\nA: 2\nB: 3\n\n")
    assert list(items[0].headers) == [("", "only")]  # type: ignore[union-attr]
    assert [list(i.headers) for i in items[1:]] == [  # type: ignore[union-attr]
        [("Event", "X"), ("A", "1")],
        [("Event", "X"), ("A", "2"), ("B", "3")],
    ]
    assert amiproto.Headers([]) == [] and len(amiproto.Headers([("", "")])) == 1


@pytest.mark.parametrize(
    "text",
    [
        "A: 1\r\nB: 2\r\n\r\n",
        "A: 1\nB:2\n",
        "A: 1\r\nno colon\r\nB: \r\n\r\n",
        "A:: x\r\n: empty name\r\nC:  spaced \r\n\r\n",
        "Output: x\r\nOutput: y\r\n\r\n",
    ],
)
def test_the_fast_split_gives_what_the_general_loop_gives(text: str) -> None:
    assert split_lines(text) == split_lines_general(text)


def test_one_space_after_the_colon_is_the_separator_and_the_rest_is_the_value() -> None:
    pairs, unparsed = parse_header_lines("A: 1\r\nB:2\r\nC:  3\r\nD: a: b\r\nnot a header\r\n\r\n")
    assert pairs == [("A", "1"), ("B", "2"), ("C", " 3"), ("D", "a: b")]
    assert unparsed == ["not a header"]


def test_headers_behave_as_an_immutable_sequence_of_pairs() -> None:
    headers = Headers([("A", "1"), ("b", "2"), ("B", "3")])
    assert len(headers) == 3 and headers[0] == ("A", "1") and headers[1:] == [("b", "2"), ("B", "3")]
    assert headers.get("B") == "2" and headers.get_all("b") == ["2", "3"] and headers.get_all("x") == []
    assert "a" in headers and "x" not in headers and 1 not in headers
    assert headers == [("A", "1"), ("b", "2"), ("B", "3")] and headers == Headers(list(headers))
    assert hash(headers) == hash(Headers(list(headers)))
    assert "('A', '1')" in repr(headers)


@contextmanager
def fresh_shapes() -> Iterator[None]:
    """Empty shape tables, a pattern for a shape seen once, and a budget of four."""
    with patch.multiple(
        _headers, _SHAPES={}, _GUESSES={}, _PATTERN_AFTER=1, _PATTERNS_LIMIT=4, _patterns_made=0
    ):
        yield


NAMES = st.sampled_from(["Event", "A", "a(b)", "x.*", "Chan\\nel", "", "Key ", "k\rk", "é"])
VALUES = st.sampled_from(["", "1", " x", "a: b", "tab\there", "cr\rin", "é\udce9", "Event: X"])


@given(st.lists(st.tuples(NAMES, VALUES), min_size=1, max_size=6), st.sampled_from(["\r\n", "\n"]))
def test_a_shape_seen_before_parses_by_its_pattern_as_by_the_split(
    pairs: list[tuple[str, str]], line_end: str
) -> None:
    """The pure-Python parse matches a known shape's pattern first: whatever the text,
    it gives what split_lines gives, through the pattern or past it."""
    text = "".join(f"{name}: {value}{line_end}" for name, value in pairs) + line_end
    expected_names, expected_values, expected_unparsed = split_lines(text)
    by_pattern = line_end == "\r\n" and text.find("\r") > 0 and not any("\r" in value for _, value in pairs)
    with fresh_shapes():
        for attempt in range(3):
            headers, unparsed = headers_of_text(text)
            assert list(headers) == list(zip(expected_names, expected_values, strict=True))
            assert unparsed == expected_unparsed
            assert (type(headers._values) is tuple) == (by_pattern and attempt > 0)


def test_patterns_are_made_for_shapes_seen_often_and_within_a_budget() -> None:
    texts = [f"Event: E{i}\r\nA: 1\r\nB{i}: 2\r\n\r\n" for i in range(6)]
    with fresh_shapes():
        check_patterns(texts)


def check_patterns(texts: list[str]) -> None:
    shapes = [headers_of_text(text)[0]._shape for text in texts]
    assert [shape.pattern is not None for shape in shapes] == [True] * 4 + [False] * 2
    headers, _ = headers_of_text(texts[0].replace(": 2", ": 3"))
    assert type(headers._values) is tuple and list(headers) == [("Event", "E0"), ("A", "1"), ("B0", "3")]
    # The same first line on another shape: the pattern does not match, the split parses.
    headers, unparsed = headers_of_text("Event: E0\r\nA: 1\r\nno colon\r\n\r\n")
    assert list(headers) == [("Event", "E0"), ("A", "1")] and unparsed == ["no colon"]
    assert headers == Headers([("Event", "E0"), ("A", "1")])


@pytest.mark.timeout(10)
def test_a_long_shape_whose_pattern_fails_late_is_parsed_at_once() -> None:
    """A message that begins as a known shape of many headers and differs only at its
    end: the pattern must fail at once. It used to try two ways of taking each line's
    space, 2**40 here, which hung the pure-Python parse (found by fuzzing the live model)."""
    names = [f"Header{i}" for i in range(40)]
    known = "Event: Long\r\n" + "".join(f"{name}: v\r\n" for name in names) + "\r\n"
    other = known.replace("Header39: v", "Other: v")
    with fresh_shapes():
        assert headers_of_text(known)[0]._shape.pattern is not None
        headers, unparsed = headers_of_text(other)
    assert list(headers)[-1] == ("Other", "v") and len(headers) == 41 and unparsed == []
