"""The simulator on real loopback sockets: threads, asyncio, trio, faults, replay, load, the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gzip
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import amiproto
from amiproto_transports.simulator import Simulator
from amiproto_transports.simulator._config import users_from_mapping
from amiproto_transports.simulator._events import make_event
from amiproto_transports.simulator._limits import Limits
from amiproto_transports.simulator._session import Session
from amiproto_transports.simulator._world import World

from ..conftest import ROOT
from .amiclient import AmiClient, read_raw
from .serving import serving

LOAD_RX = ROOT / "src" / "amiproto_transports" / "data" / "load_120calls.rx.gz"
LOGIN = b"Action: Login\r\nActionID: 1\r\nUsername: admin\r\nSecret: wordpass\r\n\r\n"
PING = b"Action: Ping\r\nActionID: p\r\n\r\n"


def wait_until(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_many_clients_at_once_each_independent() -> None:
    sim = Simulator()
    with sim.running() as address:

        def one(index: int) -> str:
            with AmiClient(address) as client:
                assert client.login(auth="md5" if index % 2 else "plain").success
                put = client.action("DBPut", Family="f", Key=str(index), Val=str(index))
                assert put.success
                got = client.action("DBGet", Family="f", Key=str(index))
                value = got.events[0].get("Val")
                assert client.action("Logoff").response.status == "goodbye"
                return str(value)

        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(one, range(40)))
        assert results == [str(i) for i in range(40)]
        wait_until(lambda: sim.connections == 0)


def test_many_simulators_on_free_ports_and_clean_stop_with_clients_connected() -> None:
    before = threading.active_count()
    sims = [Simulator() for _ in range(5)]
    clients = []
    managers = [sim.running() for sim in sims]
    addresses = [manager.__enter__() for manager in managers]
    try:
        assert len({port for _, port in addresses}) == 5
        for address in addresses:
            client = AmiClient(address)
            assert client.login(auth="plain").success
            clients.append(client)
        wait_until(lambda: all(sim.connections == 1 for sim in sims))
    finally:
        for manager in managers:
            manager.__exit__(None, None, None)
    for client in clients:
        client.wait_closed(2)  # the server closed them on stop
        client.close()
    wait_until(lambda: threading.active_count() <= before, 5)
    for sim in sims:
        sim.stop()  # idempotent
    with pytest.raises(OSError):
        socket.create_connection(addresses[0], timeout=1).close()


def test_one_simulator_runs_one_server_at_a_time() -> None:
    sim = Simulator()
    with sim.running(), pytest.raises(RuntimeError), sim.running():
        pass


def test_users_and_manager_conf(tmp_path: Path) -> None:
    conf = tmp_path / "manager.conf"
    conf.write_text("[general]\nenabled = yes\n\n[bob]\nsecret = s3\nread = call\nwrite = system\n")
    sim = Simulator(users={"x": ("y", "all", "all")}, manager_conf=conf)
    with sim.running() as address, AmiClient(address) as client:
        assert client.login("bob", "s3", auth="plain").success
        assert client.action("Command", Command="core show uptime").response.message == "Permission denied"
        assert client.action("DBPut", Family="a", Key="b", Val="c").success
    with sim.running() as address, AmiClient(address) as client:
        assert not client.login("x", "y", auth="plain").success
        client.wait_closed(2)


def test_bad_secret_closes_the_connection() -> None:
    sim = Simulator()
    with sim.running() as address:
        raw = read_raw(address, LOGIN.replace(b"wordpass", b"wrong") + PING, b"\x00never")
    assert raw == (
        b"Asterisk Call Manager/11.0.0\r\n"
        b"Response: Error\r\nActionID: 1\r\nMessage: Authentication failed\r\n\r\n"
    )


# -- faults -----------------------------------------------------------------------


def test_fault_close_mid_list() -> None:
    sim = Simulator()
    with sim.running() as address, AmiClient(address) as client:
        client.login(auth="plain")
        client.action("Originate", Channel="Local/wait@default", Application="Wait", Data="30", Async="1")
        sim.set_fault("close_mid_list")
        assert client.action("Ping").success  # not a list: unaffected
        client.sock.sendall(client.conn.send(amiproto.Action("CoreShowChannels")))
        closed = client.wait_for(lambda item: isinstance(item, amiproto.ConnectionClosed))
        assert closed.pending
        items = [e for e in client.events if e.name.startswith("CoreShowChannel")]
        assert [e.name for e in items] == ["CoreShowChannel"]


def test_fault_stall_reads_but_never_answers() -> None:
    sim = Simulator()
    sim.set_fault("stall")
    with sim.running() as address:
        raw = read_raw(address, LOGIN + PING, b"\x00never", timeout=0.5)
        assert raw == b"Asterisk Call Manager/11.0.0\r\n"
        sim.set_fault(None)
        raw = read_raw(address, LOGIN, b"Authentication accepted")
        assert b"Authentication accepted" in raw


def test_fault_garbage_before_each_answer() -> None:
    sim = Simulator()
    sim.set_fault("garbage", data=b"\x00junk\r\n\r\n")
    with sim.running() as address:
        raw = read_raw(address, LOGIN + PING, b"Pong\r\n")
    assert raw.count(b"\x00junk\r\n\r\n") == 2
    assert raw.index(b"\x00junk") < raw.index(b"Response: Success\r\nActionID: 1")


def test_fault_oversized_answer() -> None:
    sim = Simulator()
    with sim.running() as address:
        sim.set_fault("oversized", size=100_000)
        raw = read_raw(address, LOGIN + PING, b"Pong\r\n")
    greeting = len(b"Asterisk Call Manager/11.0.0\r\n")
    first = raw[greeting:].split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    assert len(first) == 100_000 and first.startswith(b"Response: Success")
    assert raw.endswith(b"Ping: Pong\r\n" + raw.split(b"Ping: Pong\r\n")[1])  # the next answer is normal


def test_fault_bare_lf_everywhere() -> None:
    sim = Simulator()
    sim.set_fault("bare_lf")
    with sim.running() as address:
        raw = read_raw(address, LOGIN + PING, b"Pong\n")
    assert b"\r" not in raw
    assert raw.startswith(b"Asterisk Call Manager/11.0.0\nResponse: Success\nActionID: 1\n")


def test_fault_cut_at_eof() -> None:
    sim = Simulator()
    with sim.running() as address, AmiClient(address) as client:
        client.login(auth="plain")
        sim.set_fault("cut_at_eof")
        client.sock.sendall(client.conn.send(amiproto.Action("CoreSettings")))
        client.wait_for(lambda item: isinstance(item, amiproto.ConnectionClosed))
        done = [i for i in client.items if isinstance(i, amiproto.ActionCompleted)][-1]
        assert done.action.name == "CoreSettings"
        assert done.response is not None and done.response.truncated
        truncated = [i for i in client.items if isinstance(i, amiproto.Message) and i.truncated]
        assert truncated and truncated[0].raw.startswith(b"Response: Success")


# -- asyncio and trio ----------------------------------------------------------------


async def _async_login_ping(host: str, port: int) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(LOGIN + PING)
    data = b""
    while b"Pong" not in data:
        chunk = await asyncio.wait_for(reader.read(65536), 5)
        assert chunk
        data += chunk
    writer.close()
    return data


def test_asyncio_runner() -> None:
    async def main() -> None:
        sim = Simulator()
        async with sim.running_asyncio() as (host, port):
            data = await asyncio.gather(*(_async_login_ping(host, port) for _ in range(10)))
            assert all(b"Authentication accepted" in d and b"Ping: Pong" in d for d in data)
            client = await asyncio.to_thread(AmiClient, (host, port))
            try:
                assert (await asyncio.to_thread(client.login, auth="md5")).success
                await asyncio.to_thread(
                    client.action,
                    "Originate",
                    Channel="Local/echo@default",
                    Application="Wait",
                    Data="1",
                    Async="1",
                )
                hangup = await asyncio.to_thread(client.wait_event, "Hangup", 5)
                assert (hangup.get("Channel") or "").startswith("Local/echo@default-")
            finally:
                client.close()
        assert sim.connections == 0

    asyncio.run(asyncio.wait_for(main(), 20))


def test_trio_runner() -> None:
    trio = pytest.importorskip("trio")

    async def main() -> None:
        sim = Simulator()
        with trio.fail_after(20):
            async with sim.running_trio() as (host, port):
                stream = await trio.open_tcp_stream(host, port)
                await stream.send_all(LOGIN + PING)
                data = b""
                while b"Pong" not in data:
                    chunk = await stream.receive_some(65536)
                    assert chunk
                    data += chunk
                assert b"Authentication accepted" in data
                await stream.send_all(b"Action: Logoff\r\nActionID: 9\r\n\r\n")
                while chunk := await stream.receive_some(65536):
                    data += chunk
                assert data.endswith(b"Message: Thanks for all the fish.\r\n\r\n")
                await stream.aclose()

    trio.run(main)


# -- replay and load ---------------------------------------------------------------------


def _recorded_event_count() -> int:
    raw = gzip.decompress(LOAD_RX.read_bytes())
    return len([m for m in raw.split(b"\r\n\r\n") if m.startswith(b"Event:") and b"\r\nActionID:" not in m])


@pytest.mark.skipif(not LOAD_RX.exists(), reason="no committed load recording")
def test_replay_full_speed_streams_every_event_to_each_client() -> None:
    expected = _recorded_event_count()
    sim = Simulator(replay=LOAD_RX)
    with sim.running() as address:
        clients = [AmiClient(address, timeout=15) for _ in range(2)]
        for client in clients:
            client.login(auth="plain")
        for client in clients:
            events = client.events
            client.wait_for(lambda _, events=events: len(events) >= expected + 2, 15)
            assert client.events[2].name == "FullyBooted"  # the recording's own login events come too
            assert "Newchannel" in {e.name for e in client.events[2:]}
            client.close()
    assert expected > 7000


@pytest.mark.skipif(not LOAD_RX.exists(), reason="no committed load recording")
def test_replay_at_a_rate_and_honouring_the_mask() -> None:
    sim = Simulator(replay=LOAD_RX, replay_rate=200)
    with sim.running() as address, AmiClient(address) as client:
        start = time.monotonic()
        client.login(auth="plain", events="call")
        client.wait_for(lambda _: len(client.events) >= 20, 5)
        with pytest.raises(AssertionError):
            client.wait_for(lambda _: False, 0.3)
        elapsed = time.monotonic() - start
        # At 200 events/s no more than the due ones can have come (the mask only removes some).
        assert len(client.events) <= 200 * elapsed + 5
        assert all("call" in (e.get("Privilege") or "") for e in client.events)


def test_load_mode_generates_calls() -> None:
    sim = Simulator(calls_per_second=20)
    with sim.running() as address, AmiClient(address) as client:
        client.login(auth="plain")
        client.wait_for(lambda _: len([e for e in client.events if e.name == "Hangup"]) >= 4, 10)
        names = {e.name for e in client.events}
        assert {"Newchannel", "DialBegin", "DialEnd", "Newstate", "Hangup"} <= names


# -- the command line --------------------------------------------------------------------


def test_cli_starts_and_prints_where_it_listens(tmp_path: Path) -> None:
    conf = tmp_path / "manager.conf"
    conf.write_text("[carol]\nsecret = pw\nread = all\nwrite = all\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "amiproto_transports.simulator", "--port", "0", "--manager-conf", str(conf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("AMI simulator listening on 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        with AmiClient(("127.0.0.1", port)) as client:
            assert client.login("carol", "pw", auth="plain").success
        assert proc.stdout.readline().startswith("connection from 127.0.0.1:")
    finally:
        proc.kill()
        proc.wait(5)


def test_the_thread_runner_answers_without_nagle_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    # A pipelining client would otherwise wait for its own delayed ACK (40 ms on
    # Linux) before every answer after the first; asyncio and trio set it themselves.
    from amiproto_transports.simulator import _runners

    accepted: list[socket.socket] = []
    original = _runners.ThreadServer._accept

    def accept(self: _runners.ThreadServer) -> None:
        original(self)
        accepted.extend(self._conns)

    monkeypatch.setattr(_runners.ThreadServer, "_accept", accept)
    with Simulator().running() as address, AmiClient(address) as client:
        assert client.login().success
        assert accepted
        assert all(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sock in accepted)


def test_pieces_one_write_or_one_per_message() -> None:
    from amiproto_transports.simulator._runners import pieces
    from amiproto_transports.simulator._world import World

    data = b"A: 1\r\n\r\nB: 2\r\n\r\nC: 3\r\n"
    assert pieces(World({}, start=0.0, wall_offset=0.0), data) == [data]
    each = World({}, start=0.0, wall_offset=0.0, write_each_message=True)
    # A message cut at a batch's end is a piece of its own; the rest follows in the next batch.
    assert pieces(each, data) == [b"A: 1\r\n\r\n", b"B: 2\r\n\r\n", b"C: 3\r\n"]
    assert b"".join(pieces(each, data)) == data


def _answers(raw: bytes) -> list[bytes]:
    """The messages of ``raw``, Timestamps left out (they differ from run to run)."""
    return [
        b"\r\n".join(line for line in message.split(b"\r\n") if not line.startswith(b"Timestamp:"))
        for message in raw.split(b"\r\n\r\n")
        if message
    ]


@pytest.mark.parametrize("each", [False, True])
def test_write_each_message_sends_the_same_bytes_one_message_a_write(
    each: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    sends: list[bytes] = []
    real_send = socket.socket.send

    def counting_send(sock: socket.socket, data: bytes, *flags: int) -> int:
        sent = real_send(sock, data, *flags)
        if sock.family == socket.AF_INET and sock.getsockname()[1] == port:  # the server's side
            sends.append(bytes(data[:sent]))
        return sent

    pings = b"".join(b"Action: Ping\r\nActionID: p%d\r\n\r\n" % n for n in range(20))
    sim = Simulator(write_each_message=each)
    with sim.running() as (host, port):
        monkeypatch.setattr(socket.socket, "send", counting_send)
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(LOGIN + pings)
            data = b""
            while data.count(b"Ping: Pong") < 20:
                chunk = sock.recv(65536)
                assert chunk
                data += chunk
    messages_read = _answers(data.split(b"\r\n", 1)[1])  # after the greeting line
    answers = [message for message in messages_read if message.startswith(b"Response: Success")]
    assert [answer.split(b"\r\n")[1] for answer in answers[1:]] == [b"ActionID: p%d" % n for n in range(20)]
    assert b"".join(sends) == data
    messages = [piece for piece in sends if piece.endswith(b"\r\n\r\n")]
    if each:
        # Every answer in a write of its own (the greeting line maybe alone before them).
        assert len(messages) == len(messages_read) == len(sends) - (sends[0].count(b"\r\n\r\n") == 0)
        assert all(piece.count(b"\r\n\r\n") == 1 for piece in messages)
    else:
        assert len(sends) < len(messages_read)


# Serves with one runner, then leaves the process no free file descriptor: accept() fails
# with EMFILE while clients wait in the backlog. Prints the port once starved, waits for a line, then
# prints the CPU seconds the process used in the next second.
OUT_OF_FILES = """
import asyncio, os, resource, sys, time
from amiproto_transports.simulator import Simulator

def starve_and_measure(port):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) - 1, hard))
    print(port, flush=True)
    sys.stdin.readline()
    time.sleep(0.3)
    start = time.process_time()
    time.sleep(1.0)
    print(time.process_time() - start, flush=True)

sim = Simulator()
runner = sys.argv[1]
if runner == "thread":
    with sim.running() as address:
        starve_and_measure(address[1])
elif runner == "asyncio":
    async def main():
        async with sim.running_asyncio() as address:
            await asyncio.get_running_loop().run_in_executor(None, starve_and_measure, address[1])
    asyncio.run(main())
else:
    import trio
    async def main():
        async with sim.running_trio() as address:
            await trio.to_thread.run_sync(starve_and_measure, address[1])
    trio.run(main)
"""


@pytest.mark.timeout(60)
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
@pytest.mark.parametrize("runner", ["thread", "asyncio", "trio"])
def test_a_runner_out_of_file_descriptors_does_not_spin(runner: str) -> None:
    """accept() failing with EMFILE left the listener readable: the thread runner called
    it again at once, for ever, at 100% CPU."""
    if runner == "trio":
        pytest.importorskip("trio")
    child = subprocess.Popen(
        [sys.executable, "-c", OUT_OF_FILES, runner],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    clients: list[socket.socket] = []
    try:
        assert child.stdout is not None and child.stdin is not None
        port = int(child.stdout.readline())
        for _ in range(5):
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        child.stdin.write("go\n")
        child.stdin.flush()
        out, _ = child.communicate(timeout=30)
        # A spinning loop uses the whole second; a paused one almost nothing.
        assert float(out.strip()) < 0.5
    finally:
        for client in clients:
            client.close()
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("runner", ["thread", "asyncio", "trio"])
def test_a_client_that_never_reads_is_closed_once_its_output_overflows(runner: str) -> None:
    """Past max_output the session dropped its queue, but the runner still held what the
    socket had not taken and kept the connection open for ever: the thread runner waited to
    flush its batch, asyncio's close() its buffer, trio's send_all the client."""
    if runner == "trio":
        pytest.importorskip("trio")
    sim = Simulator()
    sim.limits = dataclasses.replace(sim.limits, max_output=200_000)
    closed: list[str] = []
    sim._log = closed.append
    with serving(sim, runner) as address:
        client = socket.create_connection(address, timeout=5)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            client.sendall(LOGIN)
            seen = b""
            while b"Authentication accepted" not in seen:
                seen += client.recv(4096)
            wait_until(lambda: sim.connections == 1)
            # Each answer is some 10 KB; from here on the client reads nothing. Few at a time,
            # so that the runner writes them until the kernel's buffers are full and holds a
            # batch when the session goes over (all in one read would overflow before any write).
            deadline = time.monotonic() + 30
            with contextlib.suppress(OSError):
                while sim.connections and time.monotonic() < deadline:
                    client.sendall(b"Action: ListCommands\r\n\r\n" * 10)
                    time.sleep(0.005)
            wait_until(lambda: sim.connections == 0, timeout=10)
            assert any("waiting to be read" in line for line in closed)
        finally:
            client.close()


def test_the_output_of_all_connections_together_is_bounded() -> None:
    world = World(users_from_mapping({"admin": ("wordpass", "all", "all")}), start=0.0, wall_offset=0.0)
    world.limits = Limits(max_output=10_000_000, max_total_output=30_000)
    login = b"Action: Login\r\nUsername: admin\r\nSecret: wordpass\r\n\r\n"
    sessions = [Session(world, 0.0) for _ in range(3)]
    for session in sessions:
        session.receive_data(login, 0.0)
    for index in range(100):
        world.emit(make_event("UserEvent", "user,all", [("UserEvent", "x"), ("N", str(index) * 50)]))
        world.dispatch()
    over = [session for session in sessions if session.closing]
    assert over and all(session.abandoned for session in over)
    assert world.output_total <= 30_000
    for session in sessions:
        session.connection_lost()
    assert world.output_total == 0
