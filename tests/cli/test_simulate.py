"""``amiproto simulate``: a foreground server that clients can use, stopped by Ctrl-C."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import amiproto
from amiproto_transports.sync import connect

from .conftest import Runner, assert_one_line_error, subprocess_env


def test_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "amiproto_transports", "simulate", "--port", "0", "--calls-per-second", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"listening on 127\.0\.0\.1:(\d+) \(user admin, secret wordpass\)", first)
        assert found, first
        with connect(
            "127.0.0.1", int(found.group(1)), username="admin", secret="wordpass", timeout=5
        ) as client:
            assert client.send_action(amiproto.Action("Ping"), timeout=5).success
            event = next(iter(client.events(timeout=5)))
            assert event.name
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def test_port_in_use(cli: Runner) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = cli("simulate", "--port", str(port))
    assert result.code == 2
    assert_one_line_error(result.err, "cannot listen", str(port))


def test_bad_options(cli: Runner) -> None:
    assert_one_line_error(cli("simulate", "--replay", "/nonexistent/x.rx").err, "/nonexistent/x.rx")
    assert cli("simulate", "--calls-per-second", "-1").code == 2
    assert cli("simulate", "--port", "99999").code == 2
    assert_one_line_error(cli("simulate", "--auth-timeout", "0").err, "--auth-timeout must be positive")
    assert cli("simulate", "--max-unauthenticated", "0").code == 2


def test_unreadable_or_malformed_files_are_one_line(cli: Runner, tmp_path: Path) -> None:
    missing = cli("simulate", "--manager-conf", "/nonexistent/manager.conf")
    assert missing.code == 2
    assert_one_line_error(missing.err, "cannot read /nonexistent/manager.conf: No such file or directory")
    conf = tmp_path / "manager.conf"
    conf.write_text("[general]\nenabled = yes\n[bad\nsecret = x\n")
    malformed = cli("simulate", "--manager-conf", str(conf))
    assert malformed.code == 2
    assert_one_line_error(malformed.err, f"{conf} line 3", "'[bad'")
    not_gzip = tmp_path / "x.rx.gz"
    not_gzip.write_bytes(b"not gzip")
    replay = cli("simulate", "--replay", str(not_gzip))
    assert replay.code == 2
    assert_one_line_error(replay.err, f"cannot read {not_gzip}")
    assert "None" not in replay.err
