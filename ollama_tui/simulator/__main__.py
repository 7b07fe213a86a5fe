"""``python -m ollama_tui.simulator --listen 127.0.0.1:PORT [--models N] [--bandwidth B]``.

``--fleet N`` (or several comma-separated ``--listen`` addresses) runs a fleet of servers in
this one process, each with its own state. ``--speed TOKENS_PER_S[,...]`` sets the inference
speed (one for every server, or one per server of a fleet).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import math
import signal
import sys

from .fleet import Fleet, ServerPlan, fleet_addresses, plan_for
from .server import DEFAULT_SPEED, EMBED_SPEED_FACTOR, PROMPT_SPEED_FACTOR, Simulator


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = text.strip(), "11434"
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}")
    return host, number


def _listen(text: str) -> list[tuple[str, int]]:
    """One HOST:PORT, or several separated by commas (one server each)."""
    return [_address(part) for part in text.split(",")]


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("a fleet needs at least 1 server")
    return value


def _speeds(text: str) -> list[float]:
    """One speed (tokens per second), or several separated by commas (one per server)."""
    speeds: list[float] = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of tokens/s: {part!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"a speed must be above 0 tokens/s: {part!r}")
        speeds.append(value)
    return speeds


def _prepare(text: str) -> tuple[str, int]:
    name, sep, lines = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError("expected NAME=LINES")
    return name, int(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m ollama_tui.simulator",
        description="A simulated Ollama server, or a fleet of them in one process.",
        epilog=(
            "Fleet mode: --fleet N --listen HOST:PORT runs N servers on PORT, PORT+1, ... "
            "(port 0: any free ports); --listen A:P1,B:P2,... runs one server per address. "
            "Each server has its own models and state: the first three are a preset (different "
            "models on each, one loaded, llama3.2:latest diverged between two, versions "
            "0.31.0, 0.30.2 and 0.12.6). Each prints one line "
            "'Simulated Ollama server listening on URL'."
        ),
    )
    parser.add_argument(
        "--listen",
        type=_listen,
        default=[("127.0.0.1", 11434)],
        metavar="HOST:PORT[,HOST:PORT...]",
        help="where to listen (default 127.0.0.1:11434; port 0 = any); several = a fleet",
    )
    parser.add_argument(
        "--fleet",
        type=_count,
        metavar="N",
        help="run N servers (the fleet preset) on consecutive ports from --listen",
    )
    parser.add_argument("--models", type=int, default=0, help="extra synthetic local models")
    parser.add_argument(
        "--bandwidth", type=float, default=50e6, help="pull/push speed in bytes/s (default 50e6)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for synthetic models")
    parser.add_argument(
        "--version",
        dest="server_version",
        default=None,
        help="version to report (< 0.5.5 = legacy create; default 0.12.6, or the fleet "
        "preset's version for each server)",
    )
    parser.add_argument("--load-time", type=float, default=0.0, help="seconds a load takes")
    parser.add_argument(
        "--speed",
        type=_speeds,
        default=None,
        metavar="TOKENS_PER_S[,...]",
        help=f"generated tokens per second (default {DEFAULT_SPEED:g}; the fleet preset: 45, "
        f"120, 18); prompts are read {PROMPT_SPEED_FACTOR:g}x as fast, embeddings made at "
        f"{EMBED_SPEED_FACTOR:g}x; several (comma-separated) = one per server of a fleet",
    )
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


def _plan(args: argparse.Namespace) -> list[tuple[str, int]] | None:
    """The fleet's addresses, or None for a single server (the original mode)."""
    addresses = _addresses(args)
    speeds: list[float] | None = args.speed
    count = 1 if addresses is None else len(addresses)
    if speeds is not None and len(speeds) not in (1, count):
        raise ValueError(f"--speed gives {len(speeds)} speeds for {count} servers")
    return addresses


def _addresses(args: argparse.Namespace) -> list[tuple[str, int]] | None:
    listen: list[tuple[str, int]] = args.listen
    if args.fleet is None:
        return listen if len(listen) > 1 else None
    if len(listen) == 1:
        host, port = listen[0]
        return fleet_addresses(args.fleet, host, port)
    if len(listen) != args.fleet:
        raise ValueError(f"--fleet {args.fleet} with {len(listen)} --listen addresses")
    return listen


async def _serve(args: argparse.Namespace, addresses: list[tuple[str, int]] | None) -> None:
    options = {
        "bandwidth": args.bandwidth,
        "models": args.models,
        "seed": args.seed,
        "initial": not args.empty,
        "load_time": args.load_time,
    }
    speeds: list[float] | None = args.speed
    if addresses is None:
        speed = speeds[0] if speeds else DEFAULT_SPEED
        sims = [Simulator(version=args.server_version or "0.12.6", speed=speed, **options)]
        await sims[0].start(*args.listen[0])
        stop_all = sims[0].stop
    else:
        plans: list[ServerPlan] = [plan_for(k) for k in range(len(addresses))]
        if speeds:
            each = speeds * len(plans) if len(speeds) == 1 else speeds
            plans = [dataclasses.replace(p, speed=v) for p, v in zip(plans, each, strict=True)]
        fleet = Fleet(plans=plans, version=args.server_version, **options)
        sims = fleet.simulators
        await fleet.start(addresses=addresses)
        stop_all = fleet.stop
    try:
        for sim in sims:
            for name, lines in args.prepare:
                sim.prepare_stream(name, lines)
        for sim in sims:
            print(f"Simulated Ollama server listening on {sim.url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await stop_all()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        addresses = _plan(args)
    except ValueError as err:
        parser.error(str(err))
    try:
        asyncio.run(_serve(args, addresses))
    except KeyboardInterrupt:
        pass
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
