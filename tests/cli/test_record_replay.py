"""``amiproto record`` and ``amiproto replay``: the format, redaction, and round trips."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import amiproto
from amiproto_transports.cli._recording import SessionWriter, read_session, redact
from amiproto_transports.cli._replay import load_script, rewrite_ids
from amiproto_transports.simulator import Simulator
from amiproto_transports.sync import connect

from ..conftest import DATA, ROOT
from .conftest import Runner, assert_one_line_error, subprocess_env

LOAD_RX = ROOT / "src" / "amiproto_transports" / "data" / "load_120calls.rx.gz"


def chunks(path: Path, direction: str) -> bytes:
    return b"".join(data for d, data in read_session(path) if d == direction)


# -- redaction and the file format --------------------------------------------------


def test_secret_split_across_chunks_is_still_redacted(tmp_path: Path) -> None:
    writer = SessionWriter(tmp_path / "s.jsonl")
    writer.write("rx", b"Asterisk Call Manager/11.0.0\r\n")
    writer.write("tx", b"Action: Login\r\nUsername: admin\r\nSecret: word")
    writer.write("rx", b"Event: X\r\n\r\n")
    writer.write("tx", b"pass\r\nKey: 0123abcd\r\n\r\n")
    writer.close()
    text = (tmp_path / "s.jsonl").read_text()
    tx = chunks(tmp_path / "s.jsonl", "tx")
    assert b"word" not in tx and b"pass" not in tx and b"0123abcd" not in tx
    assert tx == b"Action: Login\r\nUsername: admin\r\nSecret: <redacted>\r\nKey: <redacted>\r\n\r\n"
    # Whole lines go out at once; the unfinished "Secret: word" waits for its end.
    assert [json.loads(line)["dir"] for line in text.splitlines()] == ["rx", "tx", "rx", "tx"]


def test_rx_redacts_only_config_secrets() -> None:
    data = b"Response: Success\r\nKey: dbkey\r\nLine-000001-000002: secret=hunter2\r\n\r\n"
    assert (
        redact("rx", data)
        == b"Response: Success\r\nKey: dbkey\r\nLine-000001-000002: secret=<redacted>\r\n\r\n"
    )
    assert redact("tx", b"secret :x\r\n") == b"secret : <redacted>\r\n"
    json_answer = b'Response: Success\r\nJSON: {"admin":{"secret":"wordpass","read":"all"}}\r\n\r\n'
    assert redact("rx", json_answer) == (
        b'Response: Success\r\nJSON: {"admin":{"secret":"<redacted>","read":"all"}}\r\n\r\n'
    )


def test_read_session_reports_bad_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"dir": "rx", "hex": "41"}\n{"dir": "up", "hex": ""}\n')
    with pytest.raises(ValueError, match="line 2"):
        read_session(bad)
    bad.write_text("not json\n")
    with pytest.raises(ValueError, match="line 1"):
        read_session(bad)


# -- record --------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["md5", "plain"])
def test_record_own_session_redacts_secrets(cli: Runner, tmp_path: Path, auth: str) -> None:
    path = tmp_path / "session.jsonl"
    result = cli(
        "record",
        str(path),
        "--auth",
        auth,
        "--action",
        "Ping",
        "--action",
        "Command 'Command=core show uptime'",
    )
    assert result.code == 0, result.err
    assert "saved" in result.out
    tx, rx = chunks(path, "tx"), chunks(path, "rx")
    assert b"wordpass" not in tx + rx
    secret_header = b"Key: <redacted>" if auth == "md5" else b"Secret: <redacted>"
    assert secret_header in tx
    for name in (b"Login", b"Ping", b"Command", b"Logoff"):
        assert b"Action: " + name in tx
    assert rx.startswith(b"Asterisk Call Manager/")
    assert b"System uptime:" in rx and b"Response: Goodbye" in rx


def test_record_events_for_a_while_gzip(cli: Runner, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl.gz"
    result = cli("record", str(path), "--count", "5")
    assert result.code == 0, result.err
    with gzip.open(path, "rt") as stream:
        assert all(json.loads(line)["dir"] in ("rx", "tx") for line in stream)
    assert chunks(path, "rx").count(b"Event: ") >= 5


def test_record_another_clients_session_as_a_proxy(tmp_path: Path) -> None:
    path = tmp_path / "proxy.jsonl"
    simulator = Simulator()
    with simulator.running() as (host, port):
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "amiproto_transports", "record", str(path), "--listen", "0"),
                *("--host", host, "--port", str(port), "--secret", "unused", "--duration", "15"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        )
        try:
            assert process.stdout is not None
            found = re.search(r"127\.0\.0\.1:(\d+)", process.stdout.readline())
            assert found
            with connect(
                host, int(found.group(1)), username="admin", secret="wordpass", auth="plain"
            ) as client:
                assert client.send_action(amiproto.Action("Ping"), timeout=5).success
            _, err = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(5)
    assert process.returncode == 0, err
    tx = chunks(path, "tx")
    assert b"Action: Ping" in tx and b"Secret: <redacted>" in tx and b"wordpass" not in tx


def read_log(path: Path) -> list[tuple[str, bytes]]:
    """The chunks of a ``.log``, read by their headers' byte counts."""
    data, chunks, at = path.read_bytes(), [], 0
    while at < len(data):
        header_end = data.index(b"\n", at)
        found = re.fullmatch(rb"--- (rx|tx) (\d+)", data[at:header_end])
        assert found, data[at : at + 40]
        size = int(found.group(2))
        chunks.append((found.group(1).decode(), data[header_end + 1 : header_end + 1 + size]))
        at = header_end + 1 + size
        assert data[at : at + 1] == b"\n"
        at += 1
    return chunks


@pytest.mark.parametrize("name", ["session.jsonl", "session.jsonl.gz"])
def test_record_log_writes_the_readable_form_beside(cli: Runner, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    result = cli("record", str(path), "--log", "--auth", "plain", "--action", "Ping")
    assert result.code == 0, result.err
    log = tmp_path / "session.log"
    assert str(log) in result.out
    # The same chunks as the exact form, so the same redaction.
    assert read_log(log) == read_session(path)
    text = log.read_bytes()
    assert b"Secret: <redacted>" in text and b"wordpass" not in text
    assert b"--- tx " in text and b"Action: Ping\r\n" in text


def test_record_log_needs_a_jsonl_name(cli: Runner, tmp_path: Path) -> None:
    result = cli("record", str(tmp_path / "session.log"), "--log", "--action", "Ping")
    assert_one_line_error(result.err, "--log needs")
    assert not (tmp_path / "session.log").exists()


def test_without_log_no_log_is_written(cli: Runner, tmp_path: Path) -> None:
    assert cli("record", str(tmp_path / "session.jsonl"), "--action", "Ping").code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.jsonl"]


def test_record_errors(cli: Runner, tmp_path: Path) -> None:
    refused = cli("record", str(tmp_path / "x.jsonl"), "--host", "127.0.0.1", "--port", "1", "--secret", "x")
    assert refused.code == 2
    assert_one_line_error(refused.err, "127.0.0.1:1")
    unwritable = cli("record", str(tmp_path / "no" / "dir" / "x.jsonl"))
    assert_one_line_error(unwritable.err, "cannot write")
    assert_one_line_error(cli("record", str(tmp_path / "y.jsonl"), "--action", "Pnig").err, "unknown action")
    assert_one_line_error(cli("record", str(tmp_path / "y.jsonl"), "--action", "Ping x").err, "malformed")


# -- replay ----------------------------------------------------------------------------


def test_rewrite_ids() -> None:
    data = b"Response: Success\r\nActionID: c1\r\n\r\nEvent: X\r\nactionid:l1\r\n\r\n"
    assert rewrite_ids(data, {"c1": "live-1", "l1": None}) == (
        b"Response: Success\r\nActionID: live-1\r\n\r\nEvent: X\r\n\r\n"
    )


def test_load_script_turns() -> None:
    script = load_script(DATA / "md5_login.jsonl.gz")
    kinds = ["rx" if isinstance(turn, bytes) else [a.name for a in turn] for turn in script.turns]
    assert kinds[:4] == ["rx", ["Challenge"], "rx", ["Login"]]
    assert script.actions == 3


def start_replay(*argv: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "amiproto_transports", "replay", *argv, "--port", "0", "--once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"127\.0\.0\.1:(\d+)", line)
    if found is None:
        process.kill()
        raise AssertionError(line + process.communicate(timeout=5)[1])
    return process, int(found.group(1))


def finish(process: subprocess.Popen[str], status: int = 0) -> str:
    try:
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    assert process.returncode == status, err
    assert "Traceback" not in err
    return out + err


def test_replay_a_shared_recording_to_the_sync_client() -> None:
    process, port = start_replay(str(DATA / "md5_login.jsonl.gz"))
    # The recorded ActionIDs (c1, l1...) are rewritten to the client's, or its login would never end.
    with connect("127.0.0.1", port, username="admin", secret="anything", timeout=5) as client:
        assert client.is_connected()
    assert "played to the end" in finish(process)


def test_record_then_replay_round_trip(cli: Runner, tmp_path: Path) -> None:
    path = tmp_path / "ping.jsonl"
    assert cli("record", str(path), "--action", "Ping").code == 0
    process, port = start_replay(str(path))
    result = cli("action", "Ping", "--port", str(port), "--secret", "x", "--json")
    assert result.code == 0, result.err
    response = json.loads(result.out.splitlines()[0])
    assert response["headers"]["Ping"] == "Pong"
    assert "played to the end" in finish(process)


def test_replay_answers_a_mismatching_client_with_an_error(cli: Runner, tmp_path: Path) -> None:
    path = tmp_path / "ping.jsonl"
    assert cli("record", str(path), "--action", "Ping").code == 0
    process, port = start_replay(str(path))
    result = cli("action", "CoreSettings", "--port", str(port), "--secret", "x", "--json")
    assert result.code == 1, result.err
    response = json.loads(result.out.splitlines()[0])["headers"]
    # Not the recorded Pong: the client learns that the replay and it disagree.
    assert "Ping" not in response
    assert response["Message"] == "amiproto replay: the recording has Ping here, not CoreSettings"
    said = finish(process, status=1)
    assert "client sent CoreSettings where the recording has Ping" in said
    assert "ended early" in said


def test_replay_an_rx_stream_through_the_simulator(cli: Runner) -> None:
    process, port = start_replay(str(LOAD_RX))
    result = cli("events", "--port", str(port), "--secret", "wordpass", "--count", "20", "--json")
    assert result.code == 0, result.err
    names = [json.loads(line)["name"] for line in result.out.splitlines()]
    assert len(names) == 20
    assert "Newchannel" in names
    finish(process)


def test_replay_errors(cli: Runner, tmp_path: Path) -> None:
    assert_one_line_error(cli("replay", str(tmp_path / "none.jsonl")).err, "no such file")
    other = tmp_path / "x.txt"
    other.write_text("x")
    assert_one_line_error(cli("replay", str(other)).err, "expected a .jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n")
    assert_one_line_error(cli("replay", str(bad)).err, "line 1")
