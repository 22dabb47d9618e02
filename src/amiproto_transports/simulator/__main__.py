"""``python -m amiproto_transports.simulator --port 5038 [--manager-conf FILE] ...``"""

from __future__ import annotations

import argparse
import sys

from . import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m amiproto_transports.simulator",
        description="Run the amiproto AMI simulator in the foreground until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5038, help="port (default 5038; 0 picks a free one)")
    parser.add_argument("--manager-conf", help="read users and permissions from this manager.conf")
    parser.add_argument("--calls-per-second", type=float, help="generate call traffic at this rate")
    parser.add_argument("--replay", help="stream the events of this .rx or .rx.gz file to logged-in clients")
    parser.add_argument(
        "--replay-rate", type=float, help="events per second for --replay (default: as fast as possible)"
    )
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, flush=True)

    sim = Simulator(
        manager_conf=args.manager_conf,
        calls_per_second=args.calls_per_second,
        replay=args.replay,
        replay_rate=args.replay_rate,
        log=log,
    )

    def ready(host: str, port: int) -> None:
        print(f"AMI simulator listening on {host}:{port}", flush=True)

    try:
        sim.serve_forever(args.host, args.port, ready=ready)
    except KeyboardInterrupt:
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
