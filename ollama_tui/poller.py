"""Fetch /api/tags and /api/ps on a private thread, so the UI loop never decodes or parses them.

At thousands of models, decoding and parsing a poll costs tens of milliseconds; on the UI's
event loop that would freeze input every interval. The poller runs its own event loop in ONE
daemon thread for every server: each server is a :class:`PollTarget` with its own
``OllamaClient`` on that loop, and polls of several servers run side by side as tasks there (a
slow server never delays another). The app awaits ``poll(target)`` from a worker. A snapshot
equal to the previous one comes back as the *same* list objects, so the UI can skip it in O(1).

No Textual here (pure asyncio + threading).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ollama_tui import forked
from ollama_tui.api import (
    LocalModel,
    ModelList,
    OllamaClient,
    RunningModel,
    ServerUnreachable,
    resolve_host,
)
from ollama_tui.api import client as client_module

__all__ = ["PollTarget", "Poller", "Snapshot"]

T = TypeVar("T")
log = logging.getLogger(__name__)

FORK_MIN_SERVERS = 4
"""From this many servers on, every first fetch but the first server's runs in a forked child."""
FORK_GRACE = 2.0
"""Seconds the forked child has past the start-up timeout to send what it read."""


@dataclass(frozen=True)
class Snapshot:
    """One poll: what is installed and running, and how long the two requests took.

    ``notes`` says what the server sent past a limit (more than ``MAX_MODELS`` models), for the
    user to see; empty normally.
    """

    installed: list[LocalModel]
    running: list[RunningModel]
    version: str | None
    rtt: float
    notes: tuple[str, ...] = ()


def _notes(*lists: list[Any]) -> tuple[str, ...]:
    """The notes of the client's capped model lists (``ModelList.note``)."""
    return tuple(models.note for models in lists if isinstance(models, ModelList) and models.note)


class PollTarget:
    """One server on the poller: its client (used only on the poller's loop) and last lists."""

    def __init__(
        self, host: str | None, headers: Mapping[str, str] | None = None, insecure: bool = False
    ) -> None:
        self.host = host
        self.headers = dict(headers or {})
        self.insecure = insecure
        self.base_url = resolve_host(host)  # a bad host fails here, in the caller's thread
        self.client: OllamaClient | None = None
        self.client_error: Exception | None = None
        try:
            # Cheap: the client makes its httpx pool on first use, on the poller's loop.
            self.client = OllamaClient(host, headers=self.headers, insecure=insecure)
        except Exception as error:  # every fetch reports it (as a poll error)
            self.client_error = error
        self.installed: list[LocalModel] = []
        self.running: list[RunningModel] = []
        # The lists the client last returned, equal to the two above (maybe other objects).
        self.fetched_installed: list[LocalModel] | None = None
        self.fetched_running: list[RunningModel] | None = None
        self.prefetched: concurrent.futures.Future[Snapshot] | None = None


class Poller:
    """Polls servers from one background thread; every method is called from the UI loop.

    ``host``/``headers`` name the first server (``targets[0]``), the one the methods use when
    given no target; ``add`` adds more, all served by the same thread.
    """

    def __init__(
        self,
        host: str | None,
        *,
        headers: Mapping[str, str] | None = None,
        insecure: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._host = host
        self._headers = dict(headers or {})
        self._insecure = insecure
        self._monotonic = monotonic
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.targets: list[PollTarget] = []
        self._ready = threading.Event()  # the thread's loop is running
        self.forked = 0
        """How many first fetches went to a forked child (``_prefetch_forked``); 0: none."""

    @property
    def _prefetched(self) -> concurrent.futures.Future[Snapshot] | None:
        """The first server's start-up fetch (for tests and the entry point)."""
        return self.targets[0].prefetched if self.targets else None

    def add(
        self, host: str | None, headers: Mapping[str, str] | None = None, insecure: bool = False
    ) -> PollTarget:
        """The target for this server: the existing one for the same URL, headers and TLS
        check, else a new one. Raises ``InvalidInput`` for an unusable host."""
        url = resolve_host(host)
        wanted = dict(headers or {})
        for target in self.targets:
            if target.base_url == url and target.headers == wanted and target.insecure == insecure:
                return target
        target = PollTarget(host, wanted, insecure)
        self.targets.append(target)
        return target

    def _target(self, target: PollTarget | None) -> PollTarget:
        if target is not None:
            return target
        if not self.targets:
            self.add(self._host, self._headers, self._insecure)
        return self.targets[0]

    def start(self) -> None:
        """Start the thread (and the first server's client), without waiting for them.

        Raises ``InvalidInput`` for an unusable host. Not waiting matters at start-up: creating
        the client imports most of httpcore, which then overlaps with importing the UI.
        """
        if self._thread is not None:
            return
        self._target(None)
        loop = asyncio.new_event_loop()

        self._loop = loop
        self._thread = threading.Thread(
            target=run_loop, args=(loop, self._ready), name="ollama-tui-poller", daemon=True
        )
        self._thread.start()

    def prefetch(self, target: PollTarget | None = None) -> None:
        """Send the first fetch (with the version) now, callable before any UI loop exists.

        The app's first poll takes it over (``take_prefetch``), so the round trip overlaps
        with importing and building the UI instead of following it.
        """
        self.prefetch_many([self._target(target)])

    def prefetch_many(self, targets: Sequence[PollTarget]) -> None:
        """``prefetch`` for several servers (those already sent are left alone)."""
        if self._thread is None:  # no thread of ours yet: the one moment a fork is safe
            self._prefetch_forked(targets)
        self.start()
        assert self._loop is not None
        for target in targets:
            if target.prefetched is not None:
                continue
            client = target.client
            if client is None or not client.can_fetch_blocking:
                target.prefetched = run_on(self._loop, functools.partial(self._fetch, target, True))
                continue
            # With the standard library, on a thread of its own: the poller's loop would import
            # httpcore and anyio for its first request, competing with the UI's first frame.
            # Every server so: with 20, connecting each through the poller's loop added ~250 ms
            # to the start (the threads only wait on sockets; they end with their fetch).
            future: concurrent.futures.Future[Snapshot] = concurrent.futures.Future()
            target.prefetched = future
            threading.Thread(
                target=self._prefetch_blocking,
                args=(target, client, self._loop, future),
                name="ollama-tui-first-fetch",
                daemon=True,
            ).start()

    def _prefetch_forked(self, targets: Sequence[PollTarget]) -> None:
        """The first fetch of every server but the first in a forked child (``forked``), from
        ``FORK_MIN_SERVERS`` servers on and where a fork is safe; else left to the threads.

        The first server's lists (the tables' rows) are read here, at once. Reading the others
        (19 lists of 500 models: ~100 ms of CPU) on this process's threads held the interpreter
        lock that importing and building the UI needs; in the child they take another core,
        and a 20-server start (bench row 12) comes on screen about 30 ms sooner."""
        first = self.targets[0] if self.targets else None
        ahead: list[PollTarget] = []
        for target in targets:
            if (
                target is not first
                and target not in ahead  # a server named twice is one target
                and target.prefetched is None
                and target.client is not None
                and target.client.can_fetch_blocking
            ):
                ahead.append(target)
        if len(ahead) + 1 < FORK_MIN_SERVERS or not forked.can_fork():
            return
        futures = [concurrent.futures.Future[Snapshot]() for _ in ahead]

        def work(index: int) -> Snapshot:  # in the child
            target = ahead[index]
            assert target.client is not None
            return self._fetch_blocking(target, target.client)

        def deliver(index: int, result: object | None) -> None:  # on the parent's reader
            target, future = ahead[index], futures[index]
            if not future.set_running_or_notify_cancel():
                return
            if isinstance(result, Snapshot):
                # Written here, as the threads do: no poll runs until the app has this snapshot.
                target.installed, target.running = result.installed, result.running
                future.set_result(result)
            else:  # failed in the child: asked again through the async client
                try:
                    threading.Thread(
                        target=self._fetch_again,
                        args=(target, future),
                        name="ollama-tui-first-fetch",
                        daemon=True,
                    ).start()
                except RuntimeError as error:  # no thread to be had: the poll says so, then asks
                    future.set_exception(error)

        for target, future in zip(ahead, futures, strict=True):
            target.prefetched = future
        timeout = client_module.START_UP_TIMEOUT + FORK_GRACE
        if forked.run_forked(len(ahead), work, deliver, timeout):
            self.forked = len(ahead)
        else:
            for target in ahead:
                target.prefetched = None

    def _fetch_again(self, target: PollTarget, future: concurrent.futures.Future[Snapshot]) -> None:
        """A forked first fetch that failed, asked again through the async client."""
        self._ready.wait(10)  # the poller's loop, started just after the fork
        loop, client = self._loop, target.client
        if loop is None or client is None:
            future.set_exception(RuntimeError("poller is not running"))
            return
        self._settle_by_async_client(target, client, loop, future)

    def _prefetch_blocking(
        self,
        target: PollTarget,
        client: OllamaClient,
        loop: asyncio.AbstractEventLoop,
        future: concurrent.futures.Future[Snapshot],
    ) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            snapshot = self._fetch_blocking(target, client)
        except Exception:
            # Anything unusual is asked again through the async client, whose errors are the
            # ones the UI knows how to explain.
            log.debug("start-up fetch failed; the async client takes over", exc_info=True)
            self._settle_by_async_client(target, client, loop, future)
            return
        future.set_result(snapshot)

    def _settle_by_async_client(
        self,
        target: PollTarget,
        client: OllamaClient,
        loop: asyncio.AbstractEventLoop,
        future: concurrent.futures.Future[Snapshot],
    ) -> None:
        """``future`` gets what the async client answers (on the poller's loop), waited for
        on this thread."""
        retry: concurrent.futures.Future[Snapshot] | None = None
        try:
            retry = run_on(loop, functools.partial(self._fetch, target, True))
            # Bounded: a loop stopped by a closing app would never run the retry.
            future.set_result(retry.result(timeout=2 * client.timeout + 5))
        except concurrent.futures.TimeoutError:
            if retry is not None:
                retry.cancel()
            future.set_exception(
                ServerUnreachable(f"the Ollama server at {client.base_url} did not answer")
            )
        except BaseException as error:
            future.set_exception(error)

    def _fetch_blocking(self, target: PollTarget, client: OllamaClient) -> Snapshot:
        """The three start-up requests, within ``START_UP_TIMEOUT`` in all.

        For the first server at once, one thread each (a remote server's round trips overlap
        as in ``_fetch``). The other servers' fetches already run side by side, one thread
        each: three more threads apiece (sixty for twenty servers) only fought over the GIL
        with the UI being built, so their requests go one after the other."""
        started = self._monotonic()
        results: dict[str, Any] = {}

        def get(key: str, call: Callable[[], object]) -> None:
            try:
                results[key] = call()
            except Exception as error:
                results[key] = error

        calls: Sequence[tuple[str, Callable[[], object]]] = (
            ("tags", client.list_models_blocking),
            ("ps", client.running_blocking),
            ("version", client.version_blocking),
        )
        # One deadline for everything (name look-up, connecting, a slow answer): a helper
        # still waiting after it is left to its socket timeout (daemon threads).
        deadline = time.monotonic() + client_module.START_UP_TIMEOUT
        if self.targets and target is not self.targets[0]:
            for key, call in calls:
                get(key, call)
                if isinstance(results[key], Exception) or time.monotonic() > deadline:
                    break  # what is missing is asked again through the async client
            calls = ()
        helpers = [threading.Thread(target=get, args=pair, daemon=True) for pair in calls]
        for helper in helpers:
            helper.start()
        for helper in helpers:
            helper.join(max(0.0, deadline - time.monotonic()))
        for key in ("tags", "ps"):
            result = results.get(key)
            if result is None:
                raise TimeoutError("the start-up fetch took too long")
            if isinstance(result, Exception):
                raise result
        installed: list[LocalModel] = results["tags"]
        running: list[RunningModel] = results["ps"]
        version = results.get("version")
        if not isinstance(version, str):
            version = None  # asked again by the next poll
        # Written here, off the poller's loop: no poll runs until the app has this snapshot.
        target.installed, target.running = installed, running
        notes = _notes(installed, running)
        return Snapshot(installed, running, version, self._monotonic() - started, notes)

    def take_prefetch(
        self, target: PollTarget | None = None
    ) -> concurrent.futures.Future[Snapshot] | None:
        target = self._target(target)
        prefetched, target.prefetched = target.prefetched, None
        return prefetched

    async def _call(self, start: Callable[[], Coroutine[Any, Any, T]]) -> T:
        if not self._ready.is_set() and self._thread is not None:
            await asyncio.to_thread(self._ready.wait, 10)
        loop = self._loop
        if loop is None or not loop.is_running():
            raise RuntimeError("poller is not running")
        # Cancelling the awaiting UI task cancels the request on the poller's loop too.
        return await asyncio.wrap_future(run_on(loop, start))

    async def poll(self, target: PollTarget | None = None, *, with_version: bool) -> Snapshot:
        """Fetch a snapshot of one server (the first by default); raises the client's errors
        (ServerUnreachable, ApiError, ...)."""
        self.start()
        return await self._call(functools.partial(self._fetch, self._target(target), with_version))

    async def _fetch(self, target: PollTarget, with_version: bool) -> Snapshot:
        client = target.client
        if client is None:
            raise target.client_error or RuntimeError("poller is not running")
        started = self._monotonic()
        version, fetched_installed, fetched_running = await asyncio.gather(
            client.version() if with_version else _none(),
            client.list_models(),
            client.running(),
        )
        installed: list[LocalModel] = fetched_installed
        running: list[RunningModel] = fetched_running
        rtt = self._monotonic() - started
        notes = _notes(installed, running)  # before the lists may be swapped for equal ones
        # Compared here, off the UI thread: unchanged data keeps its identity. The client hands
        # back the same list for an unchanged body: known lists are not compared again (500
        # models compared field by field cost about 1 ms a poll).
        if installed is target.fetched_installed:
            installed = target.installed
        elif installed == target.installed:
            target.fetched_installed, installed = installed, target.installed
        else:
            target.installed = target.fetched_installed = installed
        if running is target.fetched_running:
            running = target.running
        elif running == target.running:
            target.fetched_running, running = running, target.running
        else:
            target.running = target.fetched_running = running
        return Snapshot(installed, running, version, rtt, notes)

    async def aclose(self) -> None:
        """Cancel what is in flight, close the client, stop the thread."""
        loop, thread = self._loop, self._thread
        if thread is not None and not self._ready.is_set():
            await asyncio.to_thread(self._ready.wait, 10)
        if loop is None or thread is None or not loop.is_running():
            return

        async def shutdown() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for target in self.targets:
                if target.client is not None:
                    await target.client.aclose()

        try:
            await self._call(shutdown)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            await asyncio.to_thread(thread.join, 5)
            self._loop = None


async def _none() -> None:
    return None


def run_loop(loop: asyncio.AbstractEventLoop, ready: threading.Event | None = None) -> None:
    """The poller thread: run ``loop`` until stopped, then end what it still holds, as
    ``asyncio.run`` does: a task started as it stopped is cancelled, not left unawaited."""
    asyncio.set_event_loop(loop)
    if ready is not None:
        loop.call_soon(ready.set)  # set once the loop runs
    try:
        loop.run_forever()
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        if left:
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
    finally:
        loop.close()


def run_on(
    loop: asyncio.AbstractEventLoop, start: Callable[[], Coroutine[Any, Any, T]]
) -> concurrent.futures.Future[T]:
    """``asyncio.run_coroutine_threadsafe(start(), loop)``, but the coroutine is made on the
    loop, when it gets to it: a loop that stops first (an app closing while a start-up fetch
    is retried) leaves no coroutine that was never awaited. Cancelling the returned future
    cancels the work on the loop."""
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def copy(task: asyncio.Task[T]) -> None:
        if future.done():
            return
        if task.cancelled():
            future.cancel()
        elif (error := task.exception()) is not None:
            future.set_exception(error)
        else:
            future.set_result(task.result())

    def begin() -> None:
        if future.cancelled():
            return
        task = loop.create_task(start())
        task.add_done_callback(copy)

        def cancelled(done: concurrent.futures.Future[T]) -> None:
            if done.cancelled() and not loop.is_closed():
                loop.call_soon_threadsafe(task.cancel)

        future.add_done_callback(cancelled)

    loop.call_soon_threadsafe(begin)
    return future
