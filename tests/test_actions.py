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


# -- the fast path of Action() and serialize(): the same as the checked path ----------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from amiproto._actions import Action  # noqa: E402

# Names and values that pass and that fail the checks, str and not.
_NAMES = st.one_of(
    st.sampled_from(["Channel", "Variable", "ActionID", "Secret", "Var-1", "Value-1", "action", " Pad"]),
    st.text(alphabet="ab:\r\n\0 ", min_size=0, max_size=4),
    st.integers(),
)
_VALUES = st.one_of(
    st.text(alphabet="xy\r\n\0é", max_size=4),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
    st.sampled_from(["secret", "ok"]),
)
_PAIRS = st.lists(
    st.one_of(st.tuples(_NAMES, _VALUES), st.lists(_NAMES, max_size=3), st.just("xy")), max_size=4
)


def _checked(name: object, pairs: list[object]) -> Action | str:
    action = Action.__new__(Action)
    try:
        action._init_checked(name, pairs, "Done")  # type: ignore[arg-type]
    except amiproto.LocalProtocolError as error:
        return str(error)
    return action


def _built(name: object, pairs: list[object]) -> Action | str:
    try:
        return Action(name, pairs, list_complete_event="Done")  # type: ignore[arg-type]
    except amiproto.LocalProtocolError as error:
        return str(error)


@given(st.one_of(st.sampled_from(["Ping", "Originate", "", " ", "Pi\r\nng", "A:b"]), st.none()), _PAIRS)
def test_the_fast_path_builds_what_every_check_builds(name: str, pairs: list[object]) -> None:
    expected = _checked(name, pairs)
    # Twice: the first may fill the name caches, the second then takes the fast path.
    for _ in range(2):
        built = _built(name, pairs)
        assert built == expected
        if isinstance(built, Action):
            assert isinstance(expected, Action)
            assert built.list_complete_event == expected.list_complete_event == "Done"
            assert [type(value) for _, value in built.headers] == [str] * len(built.headers)


def test_the_fast_path_reads_an_iterator_once() -> None:
    Action("Ping", [("Channel", "x")])  # cached names
    pairs = iter([("Channel", "x"), ("Bad\r\n", "y")])
    with pytest.raises(amiproto.LocalProtocolError, match="Bad"):
        Action("Ping", pairs)
    assert Action("Ping", iter([("Channel", "x")])).headers == (("Channel", "x"),)
    assert Action("Ping", {"Channel": "x"}, Async=True).headers == (("Channel", "x"), ("Async", "true"))


@given(
    st.sampled_from(["Ping", "Originate"]),
    st.lists(st.tuples(st.sampled_from(["ActionID", "Channel", "Data"]), st.text(max_size=5)), max_size=3),
    st.sampled_from(["utf-8", "latin-1"]),
)
def test_serialize_is_the_action_line_then_each_header(
    name: str, headers: list[tuple[str, str]], encoding: str
) -> None:
    try:
        action = Action(name, headers)
    except amiproto.LocalProtocolError:
        return  # a CR, LF or NUL in a value
    lines = [f"Action: {name}\r\n", *(f"{header}: {value}\r\n" for header, value in headers), "\r\n"]
    try:
        expected = "".join(lines).encode(encoding, "surrogateescape")
    except UnicodeEncodeError:
        with pytest.raises(amiproto.LocalProtocolError, match="cannot be encoded"):
            action.serialize(encoding)
        return
    assert action.serialize(encoding) == expected
    assert action.with_action_id("x-1").serialize(encoding) == expected.replace(
        b"\r\n", b"\r\nActionID: x-1\r\n", 1
    )
