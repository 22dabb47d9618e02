"""Session recordings: the ``.jsonl`` format, redaction, and a recording proxy.

The format is the one of ``shared/recordings``: one JSON object a line,
``{"dir": "rx" | "tx", "hex": "<bytes in hex>"}``, in the order the chunks
crossed the wire (``rx``: from the server; ``tx``: from the client). A ``.gz``
suffix means gzip.

A readable form can be written beside it (``log_path``): the ``.log`` of the
recordings, each chunk headed ``--- rx N`` or ``--- tx N`` (N: its byte
count), its bytes as they are, then an empty line. Both files get the same
redacted bytes.

Redaction works on whole lines, so a secret split across two TCP chunks is
still caught: each direction keeps an unfinished last line back until its end
arrives. What it replaces: the value of every ``Secret`` and ``Key`` header the
client sends and ``secret=`` lines of ``GetConfig`` answers from the server
(``amiproto._redact`` says why).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import selectors
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, cast

from amiproto import _redact

__all__ = ["REDACTED", "Proxy", "SessionWriter", "log_path", "read_session", "redact"]

REDACTED = _redact.REDACTED.encode()


def redact(direction: str, data: bytes) -> bytes:
    """``data`` (whole lines) with credentials replaced: the policy of ``amiproto._redact``."""
    return _redact.redact_wire(data, from_client=direction == "tx")


def _open(path: Path, mode: str) -> IO[bytes]:
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.GzipFile(path, mode + "b"))
    return open(path, mode + "b")


def read_session(path: str | Path) -> list[tuple[str, bytes]]:
    """The chunks of a ``.jsonl`` (or ``.jsonl.gz``) recording, as ``(dir, bytes)``.

    Raises ``ValueError`` naming the line that is not a valid chunk.
    """
    chunks = []
    with _open(Path(path), "r") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                direction, data = obj["dir"], bytes.fromhex(obj["hex"])
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path}, line {number}: not a recording chunk ({error})") from None
            if direction not in ("rx", "tx"):
                raise ValueError(f"{path}, line {number}: dir must be 'rx' or 'tx', not {direction!r}")
            chunks.append((direction, data))
    return chunks


def log_path(path: str | Path) -> Path:
    """Where the readable form of recording ``path`` goes: ``x.jsonl[.gz]`` -> ``x.log``."""
    path = Path(path)
    name = path.name.removesuffix(".gz").removesuffix(".jsonl")
    return path.with_name(name + ".log")


class SessionWriter:
    """Writes chunks as they come, redacted, and their readable form to ``log`` if given; thread-safe."""

    def __init__(self, path: str | Path, log: str | Path | None = None) -> None:
        self.path = Path(path)
        self.log_path = None if log is None else Path(log)
        self._stream = _open(self.path, "w")
        try:
            self._log = None if self.log_path is None else open(self.log_path, "wb")  # noqa: SIM115
        except BaseException:
            self._stream.close()
            raise
        self._held = {"rx": b"", "tx": b""}
        self._lock = threading.Lock()
        self.chunks = {"rx": 0, "tx": 0}
        self.bytes = {"rx": 0, "tx": 0}

    def write(self, direction: str, data: bytes) -> None:
        with self._lock:
            self.bytes[direction] += len(data)
            data = self._held[direction] + data
            end = data.rfind(b"\n") + 1
            self._held[direction] = data[end:]
            if end:
                self._emit(direction, data[:end])

    def _emit(self, direction: str, data: bytes) -> None:
        redacted = redact(direction, data)
        line = json.dumps({"dir": direction, "hex": redacted.hex()})
        self._stream.write(line.encode() + b"\n")
        self._stream.flush()
        if self._log is not None:
            self._log.write(f"--- {direction} {len(redacted)}\n".encode() + redacted + b"\n")
            self._log.flush()
        self.chunks[direction] += 1

    def close(self) -> None:
        with self._lock:
            if self._stream.closed:
                return
            for direction in ("rx", "tx"):
                held = self._held[direction]
                if held:
                    # An unfinished last line: redact it as if it were whole.
                    self._emit(direction, held)
                    self._held[direction] = b""
            self._stream.close()
            if self._log is not None:
                self._log.close()


class Proxy:
    """Forwards one client connection to a server, recording both directions.

    Listens on ``listen`` (loopback); when a client connects, ``upstream()``
    gives the socket to the server. Runs in a thread; ``done`` is set when the
    session is over (either side closed, or ``stop()``), ``error`` says why if
    it could not start.
    """

    def __init__(
        self,
        upstream: Callable[[], socket.socket],
        writer: SessionWriter,
        listen: tuple[str, int] = ("127.0.0.1", 0),
    ) -> None:
        self._upstream = upstream
        self.writer = writer
        self._listener = socket.create_server(listen)
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self.done = threading.Event()
        self.connected = threading.Event()
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="amiproto-record-proxy", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        with contextlib.suppress(OSError):
            self._listener.close()

    def _run(self) -> None:
        try:
            self._listener.settimeout(0.2)
            client = None
            while client is None and not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    client, _ = self._listener.accept()
            self._listener.close()
            if client is None:
                return
            try:
                server = self._upstream()
            except OSError as error:
                self.error = str(error)
                client.close()
                return
            self.connected.set()
            with client, server:
                self._pump(client, server)
        finally:
            self.done.set()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        client.setblocking(True)
        server.setblocking(True)
        peers = {client: (server, "tx"), server: (client, "rx")}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ, sock)
            while not self._stop.is_set():
                for key, _ in selector.select(0.2):
                    sock = key.data
                    other, direction = peers[sock]
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        # One side is gone: the session is over for both.
                        with contextlib.suppress(OSError):
                            other.shutdown(socket.SHUT_RDWR)
                        return
                    self.writer.write(direction, data)
                    try:
                        other.sendall(data)
                    except OSError:
                        return
