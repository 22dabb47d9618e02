"""``python -m amiproto_transports.simulator``: user errors are one line and exit status 2."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from amiproto_transports.simulator.__main__ import main
from amiproto_transports.simulator._options import add_arguments, open_simulator

PREFIX = "python -m amiproto_transports.simulator: error: "


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX), captured.err
    return lines[0][len(PREFIX) :]


def test_missing_manager_conf(capsys: pytest.CaptureFixture[str]) -> None:
    message = one_line_error(capsys, ["--manager-conf", "/nonexistent/manager.conf", "--port", "0"])
    assert message == "cannot read /nonexistent/manager.conf: No such file or directory"


def test_malformed_manager_conf(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    conf = tmp_path / "manager.conf"
    conf.write_text("[general]\n[bad\nsecret = x\n")
    assert one_line_error(capsys, ["--manager-conf", str(conf), "--port", "0"]).startswith(f"{conf} line 2:")


def test_bad_replay_file_rate_and_port(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    not_gzip = tmp_path / "x.rx.gz"
    not_gzip.write_bytes(b"plain text")
    assert one_line_error(capsys, ["--replay", str(not_gzip), "--port", "0"]).startswith(
        f"cannot read {not_gzip}"
    )
    assert one_line_error(capsys, ["--calls-per-second", "0"]) == "--calls-per-second must be positive"
    assert one_line_error(capsys, ["--replay-rate", "-1"]) == "--replay-rate must be positive"
    assert one_line_error(capsys, ["--port", "70000"]) == "--port 70000 is not a TCP port"


def test_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert one_line_error(capsys, ["--port", str(port)]).startswith(f"cannot listen on 127.0.0.1:{port}")


def test_as_a_module_in_a_subprocess() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "amiproto_transports.simulator", "--manager-conf", "/nonexistent"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert process.returncode == 2
    assert process.stderr == PREFIX + "cannot read /nonexistent: No such file or directory\n"


def test_argument_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--port", "x"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert (
        err
        == PREFIX
        + "argument --port: invalid int value: 'x' (see 'python -m amiproto_transports.simulator --help')\n"
    )


def test_same_options_as_amiproto_simulate(capsys: pytest.CaptureFixture[str]) -> None:
    from amiproto_transports.cli import build_parser

    def options(argv: list[str], run: Callable[[list[str]], object]) -> str:
        with pytest.raises(SystemExit):
            run(argv)
        return capsys.readouterr().out.split("\noptions:\n", 1)[1]

    ours = options(["--help"], main)
    assert "--verbose" in ours and "--replay-rate R" in ours
    assert ours == options(["simulate", "--help"], build_parser().parse_args)


def test_verbose_is_accepted_here_too(capsys: pytest.CaptureFixture[str]) -> None:
    # Connections are logged here with or without it (test_runners checks the log line).
    assert one_line_error(capsys, ["--verbose", "--port", "70000"]) == "--port 70000 is not a TCP port"


def test_login_limits_are_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert one_line_error(capsys, ["--auth-timeout", "0"]) == "--auth-timeout must be positive"
    message = one_line_error(capsys, ["--max-unauthenticated", "0"])
    assert message == "--max-unauthenticated must be at least 1"
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    defaults = open_simulator(parser.parse_args([]), None).limits
    assert (defaults.auth_timeout, defaults.max_unauthenticated) == (30.0, 50)
    chosen = open_simulator(parser.parse_args(["--auth-timeout", "2.5", "--max-unauthenticated", "3"]), None)
    assert (chosen.limits.auth_timeout, chosen.limits.max_unauthenticated) == (2.5, 3)


def test_write_each_message_is_an_option() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert not open_simulator(parser.parse_args([]), None).write_each_message
    assert open_simulator(parser.parse_args(["--write-each-message"]), None).write_each_message
