"""Run a Simulator on its own event loop in a daemon thread (for sync / out-of-loop callers)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .server import Simulator


@contextmanager
def serve_in_thread(host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> Iterator[Simulator]:
    """Yield a started Simulator served from a background thread; stopped on exit.

    Keyword arguments go to ``Simulator``. Its control methods (``add_model``, ``load_model``,
    ``reset``, ``faults.add`` ...) may be called from the caller's thread.
    """
    sim = Simulator(**kwargs)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(sim.start(host, port))
        except BaseException as err:  # reported to the caller's thread below
            failure.append(err)
            started.set()
            return
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="ollama-simulator", daemon=True)
    thread.start()
    started.wait(timeout=30)
    if failure:
        loop.close()
        raise failure[0]
    try:
        yield sim
    finally:
        future = asyncio.run_coroutine_threadsafe(sim.stop(), loop)
        try:
            future.result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()
