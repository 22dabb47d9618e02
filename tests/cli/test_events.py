"""``amiproto events``: tail, filters, JSON, limits, and a connection that ends."""

from __future__ import annotations

import json
import threading

import pytest

from amiproto_transports.simulator import Simulator

from .conftest import Runner, assert_one_line_error


def test_count_against_the_embedded_simulator(cli: Runner) -> None:
    result = cli("events", "--count", "5", "--calls-per-second", "20")
    assert result.code == 0
    assert len(result.out.splitlines()) == 5
    assert "embedded simulator" in result.err


def test_json_lines_parse(cli: Runner) -> None:
    result = cli("events", "--count", "4", "--json", "--calls-per-second", "20")
    assert result.code == 0
    objects = [json.loads(line) for line in result.out.splitlines()]
    assert len(objects) == 4
    for obj in objects:
        assert obj["type"] == "event"
        assert obj["headers"]["Event"] == obj["name"]
        assert isinstance(obj["time"], float)


def test_filters_repeatable_and_comma_separated(cli: Runner) -> None:
    result = cli(
        "events", "--filter", "newchannel", "--filter", "Hangup,DialBegin", "--count", "6", "--json",
        "--calls-per-second", "20",
    )  # fmt: skip
    names = {json.loads(line)["name"] for line in result.out.splitlines()}
    assert names <= {"Newchannel", "Hangup", "DialBegin"}
    assert "Newchannel" in names


def test_duration_ends_a_quiet_tail(cli: Runner) -> None:
    result = cli("events", "--duration", "0.3", "--filter", "NoSuchEvent")
    assert result.code == 0
    assert result.out == ""


def test_against_a_named_server_with_login_events(cli: Runner) -> None:
    simulator = Simulator(calls_per_second=20)
    with simulator.running() as (host, port):
        result = cli("events", "--host", host, "--port", str(port), "--secret", "wordpass", "--count", "1")
    assert result.code == 0
    # The callback is in place before the login, so its first event is not missed.
    assert "FullyBooted" in result.out
    assert "embedded" not in result.err


def test_connection_closed_by_the_server_is_an_error(cli: Runner) -> None:
    simulator = Simulator()
    with simulator.running() as (host, port):
        threading.Timer(0.5, simulator.stop).start()
        result = cli(
            "events", "--host", host, "--port", str(port), "--secret", "wordpass", "--duration", "10"
        )
    assert result.code == 2
    assert_one_line_error(result.err, "closed")


@pytest.mark.parametrize(
    ("option", "value"), [("--count", "0"), ("--calls-per-second", "0"), ("--count", "x")]
)
def test_bad_options(cli: Runner, option: str, value: str) -> None:
    result = cli("events", option, value)
    assert result.code == 2
    assert "Traceback" not in result.err
