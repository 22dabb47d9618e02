"""Fuzz the live model with real traffic gone wrong. The invariants: ``PBX.apply``
never raises, whatever the events say, and the C speedups and pure Python give the
same changes and the same model.

The recording's messages, some of them mutated line by line (a header dropped,
doubled, emptied, cut, given odd bytes, moved), some dropped, go through the core
and every item into a ``PBX``:
    python fuzz/fuzz_live.py --iterations 50 [--seed N] [--rate 0.05]
"""

from __future__ import annotations

import argparse
import gzip
import random
import sys
from pathlib import Path

import amiproto
from amiproto import _accel
from amiproto.live import PBX

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "src" / "amiproto_transports" / "data" / "load_120calls.rx.gz"

# Values a server should not send but may: empty, huge, not UTF-8, not numbers, NUL.
ODD_VALUES = [
    b"",
    b" ",
    b"\xff\xfe",
    b"x" * 3000,
    b"<unknown>",
    b"-1",
    b"1e309",
    b"nan",
    b"\x00",
    b"Up",
    b"6",
    b"0x10",
    "\u00e9".encode(),
    b"1700000000.1",
]


def recording_messages() -> list[bytes]:
    """The recording's messages without their blank line (the banner is the first)."""
    return gzip.decompress(RECORDING.read_bytes()).split(b"\r\n\r\n")


def mutate_message(rng: random.Random, message: bytes) -> bytes:
    lines = message.split(b"\r\n")
    for _ in range(rng.randint(1, 3)):
        where = rng.randrange(len(lines))
        name, _, value = lines[where].partition(b": ")
        choice = rng.randrange(6)
        if choice == 0 and len(lines) > 1:
            del lines[where]
        elif choice == 1:
            lines.insert(where, lines[rng.randrange(len(lines))])
        elif choice == 2:
            lines[where] = name + b": " + rng.choice(ODD_VALUES)
        elif choice == 3:
            lines[where] = lines[where][: rng.randrange(len(lines[where]) + 1)]
        elif choice == 4:
            lines[where] = name.upper() + b": " + value
        else:
            other = rng.randrange(len(lines))
            lines[where], lines[other] = lines[other], lines[where]
    return b"\r\n".join(lines)


def mutated_stream(rng: random.Random, messages: list[bytes], rate: float = 0.05) -> bytes:
    """The messages, each mutated with probability ``rate`` and dropped with a fifth of it."""
    kept = [messages[0]]
    for message in messages[1:]:
        if rng.random() < rate / 5:
            continue
        kept.append(mutate_message(rng, message) if rng.random() < rate else message)
    return b"\r\n\r\n".join(kept)


def model_of(pbx: PBX) -> str:
    """Everything the model holds, as text to compare."""
    parts: list[object] = [
        sorted(pbx.channels.items()),
        sorted(pbx.bridges.items()),
        sorted(pbx.calls.items()),
        list(pbx.finished_calls),
        sorted(pbx.queues.items()),
        sorted(pbx.device_states.items()),
        sorted(pbx.extension_states.items()),
        pbx.synced,
    ]
    return repr(parts)


def apply_all(stream: bytes) -> tuple[list[str], str]:
    """Every item of ``stream`` into a new PBX: its changes, and the model at the end."""
    conn = amiproto.Connection()
    conn.receive_data(stream)
    conn.receive_data(b"")
    pbx = PBX(history=5)
    changes = []
    for now, item in enumerate(conn.next_events()):
        try:
            changes.append(repr(pbx.apply(item, float(now))))
        except Exception as error:
            raw = getattr(item, "raw", b"")
            raise AssertionError(f"PBX.apply raised on {raw[:300]!r}") from error
    return changes, model_of(pbx)


def check(stream: bytes) -> None:
    """Apply ``stream`` in pure Python and, when built, with the C speedups: same results."""
    was = _accel.speedups_enabled()
    try:
        _accel.use_speedups(False)
        python = apply_all(stream)
        if _accel.speedups is None:
            return
        _accel.use_speedups(True)
        c = apply_all(stream)
    finally:
        _accel.use_speedups(was)
    if c[1] != python[1]:
        raise AssertionError("the C speedups and pure Python end with different models")
    for index, (in_c, in_python) in enumerate(zip(c[0], python[0], strict=True)):
        if in_c != in_python:
            raise AssertionError(f"item {index}: C made {in_c[:500]}, Python {in_python[:500]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0.05, help="the share of messages mutated")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    messages = recording_messages()
    for _ in range(args.iterations):
        check(mutated_stream(rng, messages, args.rate))
    print(f"{args.iterations} mutated recordings, no invariant broken")
    return 0


if __name__ == "__main__":
    sys.exit(main())
