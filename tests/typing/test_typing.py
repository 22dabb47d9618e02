"""The public types help a user's code under ``mypy --strict``: the typed usage passes,
and a wrong callback or an unchecked optional is caught."""

from __future__ import annotations

import pathlib
import re

import mypy.api
import pytest

HERE = pathlib.Path(__file__).parent
SOURCES = HERE.parent.parent / "src"

# Each line of this file that mypy must flag ends with ``# E: <part of the message>``.
WRONG = """
from amiproto import Event, Response, actions, events
from amiproto.live import ChannelAdded
from amiproto_transports import sync


def on_hangup(event: events.Hangup) -> None: ...
def on_newchannel(event: events.Newchannel) -> None: ...
def on_response(response: Response) -> None: ...


def check(client: sync.Client) -> None:
    # (reveal_type inside a lambda shows mypy's first pass over the overloads, Any.)
    client.register_callback(events.Newchannel, lambda event: event.nope)  # E: "Newchannel" has no attribute
    client.register_callback("Newchannel", lambda event: event.nope)  # E: "Event" has no attribute
    client.register_callback("", lambda event: event.nope)  # E: "Event" has no attribute
    client.register_callback(None, lambda response: response.nope)  # E: "Response" has no attribute
    client.register_callback(events.Newchannel, on_hangup)  # E: expected "Callable[[Newchannel], object]"
    client.register_callback("Newchannel", on_newchannel)  # E: expected "Callable[[Event], object]"
    client.register_callback(None, on_newchannel)  # E: expected "Callable[[Response], object]"
    client.register_callback(Event, on_response)  # E: expected "Callable[[Event], object]"
    client.register_live_callback(ChannelAdded, lambda c: c.nope)  # E: "ChannelAdded" has no attribute
    client.register_live_callback(ChannelAdded, on_hangup)  # E: expected "Callable[[ChannelAdded], object]"
    client.register_live_callback(None, on_hangup)  # E: expected "Callable[[ChannelAdded | ChannelChanged
    done = client.send_action(actions.Ping(), wait_for_result=True)
    reveal_type(done.get("Message"))  # E: "str | None"
    done.response.get("Message")  # E: Item "None" of "Response | None" has no attribute "get"
"""


def run_mypy(*paths: pathlib.Path, cache: pathlib.Path) -> list[str]:
    stdout, stderr, _ = mypy.api.run(
        [
            "--strict",
            "--no-error-summary",
            "--show-error-end",
            "--hide-error-context",
            "--cache-dir",
            str(cache),
            "--python-version",
            "3.10",
            *map(str, paths),
        ]
    )
    assert not stderr, stderr
    return stdout.splitlines()


@pytest.mark.timeout(240)
def test_typed_usage_passes_and_mistakes_are_caught(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = tmp_path / "wrong_usage.py"
    wrong.write_text(WRONG)
    monkeypatch.setenv("MYPYPATH", str(SOURCES))
    # One run for both files: the costly part is reading the catalogue's stubs.
    lines = run_mypy(HERE / "typed_usage.py", wrong, cache=tmp_path / "cache")
    assert not [line for line in lines if "typed_usage.py" in line]
    expected = {
        number: marker.split("# E: ", 1)[1]
        for number, marker in enumerate(WRONG.splitlines(), 1)
        if "# E: " in marker
    }
    found: dict[int, list[str]] = {}
    for line in lines:
        match = re.match(r".*wrong_usage\.py:(\d+):\d+:(?:\d+:\d+:)? (?:error|note): (.*)", line)
        assert match is not None, line
        found.setdefault(int(match[1]), []).append(match[2])
    assert set(found) == set(expected), "\n".join(lines)
    for number, part in expected.items():
        assert any(part in message for message in found[number]), (number, part, found[number])
