"""What the subcommands share: one-line argparse errors and the --timeout check."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from amiproto_transports.cli import build_parser
from amiproto_transports.cli._common import positive_seconds

from .conftest import Runner, assert_one_line_error, run_module

# Required positionals, given so that the option under test is what fails.
POSITIONAL = {"action": ["Ping"], "record": ["out.jsonl"], "replay": ["x.jsonl"]}


def subcommands() -> list[str]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return sorted(action.choices)
    raise AssertionError("no subcommands")


def assert_usage_error(err: str, *fragments: str) -> None:
    """An argparse error: exactly one line, no usage block, pointing at the right --help."""
    assert len(err.splitlines()) == 1, err
    assert "usage:" not in err
    assert_one_line_error(err, *fragments)


def test_every_subcommand_is_covered() -> None:
    assert subcommands() == ["action", "bench", "demo", "events", "record", "replay", "simulate", "top"]


@pytest.mark.parametrize("command", subcommands())
def test_unknown_option_is_one_line_naming_the_subcommands_help(cli: Runner, command: str) -> None:
    result = cli(command, *POSITIONAL.get(command, []), "--no-such-option")
    assert result.code == 2
    assert result.out == ""
    assert_usage_error(result.err, "unrecognized arguments: --no-such-option", f"'amiproto {command} --help'")


INT_OPTION = {"bench": "--repeat", "demo": "--calls"}  # the others have --port


@pytest.mark.parametrize("command", subcommands())
def test_bad_option_value_is_one_line(cli: Runner, command: str) -> None:
    option = INT_OPTION.get(command, "--port")
    result = cli(command, *POSITIONAL.get(command, []), option, "not-a-number")
    assert result.code == 2
    assert_usage_error(
        result.err, f"argument {option}: invalid int value: 'not-a-number'", f"'amiproto {command} --help'"
    )


def test_top_level_errors_are_one_line(cli: Runner) -> None:
    missing = cli()
    assert missing.code == 2
    assert_usage_error(missing.err, "required: COMMAND", "'amiproto --help'")
    unknown = cli("nosuchcommand")
    assert unknown.code == 2
    assert_usage_error(unknown.err, "invalid choice: 'nosuchcommand'")


def test_missing_positionals_name_only_what_is_required(cli: Runner) -> None:
    action = cli("action")
    assert action.code == 2
    assert_usage_error(action.err, "the following arguments are required: NAME (")
    assert "Key=Value" not in action.err
    replay = cli("replay")
    assert replay.code == 2
    assert_usage_error(replay.err, "required: FILE")


@pytest.mark.parametrize("value", ["0", "-1", "-0.5", "nan", "inf", "soon"])
@pytest.mark.parametrize("command", ["action", "events", "record", "replay"])
def test_timeout_must_be_positive(cli: Runner, command: str, value: str) -> None:
    result = cli(command, *POSITIONAL.get(command, []), "--timeout", value)
    assert result.code == 2
    assert_usage_error(result.err, "--timeout", value)


def test_positive_seconds() -> None:
    assert positive_seconds("0.25") == 0.25
    assert positive_seconds("10") == 10.0
    for bad in ("0", "-3", "nan", "-inf", "inf", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            positive_seconds(bad)


def test_usage_error_from_python_dash_m() -> None:
    process = run_module("action", "--timeout", "-1")
    assert process.returncode == 2
    assert process.stdout == ""
    assert process.stderr.count("\n") == 1 and process.stderr.startswith("amiproto: error: ")


def test_starting_the_command_does_not_load_the_catalogue() -> None:
    # The command starts on every call; the catalogue loads when a command needs it.
    code = (
        "import sys\n"
        "from amiproto_transports.cli import build_parser\n"
        "build_parser().parse_args(['action', 'Ping'])\n"
        "loaded = {'amiproto.actions', 'amiproto.events', 'amiproto._event_specs'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, capture_output=True)
