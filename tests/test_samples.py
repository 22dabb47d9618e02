"""Every public sample stream: parsed or refused with RemoteProtocolError, never lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import amiproto

from .conftest import SAMPLES, needs_shared
from .helpers import chunked, feed_all, kind, summary

# Every test here runs with the C speedups and in pure Python.
pytestmark = pytest.mark.usefixtures("implementation")

pytestmark = needs_shared(SAMPLES)

SAMPLE_PATHS = sorted(SAMPLES.glob("*.ami")) if SAMPLES.exists() else []


def parse(chunks: list[bytes]) -> list[object]:
    """Items, or the RemoteProtocolError that ended the stream, as the last element."""
    conn = amiproto.Connection(action_id_prefix="t")
    out: list[object] = []
    try:
        out.extend(feed_all(chunks, conn))
    except amiproto.RemoteProtocolError as error:
        out.append(error)
    return out


def assert_lossless(data: bytes, items: list[object]) -> None:
    """Every byte is inside some item's raw, except CR/LF between messages."""
    position = 0
    for item in items:
        if isinstance(item, (amiproto.Message, amiproto.Greeting)):
            start = data.find(item.raw, position)
            assert start >= 0, f"{item.raw!r} not found in order"
            assert set(data[position:start]) <= {10, 13}, data[position:start]
            position = start + len(item.raw)
    assert set(data[position:]) <= {10, 13}, f"lost bytes: {data[position:]!r}"


@pytest.mark.parametrize("path", SAMPLE_PATHS, ids=lambda p: p.name[:3])
def test_sample_parses_without_loss(path: Path) -> None:
    data = path.read_bytes()
    items = parse([data])
    assert not isinstance(items[-1], amiproto.RemoteProtocolError)
    assert isinstance(items[-1], amiproto.ConnectionClosed)
    assert_lossless(data, items)


@pytest.mark.parametrize("path", SAMPLE_PATHS, ids=lambda p: p.name[:3])
def test_sample_one_byte_at_a_time(path: Path) -> None:
    data = path.read_bytes()
    if len(data) > 40_000:
        data = data[:40_000]
    whole = summary(parse([data]))
    assert summary(parse([data[i : i + 1] for i in range(len(data))])) == whole


@given(st.data())
def test_any_chunking_of_any_sample(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(SAMPLE_PATHS))
    stream = path.read_bytes()
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=40))
    assert summary(parse(chunked(stream, cuts))) == summary(parse([stream]))


def _sample(prefix: str) -> bytes:
    return next(SAMPLES.glob(f"{prefix}_*.ami")).read_bytes()


def _messages(prefix: str) -> list[amiproto.Message]:
    return [i for i in parse([_sample(prefix)]) if isinstance(i, amiproto.Message)]


def test_follows_bodies() -> None:
    (version,) = _messages("013")
    assert isinstance(version, amiproto.Response) and version.status == "follows"
    assert version.action_id == "action/transaction_uid/1/1"
    assert version.output[0].startswith("Asterisk 11.11.0")
    assert len(version.output) == 1
    _first, glued = _messages("068")
    assert isinstance(glued, amiproto.Response)
    assert glued.output == ["foo", "bar"] and glued.action_id == "1234"
    (looks_like_header,) = _messages("038")
    assert isinstance(looks_like_header, amiproto.Response)
    assert looks_like_header.output == ["System uptime: 46 minutes, 30 seconds"]
    assert "System uptime" not in looks_like_header.headers
    (blank_lines,) = _messages("048")
    assert isinstance(blank_lines, amiproto.Response)
    assert blank_lines.output[-2:] == ["   No Callers", ""]
    assert blank_lines.output.count("") == _sample("048").count(b"\n\n")


def test_header_only_follows_then_list() -> None:
    messages = _messages("020")
    assert isinstance(messages[0], amiproto.Response) and messages[0].status == "follows"
    assert messages[0].output == []
    assert isinstance(messages[1], amiproto.Response) and messages[1].event_list == "start"


def test_stray_empty_line_after_bare_lf_value() -> None:
    messages = _messages("085")
    assert [m.get("Message") for m in messages] == [
        "No endpoints found",
        "CoreShowChannelMap requires a channel.",
        "Park successful",
    ]


def test_crlf_lf_terminator_does_not_swallow_next_message() -> None:
    messages = _messages("084")
    assert [kind(m) for m in messages] == ["Response", "Event", "Event"]
    assert messages[1].get("ConnectedChannel") == "PJSIP/bob-00000001"


def test_lines_without_colon_are_kept() -> None:
    moh, cut = _messages("024")
    assert moh.unparsed == ("Chan",) and moh.get("Priv") == "all"
    assert cut.truncated


def test_non_utf8_bytes_are_recoverable() -> None:
    (message,) = _messages("071")
    for name, value in message.headers:
        raw_line = f"{name}: {value}".encode("utf-8", "surrogateescape")
        assert raw_line in message.raw


def test_glued_events_are_split() -> None:
    items = _messages("020")
    members = [m for m in items if isinstance(m, amiproto.Event) and m.name == "QueueMember"]
    assert all(len(m.headers.get_all("Event")) == 1 for m in members)


def test_event_with_response_header_is_an_event() -> None:
    (event,) = _messages("077")
    assert isinstance(event, amiproto.Event) and event.name == "OriginateResponse"
