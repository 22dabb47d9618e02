"""Actions: what a program asks, checked before a byte is written."""

from __future__ import annotations

import pytest

import amiproto
from amiproto._actions import header_text

# Every test here runs with the C speedups and in pure Python.
pytestmark = pytest.mark.usefixtures("implementation")


def test_header_injection_is_refused() -> None:
    for bad in ("a\r\nAction: Hangup", "a\nb", "a\0"):
        with pytest.raises(amiproto.LocalProtocolError):
            amiproto.Action("Originate", Variable=bad)
        with pytest.raises(amiproto.LocalProtocolError):
            amiproto.Action("Originate", [(bad, "x")])
    with pytest.raises(amiproto.LocalProtocolError):
        amiproto.Action("Ping\r\nAction: Hangup")
    with pytest.raises(amiproto.LocalProtocolError):
        amiproto.Action("Ping", [("Action", "Hangup")])
    with pytest.raises(amiproto.LocalProtocolError):
        amiproto.Action("Ping", [("Bad:Name", "x")])


def test_secrets_never_shown() -> None:
    action = amiproto.Action("Login", Username="admin", Secret="s3cr3t", Key="k3y")
    for text in (repr(action), str(action), repr([action])):
        assert "s3cr3t" not in text and "k3y" not in text
    with pytest.raises(amiproto.LocalProtocolError) as caught:
        amiproto.Action("Login", Secret="s3cr3t\r\n")
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (False, "false"), (5, "5"), (1.5, "1.5"), ("on", "on"), ("", "")],
)
def test_values_become_header_text(value: amiproto._actions.HeaderValue, text: str) -> None:
    assert header_text(value) == text
    assert amiproto.Action("Setvar", Value=value).get("Value") == text


def test_other_value_types_are_refused() -> None:
    with pytest.raises(amiproto.LocalProtocolError, match="must be str, int, float or bool"):
        amiproto.Action("Setvar", Value=None)  # type: ignore[arg-type]


def test_pairs_come_first_then_keywords_in_order() -> None:
    action = amiproto.Action("Originate", [("Variable", "A=1"), ("Variable", "B=2")], Channel="Local/1@x")
    assert action.serialize() == (
        b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\nChannel: Local/1@x\r\n\r\n"
    )
    assert action.headers == (("Variable", "A=1"), ("Variable", "B=2"), ("Channel", "Local/1@x"))


def test_the_list_end_travels_with_the_action() -> None:
    action = amiproto.Action("SIPpeers", list_complete_event="PeerlistComplete")
    assert action.list_complete_event == "PeerlistComplete"
    copy = action.with_action_id("p-1")
    assert copy.list_complete_event == "PeerlistComplete"
    assert copy.headers == (("ActionID", "p-1"),) and action.headers == ()
