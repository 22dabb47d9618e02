"""pystrix's documented AMI example, ported to the amiproto sync client.

It does what the original does: connect, ask for an MD5 challenge and log in
with it by hand, register callbacks by event name, by class, for every event
and for orphan responses, stop on Asterisk's ``Shutdown`` event, watch the
connection, and turn a refused connection or bad credentials into one clean
error. Unlike the original it also stops by itself after ``--duration``.

    python examples/pystrix_port.py --host 127.0.0.1 --port 5038
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import time

import amiproto
from amiproto.events import FullyBooted
from amiproto_transports.sync import Client, connect


class Error(Exception):
    """The base of this example's own errors."""


# Named as in the pystrix example (it shadows the builtin there too).
class ConnectionError(Error):
    """Connecting or logging in failed, or the connection was severed."""


class AMICore:
    """Holds the logic of one AMI session, like the pystrix example's class."""

    def __init__(self, host: str, port: int, username: str, secret: str) -> None:
        self._kill_flag = False
        try:
            # Connect without logging in: the login below is done by hand, as in pystrix.
            self._client: Client = connect(host, port, timeout=5.0, keepalive=5.0)
        except amiproto.ConnectionLost as error:
            self._kill_flag = True
            raise ConnectionError(f"Unable to connect to Asterisk server: {error}") from error
        # Registered before login, so that FullyBooted (sent right after it) is not missed.
        self._register_callbacks()
        try:
            challenge = self._client.send_action(amiproto.Action("Challenge", AuthType="MD5"))
            token = challenge.response.get("Challenge") if challenge.response else None
            if not challenge.success or not token:
                raise ConnectionError("Asterisk did not provide an MD5 challenge token")
            key = hashlib.md5((token + secret).encode()).hexdigest()
            # A refused Login raises AuthenticationError; a success returns the ActionCompleted.
            self._client.send_action(amiproto.Action("Login", AuthType="MD5", Username=username, Key=key))
        except amiproto.AuthenticationError as reason:
            self._fail()
            raise ConnectionError(f"Unable to authenticate to Asterisk server: {reason}") from reason
        except amiproto.AMIError as reason:
            self._fail()
            raise ConnectionError(f"An unexpected Asterisk error occurred: {reason}") from reason
        except ConnectionError:
            self._fail()
            raise

    def _fail(self) -> None:
        self._kill_flag = True
        self._client.close()

    def _register_callbacks(self) -> None:
        client = self._client
        # The same event by name and by class: both run, in the order registered.
        client.register_callback("FullyBooted", self._handle_string_event)
        client.register_callback(FullyBooted, self._handle_class_event)
        # Every event ("") and every response nobody waits for (None).
        client.register_callback("", self._handle_event)
        client.register_callback(None, self._handle_orphan)
        client.register_callback("Shutdown", self._handle_shutdown)

    def _handle_shutdown(self, event: amiproto.Event) -> None:
        self._kill_flag = True

    def _handle_event(self, event: amiproto.Event) -> None:
        print(f"Received event: {event.name}")

    def _handle_orphan(self, response: amiproto.Response) -> None:
        print(f"Received orphan response: {response.status} {response.action_id}")

    def _handle_string_event(self, event: amiproto.Event) -> None:
        print(f"Received string event: {event.name}")

    def _handle_class_event(self, event: amiproto.Event) -> None:
        print(f"Received class event: {event.name}")

    def is_alive(self) -> bool:
        # Connection monitoring: the client's reader notices a dead server (EOF or keepalive).
        return not self._kill_flag and self._client.is_connected()

    def kill(self) -> None:
        self._client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--secret", default="wordpass")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds to run before leaving")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        ami_core = AMICore(args.host, args.port, args.username, args.secret)
    except ConnectionError as error:
        print(error, file=sys.stderr)
        return 1
    stop_at = time.monotonic() + args.duration
    while ami_core.is_alive() and time.monotonic() < stop_at:
        time.sleep(0.1)
    ami_core.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
