"""Run a Simulator (or a Fleet) on its own event loop in a daemon thread, for sync callers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from .fleet import Fleet
from .server import Simulator

T = TypeVar("T")


@contextmanager
def serve_in_thread(host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> Iterator[Simulator]:
    """Yield a started Simulator served from a background thread; stopped on exit.

    Keyword arguments go to ``Simulator``. Its control methods (``add_model``, ``load_model``,
    ``reset``, ``faults.add`` ...) may be called from the caller's thread.
    """
    sim = Simulator(**kwargs)
    with _in_thread(sim, lambda: sim.start(host, port), sim.stop, "ollama-simulator"):
        yield sim


@contextmanager
def serve_fleet_in_thread(
    count: int = 3, host: str = "127.0.0.1", ports: int | Sequence[int] = 0, **kwargs: Any
) -> Iterator[Fleet]:
    """Yield a started Fleet of ``count`` servers (one thread, one event loop for all).

    ``ports``: the first of consecutive ports, 0 for any free ones, or one per server.
    Keyword arguments go to ``Fleet``; ``fleet.urls`` and ``fleet.simulators`` match in order.
    """
    fleet = Fleet(count, **kwargs)
    with _in_thread(fleet, lambda: fleet.start(host, ports), fleet.stop, "ollama-fleet"):
        yield fleet


@contextmanager
def _in_thread(
    value: T,
    start: Callable[[], Awaitable[object]],
    stop: Callable[[], Awaitable[None]],
    name: str,
) -> Iterator[T]:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    async def begin() -> None:
        await start()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(begin())
        except BaseException as err:  # reported to the caller's thread below
            failure.append(err)
            started.set()
            return
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    started.wait(timeout=30)
    if failure:
        thread.join(timeout=10)
        loop.close()
        raise failure[0]
    try:
        yield value
    finally:

        async def end() -> None:
            await stop()

        future = asyncio.run_coroutine_threadsafe(end(), loop)
        try:
            future.result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()
