"""Fuzz the core. The only invariant: parse it, or raise RemoteProtocolError.

Run with atheris when it is installed (``pip install atheris``):
    python fuzz/fuzz_connection.py -max_total_time=300
Without atheris it mutates the committed and shared sample streams at random:
    python fuzz/fuzz_connection.py --iterations 20000 [--seed N]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import random
import re
import sys
from pathlib import Path

import amiproto

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [
    ROOT.parent / "shared" / "ami-samples",
    ROOT / "tests" / "data",
]


# The ActionIDs a stream answers: actions are sent with them first, so that the
# answers complete actions of every kind (plain, list, awaited result) as they would.
_ACTION_ID = re.compile(rb"(?im)^actionid: ?([^\r\n]{1,40})")
_WAITING_KINDS = (
    (amiproto.Action("Ping"), False),
    (amiproto.Action("Status", list_complete_event="StatusComplete"), False),
    (amiproto.Action("Originate", Async="true"), True),
)


def _send_waiting(conn: amiproto.Connection, data: bytes) -> None:
    seen: set[bytes] = set()
    for found in _ACTION_ID.finditer(data):
        action_id = found.group(1)
        if action_id in seen or len(seen) >= 20:
            continue
        seen.add(action_id)
        action, wait = _WAITING_KINDS[len(seen) % len(_WAITING_KINDS)]
        try:
            named = action.with_action_id(action_id.decode("utf-8", "surrogateescape"))
            conn.send(named, wait_for_result=wait)
        except amiproto.LocalProtocolError:
            continue  # not an ActionID a program could send


def check(data: bytes, cuts: list[int] | None = None) -> None:
    """Send actions for the ActionIDs in ``data``, feed it (split at ``cuts``) and drain;
    only RemoteProtocolError may escape."""
    conn = amiproto.Connection(max_message_size=4096, max_buffer_size=65536)
    _send_waiting(conn, data)
    bounds = [0, *sorted(c for c in (cuts or []) if 0 < c < len(data)), len(data)]
    try:
        for start, end in itertools.pairwise(bounds):
            if end > start:
                conn.receive_data(data[start:end])
                _drain(conn)
        conn.receive_data(b"")
        _drain(conn)
    except amiproto.RemoteProtocolError:
        return


def _drain(conn: amiproto.Connection) -> None:
    while (item := conn.next_event()) is not amiproto.NEED_DATA:
        if isinstance(item, amiproto.Message):
            # Touch everything lazy, so that parsing runs too.
            _ = item.headers, item.unparsed, item.action_id, item.truncated
            if isinstance(item, amiproto.Response):
                _ = item.output, item.status
            for name, _value in item.headers:
                item.headers.get(name)


def seed_corpus() -> list[bytes]:
    corpus = []
    for folder in SEEDS:
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.suffix == ".ami":
                    corpus.append(path.read_bytes())
                elif path.name.endswith(".jsonl.gz"):
                    corpus.append(gzip.decompress(path.read_bytes())[:20000])
    return corpus or [b"Asterisk Call Manager/11.0.0\r\nEvent: X\r\n\r\n"]


TOKENS = [
    b"\r\n",
    b"\n",
    b"\r",
    b":",
    b": ",
    b"\r\n\r\n",
    b"--END COMMAND--",
    b"Response: Follows\r\n",
    b"\xff",
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        where = rng.randint(0, len(buf))
        choice = rng.random()
        if choice < 0.4:
            buf[where:where] = rng.choice(TOKENS)
        elif choice < 0.7 and buf:
            del buf[where : where + rng.randint(1, 16)]
        else:
            buf[where:where] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(buf)


def run_random(iterations: int, seed: int) -> int:
    rng = random.Random(seed)
    corpus = seed_corpus()
    for _ in range(iterations):
        data = mutate(rng, rng.choice(corpus)[:8000])
        cuts = [rng.randint(0, len(data)) for _ in range(rng.randint(0, 6))]
        check(data, cuts)
    print(f"{iterations} inputs, no invariant broken")
    return 0


def main() -> int:
    try:
        import atheris  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415 (optional)
    except ImportError:
        parser = argparse.ArgumentParser(description=__doc__)
        parser.add_argument("--iterations", type=int, default=20000)
        parser.add_argument("--seed", type=int, default=0)
        args = parser.parse_args()
        return run_random(args.iterations, args.seed)
    atheris.Setup(sys.argv, lambda data: check(bytes(data)))
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
