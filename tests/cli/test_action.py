"""``amiproto action``: answers, list events, JSON, names, and every user error."""

from __future__ import annotations

import json
import socket

import pytest

from amiproto_transports.cli._action import LEGACY_ACTIONS, SIMULATOR_ANSWERS, resolve_action, unknown_headers
from amiproto_transports.cli._common import UsageError
from amiproto_transports.simulator import Simulator

from .conftest import Runner, assert_one_line_error

Sim = tuple[Simulator, list[str]]


def test_ping_prints_the_response(cli: Runner, sim: Sim) -> None:
    result = cli("action", "Ping", *sim[1])
    assert result.code == 0
    assert "Pong" in result.out
    assert "Success" in result.out
    assert "ActionID" not in result.out  # the client's own id is noise


def test_headers_are_sent_raw_and_command_output_is_printed(cli: Runner, sim: Sim) -> None:
    result = cli("action", "Command", "Command=core show uptime", *sim[1])
    assert result.code == 0
    assert "System uptime:" in result.out


def test_value_may_contain_equals_and_repeats_are_kept(cli: Runner, sim: Sim) -> None:
    assert cli("action", "DBPut", "Family=f", "Key=k", "Val=a=b", *sim[1]).code == 0
    result = cli("action", "DBGet", "Family=f", "Key=k", "--json", *sim[1])
    assert result.code == 0
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert lines[1]["headers"]["Val"] == "a=b"


def test_response_error_exits_1(cli: Runner, sim: Sim) -> None:
    result = cli("action", "Command", "Command=no such thing", *sim[1])
    assert result.code == 1
    assert "Error" in result.out
    assert "Traceback" not in result.err


def test_list_action_as_table_and_as_json(cli: Runner, sim: Sim) -> None:
    _, options = sim
    # Two calls to list.
    for _ in range(2):
        originate = [
            "Channel=Local/wait@default",
            "Application=Wait",
            "Data=5",
            "Async=true",
        ]
        assert cli("action", "Originate", *originate, *options).code == 0
    table = cli("action", "CoreShowChannels", *options)
    assert table.code == 0
    header = next(line for line in table.out.splitlines() if line.startswith("Channel"))
    assert "ChannelStateDesc" in header
    assert table.out.count("Local/wait@default-") >= 2
    assert "list items" in table.err
    result = cli("action", "CoreShowChannels", "--json", *options)
    objects = [json.loads(line) for line in result.out.splitlines()]
    assert objects[0]["type"] == "response"
    assert objects[0]["action"] == "CoreShowChannels"
    assert isinstance(objects[0]["round_trip_ms"], float)
    assert objects[-1]["name"] == "CoreShowChannelsComplete"
    assert sum(o.get("name") == "CoreShowChannel" for o in objects) >= 2


def test_without_host_the_embedded_simulator_is_used(cli: Runner) -> None:
    result = cli("action", "CoreSettings")
    assert result.code == 0
    assert "AMIversion" in result.out
    # On stdout, first: whoever reads the answer also reads who gave it.
    assert result.out.splitlines()[0] == SIMULATOR_ANSWERS
    assert "embedded simulator" not in result.err
    as_json = json.loads(cli("action", "CoreSettings", "--json").out.splitlines()[0])
    assert as_json["server"] == "embedded simulator"


def test_a_real_server_is_not_called_the_simulator(cli: Runner, sim: tuple[Simulator, list[str]]) -> None:
    _, options = sim
    result = cli("action", "Ping", *options)
    assert result.code == 0
    assert "simulator" not in result.out + result.err
    assert "server" not in json.loads(cli("action", "Ping", "--json", *options).out.splitlines()[0])


def test_an_undocumented_header_warns_and_is_still_sent(
    cli: Runner, sim: tuple[Simulator, list[str]]
) -> None:
    _, options = sim
    result = cli("action", "DBPut", "Family=fam", "Key=k", "Value=v", *options)
    assert "warning: DBPut has no header Value (did you mean Val?)" in result.err
    # Sent as given: the server stored an empty value, as Asterisk does.
    got = cli("action", "DBGet", "Family=fam", "Key=k", "--json", *options)
    found = [json.loads(line) for line in got.out.splitlines()]
    assert [obj["headers"]["Val"] for obj in found if obj.get("name") == "DBGetResponse"] == [""]


def test_documented_headers_do_not_warn() -> None:
    assert unknown_headers("DBPut", [("family", "f"), ("Key", "k"), ("Val", "v"), ("ActionID", "1")]) == []
    numbered = [("Action-000000", "NewCat"), ("Cat-000012", "x"), ("UnitAmount(0)", "1")]
    assert unknown_headers("UpdateConfig", numbered[:2]) == []
    assert unknown_headers("AOCMessage", numbered[2:]) == []
    assert unknown_headers("UpdateConfig", [("Action-x", "NewCat")]) == [
        "UpdateConfig has no header Action-x"
    ]
    # Legacy and forced actions: the catalogue knows nothing to compare with.
    assert unknown_headers("SIPpeers", [("Anything", "1")]) == []
    assert unknown_headers("DBPut", [("Valu", "1"), ("VALU", "2")]) == [
        "DBPut has no header Valu (did you mean Val?)"
    ]


def test_names_are_matched_without_case_and_sent_canonically(cli: Runner) -> None:
    assert resolve_action("coreshowchannels") == ("CoreShowChannels", "CoreShowChannelsComplete")
    assert resolve_action("sippeers") == ("SIPpeers", "PeerlistComplete")
    result = cli("action", "ping", "--json")
    assert json.loads(result.out.splitlines()[0])["action"] == "Ping"


def test_legacy_names_are_sent(cli: Runner) -> None:
    # Asterisk 22 (and so the simulator) no longer has chan_sip: the server says so.
    result = cli("action", "SIPpeers")
    assert result.code == 1
    assert "Invalid/unknown command: SIPpeers" in result.out
    assert not any(name.lower() in {"ping", "originate"} for name in LEGACY_ACTIONS)


def test_unknown_name_is_refused_with_suggestions_unless_forced(cli: Runner) -> None:
    with pytest.raises(UsageError, match="did you mean Ping"):
        resolve_action("Pnig")
    assert resolve_action("MyModuleAction", force=True) == ("MyModuleAction", None)
    result = cli("action", "Pnig")
    assert result.code == 2
    assert_one_line_error(result.err, "unknown action 'Pnig'", "Ping", "--force")
    forced = cli("action", "MyModuleAction", "--force")
    assert forced.code == 1
    assert "Invalid/unknown command" in forced.out


def test_missing_required_header_is_a_warning_not_an_error(cli: Runner) -> None:
    result = cli("action", "Originate")
    assert "Originate documents Channel as required" in result.err
    assert result.code == 1  # the server's answer decides


@pytest.mark.parametrize("word", ["foo", "=value", "Bad Name=x", "A:b=c", "Action=Ping", "X=a\rb"])
def test_malformed_key_value(cli: Runner, word: str) -> None:
    result = cli("action", "Ping", word)
    assert result.code == 2
    assert_one_line_error(result.err, "malformed argument")
    assert result.out == ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_connection_refused(cli: Runner) -> None:
    port = free_port()
    result = cli("action", "Ping", "--host", "127.0.0.1", "--port", str(port), "--secret", "x")
    assert result.code == 2
    assert_one_line_error(result.err, f"127.0.0.1:{port}")


def test_timeout(cli: Runner, sim: Sim) -> None:
    simulator, options = sim
    simulator.set_fault("stall")
    result = cli("action", "Ping", *options, "--timeout", "0.3")
    assert result.code == 2
    assert_one_line_error(result.err, "timed out")


def test_bad_credentials(cli: Runner, sim: Sim) -> None:
    _, options = sim
    result = cli("action", "Ping", *options, "--secret", "wrong")
    assert result.code == 2
    assert_one_line_error(result.err, "bad credentials", "admin")
    assert "wrong" not in result.err
    plain = cli("action", "Ping", *options, "--secret", "wrong", "--auth", "plain", "--user", "bob")
    assert plain.code == 2
    assert_one_line_error(plain.err, "bad credentials", "bob")


def test_secret_from_the_environment(cli: Runner, sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    _, options = sim
    without_secret = options[: options.index("--secret")] + options[options.index("--secret") + 2 :]
    missing = cli("action", "Ping", *without_secret)
    assert missing.code == 2
    assert_one_line_error(missing.err, "AMI_SECRET")
    monkeypatch.setenv("AMI_SECRET", "wordpass")
    assert cli("action", "Ping", *without_secret).code == 0
    monkeypatch.setenv("AMI_SECRET", "nope")
    assert cli("action", "Ping", *without_secret).code == 2
    # Empty is unset, as for connect(): no login with an empty secret, the same error.
    monkeypatch.setenv("AMI_SECRET", "")
    empty = cli("action", "Ping", *without_secret)
    assert empty.code == 2
    assert_one_line_error(empty.err, "no secret given", "AMI_SECRET")


def test_bad_port(cli: Runner) -> None:
    result = cli("action", "Ping", "--port", "70000", "--secret", "x")
    assert result.code == 2
    assert_one_line_error(result.err, "70000")


def test_the_embedded_simulator_ignores_ami_secret(cli: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMI_SECRET", "for-the-real-server")
    assert cli("action", "Ping").code == 0
    assert cli("action", "Ping", "--secret", "wrong").code == 2
