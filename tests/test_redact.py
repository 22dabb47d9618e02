"""One policy hides credentials wherever a message is shown."""

from __future__ import annotations

import pytest

import amiproto
from amiproto._redact import REDACTED, is_secret, redact_pairs, redact_wire


@pytest.mark.parametrize("name", ["Secret", "secret", "KEY", "Key ", " key"])
def test_client_credentials_are_secret(name: str) -> None:
    assert is_secret(name)


@pytest.mark.parametrize("name", ["Username", "Secrets", "Keys", "AuthType", "Family"])
def test_other_headers_are_not(name: str) -> None:
    assert not is_secret(name)


def test_pairs_keep_names_and_order() -> None:
    pairs = [("Action", "Login"), ("Username", "admin"), ("Secret", "pw"), ("key", "d1g3st")]
    assert redact_pairs(pairs) == [
        ("Action", "Login"),
        ("Username", "admin"),
        ("Secret", REDACTED),
        ("key", REDACTED),
    ]


def test_a_client_login_on_the_wire() -> None:
    data = b"Action: Login\r\nUsername: admin\r\nSecret: pw\r\nkey :d1g3st\r\nKeyFile: f\r\n\r\n"
    assert redact_wire(data, from_client=True) == (
        b"Action: Login\r\nUsername: admin\r\nSecret: <redacted>\r\nkey : <redacted>\r\nKeyFile: f\r\n\r\n"
    )


def test_a_server_keeps_its_database_keys_and_hides_config_secrets() -> None:
    data = (
        b"Event: DBGetResponse\r\nKey: k1\r\nVal: v\r\n\r\n"
        b"Response: Success\r\nLine-000001-000002: secret=hunter2\r\n\r\n"
    )
    shown = redact_wire(data, from_client=False)
    assert b"Key: k1" in shown and b"hunter2" not in shown
    assert b"Line-000001-000002: secret=<redacted>\r\n" in shown


def test_every_place_that_shows_an_action_uses_the_policy() -> None:
    action = amiproto.Action("Login", Username="admin", Secret="pw", Key="d1g3st")
    server = amiproto.ServerConnection()
    server.receive_data(action.serialize())
    received = server.next_action()
    assert isinstance(received, amiproto.ReceivedAction)
    for shown in (repr(action), str(action), repr(received)):
        assert "pw" not in shown and "d1g3st" not in shown and REDACTED in shown


def test_config_content_from_the_server_hides_its_credentials() -> None:
    data = (
        b"Response: Success\r\nLine-000001-000000: secret=wordpass\r\nLine-000001-000001: md5secret = abc\r\n"
        b"Line-000001-000002: read=all\r\n\r\n"
        b'Response: Success\r\nJSON: {"admin":{"secret":"wo\\"rd","read":"all"},'
        b'"auth":{"Password": "p"}}\r\n\r\n'
    )
    shown = redact_wire(data, from_client=False)
    for secret in (b"wordpass", b"abc", b'wo\\"rd', b'"p"'):
        assert secret not in shown
    assert b"read=all" in shown and b'"read":"all"' in shown
    assert shown.count(REDACTED.encode()) == 4


def test_an_update_config_that_sets_a_secret_hides_its_value() -> None:
    pairs = [
        ("Var-000000", "secret"),
        ("Value-000000", "newpw"),
        ("Var-000001", "read"),
        ("Value-000001", "all"),
    ]
    assert redact_pairs(pairs) == [
        ("Var-000000", "secret"),
        ("Value-000000", REDACTED),
        ("Var-000001", "read"),
        ("Value-000001", "all"),
    ]
    action = amiproto.Action("UpdateConfig", pairs)
    assert "newpw" not in repr(action)
    shown = redact_wire(action.serialize(), from_client=True)
    assert b"newpw" not in shown and b"Value-000001: all" in shown


@pytest.mark.parametrize("bad", ["hunter2\nx", "hunter2\udfff"])
def test_an_error_about_a_config_secrets_value_hides_it(bad: str) -> None:
    # Refused at once (a newline) or at serialize() (a character UTF-8 cannot carry).
    pairs = [("Var-000000", "secret"), ("Value-000000", bad)]
    with pytest.raises(amiproto.LocalProtocolError) as caught:
        amiproto.Action("UpdateConfig", pairs).serialize()
    assert "hunter2" not in str(caught.value) and "Value-000000" in str(caught.value)
    assert REDACTED in str(caught.value)


def test_a_malformed_pair_is_shown_by_its_shape_only() -> None:
    with pytest.raises(amiproto.LocalProtocolError) as caught:
        amiproto.Action("Login", [("Username", "admin"), ("Secret", "hunter2", "x")])  # type: ignore[list-item]
    assert "hunter2" not in str(caught.value) and "tuple of length 3" in str(caught.value)
