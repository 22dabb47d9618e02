"""Where the CLI finds a server without options: ``--profile`` and ``AMI_*`` variables.

Each setting is taken from the first place that has it: the command line, the
``--profile NAME`` section of the config file, then the environment
(``AMI_HOST``, ``AMI_PORT``, ``AMI_USERNAME``, ``AMI_SECRET``).

The config file is ``~/.config/amiproto/config.toml``, or the path in
``AMIPROTO_CONFIG``; one table per profile::

    [office]
    host = "pbx.example.com"
    port = 5038
    username = "admin"
    secret_command = ["pass", "show", "pbx/ami"]   # or: secret = "..."

``secret_command`` is run without a shell (a string is split as a shell would
split it, nothing more) with a time limit, and its stdout, less the final line
break, is the secret. Neither the secret nor that output is ever printed. A
file that holds a ``secret`` and that others may read gets a warning, as ssh
warns of a readable key.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._shared._options import ENVIRONMENT, environment_credentials_apply

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["CONFIG_ENV", "ENV_NAMES", "SECRET_COMMAND_TIMEOUT", "Settings", "config_path", "settings"]

CONFIG_ENV = "AMIPROTO_CONFIG"
# The variables connect() reads: one table, so the CLI and the library agree on them.
ENV_NAMES = ENVIRONMENT
# A password manager may wait for an unlock prompt; longer than that is a hang.
SECRET_COMMAND_TIMEOUT = 30.0
_KEYS = ("host", "port", "username", "secret", "secret_command")


class ConfigError(Exception):
    """A config file or variable the user must fix (the CLI reports it as a usage error)."""


@dataclass(frozen=True)
class Settings:
    """What the profile and the environment say; None where they say nothing."""

    host: str | None = None
    port: int | None = None
    username: str | None = None
    secret: str | None = field(default=None, repr=False)
    warnings: tuple[str, ...] = ()


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    """The config file's path: ``$AMIPROTO_CONFIG``, else ``~/.config/amiproto/config.toml``."""
    chosen = environ.get(CONFIG_ENV)
    if chosen:
        return Path(chosen).expanduser()
    return Path.home() / ".config" / "amiproto" / "config.toml"


def settings(
    profile: str | None, environ: Mapping[str, str] = os.environ, *, host: str | None = None
) -> Settings:
    """The profile's settings over the environment's; raises ``ConfigError``.

    ``host``: the one given on the command line, if any. ``AMI_PORT``, ``AMI_USERNAME``
    and ``AMI_SECRET`` belong to ``AMI_HOST``: where the host connected to is
    another one (given, or the profile's), they are not read, so that one server's
    secret never goes to another.
    """
    from_env = _from_env(environ)
    chosen = _profile(profile, config_path(environ)) if profile is not None else Settings()
    if not environment_credentials_apply(host or chosen.host, from_env.host):
        from_env = Settings(host=from_env.host)
    return Settings(
        host=chosen.host if chosen.host is not None else from_env.host,
        port=chosen.port if chosen.port is not None else from_env.port,
        username=chosen.username if chosen.username is not None else from_env.username,
        secret=chosen.secret if chosen.secret is not None else from_env.secret,
        warnings=chosen.warnings,
    )


def _from_env(environ: Mapping[str, str]) -> Settings:
    port_text = environ.get(ENV_NAMES["port"]) or None
    port = None
    if port_text is not None:
        try:
            port = int(port_text)
        except ValueError:
            raise ConfigError(f"{ENV_NAMES['port']}={port_text!r} is not a port number") from None
    return Settings(
        host=environ.get(ENV_NAMES["host"]) or None,
        port=port,
        username=environ.get(ENV_NAMES["username"]) or None,
        # Empty is unset, as for connect() and the other variables: the CLI then asks.
        secret=environ.get(ENV_NAMES["secret"]) or None,
    )


def _profile(name: str, path: Path) -> Settings:
    try:
        with path.open("rb") as stream:
            document = tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigError(f"--profile {name}: no config file {path} (set {CONFIG_ENV} for another)") from None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    table = document.get(name)
    if not isinstance(table, dict):
        names = ", ".join(key for key, value in document.items() if isinstance(value, dict)) or "none"
        raise ConfigError(f"no profile [{name}] in {path} (profiles: {names})")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ConfigError(
            f"profile [{name}] in {path}: unknown key {unknown[0]!r} (keys: {', '.join(_KEYS)})"
        )
    if "secret" in table and "secret_command" in table:
        raise ConfigError(f"profile [{name}] in {path}: give secret or secret_command, not both")
    where = f"profile [{name}] in {path}"
    port = table.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool)):
        raise ConfigError(f"{where}: port must be a number")
    secret = _text(table, "secret", where)
    warnings: tuple[str, ...] = ()
    if secret is not None and os.name == "posix" and path.stat().st_mode & 0o077:
        warnings = (f"{path} holds a secret and others may read it (chmod 600 {path})",)
    if "secret_command" in table:
        secret = _run_secret_command(table["secret_command"], where)
    return Settings(_text(table, "host", where), port, _text(table, "username", where), secret, warnings)


def _text(table: dict[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string")
    return value


def _run_secret_command(command: object, where: str) -> str:
    if isinstance(command, str):
        argv = shlex.split(command)
    elif isinstance(command, list) and all(isinstance(word, str) for word in command):
        argv = list(command)
    else:
        raise ConfigError(f"{where}: secret_command must be a string or a list of strings")
    if not argv:
        raise ConfigError(f"{where}: secret_command is empty")
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=SECRET_COMMAND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigError(f"{where}: secret_command {argv[0]!r} not found") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{where}: secret_command gave no answer in {SECRET_COMMAND_TIMEOUT:g} s") from None
    except OSError as error:
        raise ConfigError(f"{where}: cannot run secret_command: {error.strerror or error}") from None
    if done.returncode != 0:
        # Its stderr is the tool's own message; its stdout might be a secret, so it is never shown.
        said = done.stderr.decode(errors="replace").strip().splitlines()
        reason = f": {said[-1]}" if said else ""
        raise ConfigError(f"{where}: secret_command exited with status {done.returncode}{reason}")
    secret = done.stdout.decode(errors="surrogateescape").removesuffix("\n").removesuffix("\r")
    if not secret:
        raise ConfigError(f"{where}: secret_command printed nothing")
    return secret
