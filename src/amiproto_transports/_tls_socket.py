"""One TLS socket shared by a reading and a writing thread, one call at a time.

OpenSSL forbids two threads inside one SSL object at once, and a read and a write
on one ``SSLSocket`` from two threads do exactly that: now and then a TLS 1.3
session ticket read while a write was under way left the sync client's login
without an answer. Every call into the SSL object here holds one lock; the socket
is non-blocking, so no thread holds the lock while it waits for the network.
"""

from __future__ import annotations

import select
import ssl
import threading

__all__ = ["LockedTLS"]

_RETRY_WAIT = 0.05  # seconds to wait for the socket before trying a blocked call again


class LockedTLS:
    """``recv`` and ``sendall`` for an ``SSLSocket`` used by two threads."""

    def __init__(self, sock: ssl.SSLSocket, recv_size: int) -> None:
        sock.setblocking(False)
        self.sock = sock
        self._recv_size = recv_size
        self._lock = threading.Lock()

    def recv(self) -> bytes | None:
        """The plaintext that has come: ``b""`` at the end of the stream, None when no
        whole TLS record has come yet (wait for the socket to be readable again)."""
        chunks: list[bytes] = []
        size = 0
        sock = self.sock
        want_write = False
        with self._lock:
            # On past the size while the SSL object holds decrypted bytes: select()
            # cannot see those, so leaving them would leave them unread.
            while size < self._recv_size or sock.pending():
                try:
                    data = sock.recv(self._recv_size)
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLWantWriteError:
                    want_write = True  # the SSL object must write first (a key update)
                    break
                except ssl.SSLZeroReturnError:
                    data = b""
                if not data:
                    if not chunks:
                        return b""
                    break  # the end comes with the next call
                chunks.append(data)
                size += len(data)
        if chunks:
            return b"".join(chunks)
        if want_write:
            select.select([], [sock], [], _RETRY_WAIT)
        return None

    def sendall(self, data: bytes) -> None:
        """Send all of ``data``; raises OSError when the connection fails or is shut down."""
        view = memoryview(data)
        sock = self.sock
        while view:
            with self._lock:
                try:
                    sent = sock.send(view)
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    sent = 0  # retried with the same bytes, as OpenSSL requires
            if sent:
                view = view[sent:]
            else:
                # Writable, or readable for a handshake message the reader will take.
                select.select([], [sock], [], _RETRY_WAIT)
