"""Work handed to the poller's loop while it stops leaves no coroutine never awaited."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings

from ollama_tui.poller import run_loop, run_on


async def _answer() -> int:
    return 42


def _loop_in_thread() -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=run_loop, args=(loop,), daemon=True)
    thread.start()
    return loop, thread


def test_work_sent_to_a_loop_as_it_stops_leaves_no_coroutine_unawaited() -> None:
    loop, thread = _loop_in_thread()
    loop.call_soon_threadsafe(loop.stop)  # stops before it gets to what is sent next
    future = run_on(loop, _answer)
    thread.join(5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del future
        gc.collect()
    assert not [str(w.message) for w in caught if "never awaited" in str(w.message)]


def test_work_runs_and_a_cancel_reaches_the_loop() -> None:
    loop, thread = _loop_in_thread()
    try:
        assert run_on(loop, _answer).result(5) == 42
        started, cancelled = threading.Event(), threading.Event()

        async def forever() -> None:
            started.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        future = run_on(loop, forever)
        assert started.wait(5)
        future.cancel()
        assert cancelled.wait(5)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
