"""Options: what connect() takes, and the three connect() signatures that feed it."""

from __future__ import annotations

import dataclasses
import inspect
import ssl
from collections.abc import Callable
from typing import Any

import pytest

from amiproto_transports import asyncio as aio_client
from amiproto_transports import sync as sync_client
from amiproto_transports import trio as trio_client
from amiproto_transports._shared import Backoff, Options
from amiproto_transports._shared._options import ENVIRONMENT


def arguments(**changes: Any) -> dict[str, Any]:
    """Every connect() parameter at its default, as connect()'s locals() would be."""
    values: dict[str, Any] = {"host": "127.0.0.1", "port": None, "backoff": None}
    for f in dataclasses.fields(Options):
        if f.name not in values:
            values[f.name] = f.default
    values.update(changes)
    return values


def test_from_arguments_takes_every_field() -> None:
    options = Options.from_arguments(arguments(port=1, username="u", secret="s", queue_size=7))
    assert (options.host, options.port, options.username, options.secret) == ("127.0.0.1", 1, "u", "s")
    assert options.queue_size == 7
    assert options.backoff == Backoff()
    mine = Backoff(initial=1.0, attempts=2)
    assert Options.from_arguments(arguments(backoff=mine)).backoff is mine


def test_from_arguments_refuses_names_that_are_not_fields() -> None:
    with pytest.raises(TypeError, match=r"unknown \['colour'\]"):
        Options.from_arguments(arguments(colour="blue"))
    incomplete = arguments()
    del incomplete["trace"]
    with pytest.raises(TypeError, match=r"missing \['trace'\]"):
        Options.from_arguments(incomplete)


@pytest.mark.parametrize("connect", [sync_client.connect, aio_client.connect, trio_client.connect])
def test_each_connect_signature_is_the_options(connect: Callable[..., Any]) -> None:
    # connect() hands its locals() to Options.from_arguments: same names, same defaults.
    parameters = inspect.signature(connect).parameters
    assert list(parameters) == [f.name for f in dataclasses.fields(Options)]
    for f in dataclasses.fields(Options):
        default = parameters[f.name].default
        if f.name in ("backoff", "host", "port"):
            assert default is None  # resolved by from_arguments
        elif f.default is dataclasses.MISSING:
            assert default is inspect.Parameter.empty
        else:
            assert default == f.default, f.name


def test_ssl_true_is_the_default_verifying_context_and_false_is_none() -> None:
    context = Options.from_arguments(arguments(ssl=True)).ssl
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert Options.from_arguments(arguments(ssl=False)).ssl is None
    mine = ssl.create_default_context()
    assert Options.from_arguments(arguments(ssl=mine)).ssl is mine


def test_max_send_buffer_must_hold_something() -> None:
    with pytest.raises(ValueError, match="max_send_buffer"):
        Options.from_arguments(arguments(max_send_buffer=0))


def test_absent_arguments_come_from_the_environment(no_ami_environment: pytest.MonkeyPatch) -> None:
    no_ami_environment.setenv("AMI_HOST", "pbx.example")
    no_ami_environment.setenv("AMI_PORT", "5039")
    no_ami_environment.setenv("AMI_USERNAME", "admin")
    no_ami_environment.setenv("AMI_SECRET", "wordpass")
    options = Options.from_arguments(arguments(host=None))
    assert (options.host, options.port, options.username, options.secret) == (
        "pbx.example",
        5039,
        "admin",
        "wordpass",
    )
    assert "wordpass" not in repr(options)


def test_arguments_given_win_over_the_environment(no_ami_environment: pytest.MonkeyPatch) -> None:
    values = ("pbx.example", "5039", "admin", "wordpass")
    for variable, value in zip(ENVIRONMENT.values(), values, strict=True):
        no_ami_environment.setenv(variable, value)
    options = Options.from_arguments(arguments(host="10.0.0.1", port=6000, username="me", secret="mine"))
    assert (options.host, options.port, options.username, options.secret) == ("10.0.0.1", 6000, "me", "mine")


def test_the_environment_s_credentials_go_only_to_its_own_host(
    no_ami_environment: pytest.MonkeyPatch,
) -> None:
    """AMI_USERNAME and AMI_SECRET belong to AMI_HOST: a program that connects to
    another host by name must not log in there with them."""
    no_ami_environment.setenv("AMI_HOST", "pbx-a.example")
    no_ami_environment.setenv("AMI_PORT", "5039")
    no_ami_environment.setenv("AMI_USERNAME", "admin")
    no_ami_environment.setenv("AMI_SECRET", "wordpass")
    elsewhere = Options.from_arguments(arguments(host="pbx-b.example"))
    assert (elsewhere.port, elsewhere.username, elsewhere.secret) == (5038, None, None)
    named = Options.from_arguments(arguments(host="pbx-a.example"))
    assert (named.port, named.username, named.secret) == (5039, "admin", "wordpass")


def test_without_ami_host_the_environment_s_credentials_go_to_the_host_given(
    no_ami_environment: pytest.MonkeyPatch,
) -> None:
    no_ami_environment.setenv("AMI_USERNAME", "admin")
    no_ami_environment.setenv("AMI_SECRET", "wordpass")
    options = Options.from_arguments(arguments(host="pbx.example"))
    assert (options.username, options.secret) == ("admin", "wordpass")


def test_without_host_or_environment_connect_says_what_is_missing(
    no_ami_environment: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(TypeError, match="AMI_HOST"):
        Options.from_arguments(arguments(host=None))
    options = Options.from_arguments(arguments())
    assert (options.port, options.username, options.secret) == (5038, None, None)


def test_a_port_from_the_environment_must_be_a_number(no_ami_environment: pytest.MonkeyPatch) -> None:
    no_ami_environment.setenv("AMI_PORT", "ami")
    with pytest.raises(ValueError, match="AMI_PORT is not a port number: 'ami'"):
        Options.from_arguments(arguments())
