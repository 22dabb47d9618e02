"""Connection settings without options: ``AMI_*`` variables and ``--profile`` from a TOML file."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from amiproto_transports._shared._options import ENVIRONMENT, Options
from amiproto_transports.cli._config import ConfigError, Settings, settings
from amiproto_transports.simulator import Simulator

from .conftest import Runner, assert_one_line_error

SECRET = "wordpass"


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    simulator = Simulator()
    with simulator.running() as (host, port):
        yield host, port


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("AMIPROTO_CONFIG", str(path))
    return path


def test_env_variables_name_the_server(
    cli: Runner, server: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = server
    monkeypatch.setenv("AMI_HOST", host)
    monkeypatch.setenv("AMI_PORT", str(port))
    monkeypatch.setenv("AMI_USERNAME", "admin")
    monkeypatch.setenv("AMI_SECRET", SECRET)
    result = cli("action", "Ping")
    assert result.code == 0, result.err
    assert "embedded simulator" not in result.out + result.err
    assert SECRET not in result.out + result.err


def test_options_win_over_env(cli: Runner, server: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    host, port = server
    monkeypatch.setenv("AMI_HOST", host)
    monkeypatch.setenv("AMI_PORT", str(port))
    monkeypatch.setenv("AMI_SECRET", "not-the-secret")
    assert cli("action", "Ping").code == 2  # the env's secret is tried, and refused
    assert cli("action", "Ping", "--secret", SECRET).code == 0


def test_env_username_is_used(cli: Runner, server: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    host, port = server
    monkeypatch.setenv("AMI_USERNAME", "nobody")
    result = cli("action", "Ping", "--host", host, "--port", str(port), "--secret", SECRET)
    assert result.code == 2
    assert_one_line_error(result.err, "bad credentials")


def test_a_bad_env_port_is_a_usage_error(cli: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMI_PORT", "fivethousand")
    result = cli("action", "Ping")
    assert result.code == 2
    assert_one_line_error(result.err, "AMI_PORT")


def test_profile_gives_everything(
    cli: Runner, server: tuple[str, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    host, port = server
    write_config(
        tmp_path,
        monkeypatch,
        f'[office]\nhost = "{host}"\nport = {port}\nusername = "admin"\nsecret = "{SECRET}"\n',
    )
    result = cli("action", "Ping", "--profile", "office")
    assert result.code == 0, result.err
    assert SECRET not in result.out + result.err
    # Without --profile the file is not read: the embedded simulator answers.
    plain = cli("action", "Ping")
    assert "embedded simulator" in plain.out + plain.err


def test_profile_wins_over_env_and_options_over_profile(
    cli: Runner, server: tuple[str, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    host, port = server
    write_config(tmp_path, monkeypatch, f'[office]\nhost = "{host}"\nport = {port}\nsecret = "wrong"\n')
    monkeypatch.setenv("AMI_SECRET", SECRET)
    monkeypatch.setenv("AMI_PORT", "1")
    assert cli("action", "Ping", "--profile", "office").code == 2
    assert cli("action", "Ping", "--profile", "office", "--secret", SECRET).code == 0


def test_secret_command(
    cli: Runner, server: tuple[str, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    host, port = server
    # A JSON list of strings is also a TOML array.
    listed = json.dumps([sys.executable, "-c", f"print({SECRET!r})"])
    write_config(tmp_path, monkeypatch, f'[lab]\nhost = "{host}"\nport = {port}\nsecret_command = {listed}\n')
    result = cli("action", "Ping", "--profile", "lab")
    assert result.code == 0, result.err
    assert SECRET not in result.out + result.err


def test_a_failing_secret_command_shows_its_stderr_but_never_its_stdout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    listed = json.dumps([sys.executable, "-c", "import sys; print('hunter2'); sys.exit('vault is locked')"])
    write_config(tmp_path, monkeypatch, f'[lab]\nhost = "h"\nsecret_command = {listed}\n')
    with pytest.raises(ConfigError) as raised:
        settings("lab")
    assert "vault is locked" in str(raised.value)
    assert "status 1" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_secret_command_runs_without_a_shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # With a shell, "echo x; exit 3" would print x; without one it is a program that does not exist.
    write_config(tmp_path, monkeypatch, '[lab]\nsecret_command = "no-such-program-amiproto x; exit 3"\n')
    with pytest.raises(ConfigError, match="not found"):
        settings("lab")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[office]\nhost = "h"\n', "no profile [lab]"),
        ("[lab]\nuser = 'admin'\n", "unknown key 'user'"),
        ("[lab]\nport = '5038'\n", "port must be a number"),
        ("[lab]\nsecret = 's'\nsecret_command = 'x'\n", "not both"),
        ("[lab\n", "not valid TOML"),
    ],
)
def test_config_mistakes_are_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, fragment: str
) -> None:
    write_config(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError) as raised:
        settings("lab")
    assert fragment in str(raised.value)


def test_a_missing_config_file_is_a_usage_error(
    cli: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AMIPROTO_CONFIG", str(tmp_path / "absent.toml"))
    result = cli("action", "Ping", "--profile", "office")
    assert result.code == 2
    assert_one_line_error(result.err, "absent.toml")


def test_the_secret_is_not_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMI_SECRET", "hunter2")
    found = settings(None)
    assert found == Settings(secret="hunter2")
    assert "hunter2" not in repr(found)


def test_the_cli_reads_the_variables_as_connect_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same names, and empty is unset for each: an empty AMI_SECRET asks for a
    secret, as connect() logs in without one, never with an empty one."""
    given = {"host": "pbx.example", "port": "5039", "username": "bob", "secret": "s3"}
    for name, variable in ENVIRONMENT.items():
        monkeypatch.setenv(variable, given[name])
    found = settings(None)
    assert (found.host, found.port, found.username, found.secret) == ("pbx.example", 5039, "bob", "s3")
    for variable in ENVIRONMENT.values():
        monkeypatch.setenv(variable, "")
    assert settings(None) == Settings()
    defaults = {f.name: None if f.default is MISSING else f.default for f in fields(Options)}
    options = Options.from_arguments(defaults | {"host": "h", "username": None, "secret": None})
    assert (options.username, options.secret) == (None, None)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_a_secret_others_may_read_is_warned_about(
    cli: Runner, server: tuple[str, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    host, port = server
    path = write_config(
        tmp_path, monkeypatch, f'[office]\nhost = "{host}"\nport = {port}\nsecret = "{SECRET}"\n'
    )
    path.chmod(0o644)
    shared = cli("action", "Ping", "--profile", "office")
    assert shared.code == 0
    assert "others may read it (chmod 600" in shared.err
    assert SECRET not in shared.out + shared.err
    path.chmod(0o600)
    assert "warning" not in cli("action", "Ping", "--profile", "office").err


def test_the_environment_s_credentials_go_only_to_its_own_host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """AMI_PORT, AMI_USERNAME and AMI_SECRET belong to AMI_HOST: another host, given
    with --host or by a profile, does not get them."""
    for variable, value in (
        ("AMI_HOST", "pbx-a"),
        ("AMI_PORT", "5039"),
        ("AMI_USERNAME", "a"),
        ("AMI_SECRET", "s"),
    ):
        monkeypatch.setenv(variable, value)
    assert settings(None, host="pbx-b") == Settings(host="pbx-a")
    assert settings(None, host="pbx-a") == Settings(host="pbx-a", port=5039, username="a", secret="s")
    assert settings(None) == Settings(host="pbx-a", port=5039, username="a", secret="s")
    write_config(tmp_path, monkeypatch, '[lab]\nhost = "pbx-b"\n[near]\nusername = "me"\n')
    assert settings("lab") == Settings(host="pbx-b")
    assert settings("near") == Settings(host="pbx-a", port=5039, username="me", secret="s")
    monkeypatch.delenv("AMI_HOST")
    assert settings(None, host="pbx-b") == Settings(port=5039, username="a", secret="s")
