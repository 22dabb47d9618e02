"""Headers: the ordered, case-insensitive, lossless view of a message's header lines."""

from __future__ import annotations

import pytest

import amiproto
from amiproto._headers import Headers, parse_header_lines, split_lines, split_lines_general

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
