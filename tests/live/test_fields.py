"""Reading a fixed list of headers from many events (``amiproto.live._fields``)."""

from __future__ import annotations

from functools import partial

import pytest

import amiproto
from amiproto.live import _fields
from amiproto.live._fields import header_list_reader, header_reader


def message(text: str) -> amiproto.Event:
    return amiproto.Event(text.replace("\n", "\r\n").encode())


@pytest.mark.usefixtures("implementation")  # with the C speedups and in pure Python
def test_a_reader_reads_its_headers_in_its_order_as_get_does() -> None:
    read = header_reader(["uniqueid", "Channel", "Missing", "Value"])
    event = message("Event: VarSet\nChannel: PJSIP/a\nUniqueid: 1.1\nValue: x: y\nvalue: second\n\n")
    assert read(event) == ("1.1", "PJSIP/a", None, "x: y")
    assert read(event) == tuple(event.get(name) for name in ("uniqueid", "Channel", "Missing", "Value"))
    # Another shape, then the first again: each reads its own positions.
    other = message("Event: VarSet\nValue: 1\nUniqueid: 2.2\nMissing: here\nChannel: b\n\n")
    assert read(other) == ("2.2", "b", "here", "1")
    assert read(event) == ("1.1", "PJSIP/a", None, "x: y")


@pytest.mark.usefixtures("implementation")  # with the C speedups and in pure Python
def test_a_reader_remembers_a_bounded_number_of_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fields, "_GETTERS_LIMIT", 3)
    read = header_reader(["A", "B"])
    shapes = [message(f"Event: X\nA: {n}\nB: b\nExtra{n}: 1\n\n") for n in range(10)]
    assert [read(event) for event in shapes] == [(str(n), "b") for n in range(10)]
    # White box: the reader's cache of getters.
    assert 0 < len(read.getters) <= 3  # type: ignore[attr-defined]


def test_a_reader_needs_two_headers() -> None:
    with pytest.raises(ValueError, match="two"):
        header_reader(["Uniqueid"])


def test_a_list_reader_reads_side_by_side_headers_as_one_slice_and_any_other_shape_alike(
    implementation: str,
) -> None:
    read = header_list_reader(["Channel", "State", "Uniqueid"])
    side_by_side = message("Event: Newstate\nChannel: PJSIP/a\nState: 6\nUniqueid: 1.1\nLinkedid: 1.1\n\n")
    assert read(side_by_side) == ["PJSIP/a", "6", "1.1"]
    # White box: one getter per shape, a slice where the headers stand in the reader's order.
    (getter,) = read.getters.values()  # type: ignore[attr-defined]
    if implementation == "python":
        assert repr(getter) == "operator.itemgetter(slice(1, 4, None))"
    else:  # a view of the message's values, which decodes none of them
        assert isinstance(getter, partial) and getter.args == (1, 4)
        assert type(read(side_by_side)).__name__ == "HeaderValues"
    shuffled = message("Event: Newstate\nUniqueid: 2.2\nState: 4\nX: y\nchannel: PJSIP/b\n\n")
    missing = message("Event: Newstate\nUniqueid: 3.3\nChannel: PJSIP/c\n\n")
    duplicated = message("Event: Newstate\nChannel: PJSIP/d\nState: 6\nChannel: PJSIP/e\nUniqueid: 4.4\n\n")
    for event in (side_by_side, shuffled, missing, duplicated, side_by_side):
        values = read(event)
        assert values == [event.get(name) for name in ("Channel", "State", "Uniqueid")]
        assert list(values) == [event.get(name) for name in ("Channel", "State", "Uniqueid")]
        assert len(values) == 3
        if event is not side_by_side:
            assert type(values) is list
