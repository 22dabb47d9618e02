"""Watch several Asterisk servers from one thread: the sans-IO core over selectors.

    python examples/watch_many.py 127.0.0.1:5038 10.0.0.2:5038 --user admin --secret wordpass

Each server gets its own amiproto.Connection; one selector waits on every
socket and on the nearest keepalive deadline. Nothing here knows AMI: the core
decides what to send and when a server is dead.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import sys
import time

import amiproto


class Server:
    """One AMI server: a socket and the core's state for it."""

    def __init__(self, address: str, username: str, secret: str) -> None:
        host, _, port = address.rpartition(":")
        self.name = address
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.sock.setblocking(False)
        self.conn = amiproto.Connection(keepalive_interval=30, keepalive_timeout=10)
        self.outgoing = bytearray(self.conn.login(username, secret, events=True, now=time.monotonic()))

    def flush(self) -> None:
        self.outgoing += self.conn.data_to_send()
        if self.outgoing:
            sent = self.sock.send(self.outgoing)
            del self.outgoing[:sent]


def watch(addresses: list[str], username: str, secret: str, count: int | None) -> int:
    selector = selectors.DefaultSelector()
    servers = [Server(address, username, secret) for address in addresses]
    for server in servers:
        selector.register(server.sock, selectors.EVENT_READ, server)
        server.flush()
    seen = 0
    while servers:
        deadlines = [d for s in servers if (d := s.conn.next_deadline()) is not None]
        timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        for key, _ in selector.select(timeout):
            server = key.data
            data = server.sock.recv(65536)
            server.conn.receive_data(data, now=time.monotonic())
        now = time.monotonic()
        for server in list(servers):
            server.conn.handle_timer(now)
            while (item := server.conn.next_event()) is not amiproto.NEED_DATA:
                if isinstance(item, amiproto.LoginResult) and not item.success:
                    print(f"{server.name}: login failed: {item.message}", file=sys.stderr)
                elif isinstance(item, amiproto.Event):
                    seen += 1
                    print(f"{server.name:<22} {item.name:<24} {item.get('Channel') or ''}")
                elif isinstance(item, amiproto.ConnectionClosed):
                    print(f"{server.name}: closed ({item.reason})", file=sys.stderr)
                    selector.unregister(server.sock)
                    server.sock.close()
                    servers.remove(server)
                    break
            else:
                server.flush()
            if count is not None and seen >= count:
                for remaining in servers:
                    remaining.sock.close()
                return 0
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("servers", nargs="+", help="HOST:PORT of each server")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--secret", default=os.environ.get("AMI_SECRET", "wordpass"))
    parser.add_argument("--count", type=int, help="stop after this many events")
    args = parser.parse_args(argv)
    return watch(args.servers, args.user, args.secret, args.count)


if __name__ == "__main__":
    sys.exit(main())
