"""``python -m ollama_tui.simulator --listen 127.0.0.1:PORT [--models N] [--bandwidth B]``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from .server import Simulator


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, "11434"
    host = host.strip("[]") or "127.0.0.1"
    try:
        return host, int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}") from None


def _prepare(text: str) -> tuple[str, int]:
    name, sep, lines = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError("expected NAME=LINES")
    return name, int(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m ollama_tui.simulator", description="A simulated Ollama server."
    )
    parser.add_argument(
        "--listen",
        type=_listen,
        default=("127.0.0.1", 11434),
        help="HOST:PORT to listen on (default 127.0.0.1:11434; port 0 = any)",
    )
    parser.add_argument("--models", type=int, default=0, help="extra synthetic local models")
    parser.add_argument(
        "--bandwidth", type=float, default=50e6, help="pull/push speed in bytes/s (default 50e6)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for synthetic models")
    parser.add_argument(
        "--version",
        dest="server_version",
        default="0.12.6",
        help="version to report (< 0.5.5 = legacy create)",
    )
    parser.add_argument("--load-time", type=float, default=0.0, help="seconds a load takes")
    parser.add_argument("--empty", action="store_true", help="start without local models")
    parser.add_argument(
        "--prepare",
        type=_prepare,
        action="append",
        default=[],
        metavar="NAME=LINES",
        help="prepared fast pull stream (benchmarks)",
    )
    return parser


async def _serve(args: argparse.Namespace) -> None:
    host, port = args.listen
    sim = Simulator(
        bandwidth=args.bandwidth,
        models=args.models,
        seed=args.seed,
        initial=not args.empty,
        version=args.server_version,
        load_time=args.load_time,
    )
    for name, lines in args.prepare:
        sim.prepare_stream(name, lines)
    url = await sim.start(host, port)
    print(f"Simulated Ollama server listening on {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
