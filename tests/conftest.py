"""Shared fixtures: a simulated Ollama server on loopback, or a real one via OLLAMA_TEST_HOST.

Also helpers the tests import (``from conftest import make_app, wait_for, poll_until``): the
app for a server, and waits that poll a condition, never sleep a fixed time.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from ollama_tui.app import OllamaTuiApp

REAL_SERVER = os.environ.get("OLLAMA_TEST_HOST", "").strip()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip simulator-only tests against a real server, and real-server-only tests otherwise."""
    for item in items:
        if REAL_SERVER and item.get_closest_marker("simulator_only"):
            item.add_marker(pytest.mark.skip(reason="needs the simulator's control API"))
        if not REAL_SERVER and item.get_closest_marker("real_server_only"):
            item.add_marker(pytest.mark.skip(reason="needs OLLAMA_TEST_HOST (a real Ollama)"))


@pytest.fixture(scope="session")
def _xdg_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield tmp_path_factory.mktemp("xdg")


_xdg_count = itertools.count()


@pytest.fixture(autouse=True)
def _private_xdg_dirs(_xdg_base: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test (nor an app it starts in a subprocess) reads or writes the user's XDG dirs, nor
    another test's: the last-used file (state) and the outdated check's answers (cache, read at
    start-up: an answer left by another test would add a column to this one's screens) go to
    folders of this test's own (made when first written). Apps made in tests get
    ``Settings.state_path`` None, in-memory, unless a test gives one."""
    folder = _xdg_base / str(next(_xdg_count))
    monkeypatch.setenv("XDG_STATE_HOME", str(folder / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder / "cache"))


@pytest.fixture
def real_server() -> bool:
    return bool(REAL_SERVER)


@pytest.fixture
async def sim() -> AsyncIterator[object]:
    """A simulator started on a free loopback port, stopped after the test."""
    from ollama_tui.simulator import Simulator

    simulator = Simulator()
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
def server_url(request: pytest.FixtureRequest) -> str:
    """The server the client tests talk to: a real Ollama if OLLAMA_TEST_HOST is set."""
    if REAL_SERVER:
        from ollama_tui.api.hosts import resolve_host

        return resolve_host(REAL_SERVER)
    simulator = request.getfixturevalue("sim")
    return str(simulator.url)


def make_app(url: str, **settings: Any) -> OllamaTuiApp:
    """The real app on ``url``; it polls once a minute, so tests poll when they mean to."""
    from ollama_tui.app import OllamaTuiApp
    from ollama_tui.config import Settings

    settings.setdefault("interval", 60.0)
    return OllamaTuiApp(Settings(host=url, **settings))


@pytest.fixture
async def fleet() -> AsyncIterator[Any]:
    """Three simulated servers (the fleet preset) on free loopback ports, one event loop."""
    from ollama_tui.simulator import Fleet

    servers = Fleet(3)
    await servers.start("127.0.0.1", 0)
    try:
        yield servers
    finally:
        await servers.stop()


def make_fleet_app(
    fleet: Any,
    names: Sequence[str] = ("workstation", "gpu-box", "laptop"),
    *,
    app_class: type[OllamaTuiApp] | None = None,
    **settings: Any,
) -> OllamaTuiApp:
    """The real app on every server of ``fleet``, named ``names``; it polls once a minute."""
    from ollama_tui.app import OllamaTuiApp
    from ollama_tui.config import ServerSettings, Settings

    settings.setdefault("interval", 60.0)
    servers = tuple(ServerSettings(n, url) for n, url in zip(names, fleet.urls, strict=True))
    return (app_class or OllamaTuiApp)(Settings(servers=servers, **settings))


def _timed_out(predicate: Callable[[], object], what: str | Callable[[], str]) -> AssertionError:
    said = what() if callable(what) else what
    return AssertionError(f"condition not met in time: {said or predicate}")


async def wait_for(
    pilot: Pilot[Any],
    predicate: Callable[[], object],
    timeout: float = 10.0,
    what: str | Callable[[], str] = "",
) -> None:
    """Let the app run (``pilot.pause``) until ``predicate()`` holds; AssertionError after
    ``timeout`` seconds, saying ``what`` was awaited (a string, or a function for a message
    made at that moment)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise _timed_out(predicate, what)
        await pilot.pause(0.02)


async def poll_until(
    condition: Callable[[], object],
    timeout: float = 10.0,
    what: str | Callable[[], str] = "",
) -> None:
    """``wait_for`` without an app: poll ``condition()`` (which may return an awaitable, e.g.
    an async check against a server) on the running loop until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise _timed_out(condition, what)
        await asyncio.sleep(0.01)


class SimulatorProcess:
    """``python -m ollama_tui.simulator`` in a process of its own: its URLs, kill, start."""

    def __init__(self, *args: str, servers: int = 1) -> None:
        self.args = args
        self.servers = servers
        self.urls: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> list[str]:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ollama_tui.simulator", *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        lines = [self.process.stdout.readline() for _ in range(self.servers)]
        assert all("listening on http" in line for line in lines), lines
        self.urls = [line.split()[-1] for line in lines]
        return self.urls

    def kill(self) -> None:
        """As a crash would (SIGKILL): no goodbye on any connection."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None
