"""Start-up path of the console script: first fetch before the UI, collector paused meanwhile."""

from __future__ import annotations

import asyncio
import gc
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from conftest import wait_for

from ollama_tui.__main__ import build_app
from ollama_tui.api import ApiError, InvalidInput, OllamaClient
from ollama_tui.api import client as client_module
from ollama_tui.config import Settings
from ollama_tui.poller import Poller, Snapshot
from ollama_tui.simulator import Simulator, serve_in_thread

pytestmark = pytest.mark.simulator_only


@pytest.fixture(autouse=True)
def collector_back_on() -> Iterator[None]:
    """A failing test must not leave the rest of the suite without a garbage collector."""
    was = gc.isenabled()
    try:
        yield
    finally:
        if was:
            gc.enable()


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with serve_in_thread() as sim:
        yield sim


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tag_requests(sim: Simulator) -> int:
    return sum(1 for r in sim.requests if r.path == "/api/tags")


async def test_first_fetch_is_shown_once_and_collector_comes_back(simulator: Simulator) -> None:
    app = build_app(Settings(host=str(simulator.url), interval=3600))
    assert not gc.isenabled()  # paused while Textual is imported and the UI built
    prefetched = app.poller._prefetched
    assert prefetched is not None
    await asyncio.wrap_future(prefetched)  # arrives before the dashboard mounts, as usual
    async with app.run_test() as pilot:
        dashboard = app.dashboard
        assert dashboard is not None
        await wait_for(pilot, lambda: dashboard.installed_table.row_count > 0)
        assert dashboard.running_table.row_count > 0
        assert app.status.state == "connected" and app.status.version
        await wait_for(pilot, gc.isenabled)
        await pilot.pause(0.2)
        # The prefetched snapshot was used, not fetched a second time.
        assert tag_requests(simulator) == 1
        assert app.poll_count == 1


async def test_a_slow_first_fetch_is_taken_over_by_the_first_poll(simulator: Simulator) -> None:
    simulator.faults.add("/api/tags", "delay", seconds=0.5)
    app = build_app(Settings(host=str(simulator.url), interval=3600))
    async with app.run_test() as pilot:
        dashboard = app.dashboard
        assert dashboard is not None
        assert dashboard.installed_table.row_count == 0
        await wait_for(pilot, lambda: dashboard.installed_table.row_count > 0)
        assert tag_requests(simulator) == 1
        await wait_for(pilot, gc.isenabled)


async def test_unreachable_server_at_start_turns_the_collector_back_on() -> None:
    app = build_app(Settings(host=f"http://127.0.0.1:{free_port()}", interval=3600))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.status.state == "unreachable")
        await wait_for(pilot, gc.isenabled)
        assert app.is_running


def test_bad_host_raises_and_leaves_the_collector_on() -> None:
    assert gc.isenabled()
    with pytest.raises(InvalidInput):
        build_app(Settings(host="http://[bad", interval=3600))
    assert gc.isenabled()


def test_collector_stays_off_if_the_caller_had_turned_it_off(simulator: Simulator) -> None:
    gc.disable()
    app = build_app(Settings(host=str(simulator.url), interval=3600))
    app.end_startup()
    assert not gc.isenabled()


async def test_poller_closes_cleanly_right_after_start(simulator: Simulator) -> None:
    poller = Poller(str(simulator.url))
    poller.prefetch()
    await poller.aclose()  # may run before the thread's loop has even started
    assert poller._thread is not None
    assert not poller._thread.is_alive()


async def test_render_caches_of_removed_widgets_are_let_go(simulator: Simulator) -> None:
    from textual._styles_cache import StylesCache
    from textual.widgets import Static

    from ollama_tui.app import OllamaTuiApp, release_dead_styles_caches

    def styles_caches() -> int:
        return sum(1 for o in gc.get_objects() if isinstance(o, StylesCache))

    app = OllamaTuiApp(Settings(host=str(simulator.url), interval=3600))
    async with app.run_test() as pilot:
        await pilot.pause()
        gc.collect()
        before = styles_caches()
        for round_ in range(5):
            statics = [Static(f"round {round_} line {i}") for i in range(20)]
            await app.screen.mount_all(statics)
            await pilot.pause()
            for static in statics:
                await static.remove()
        del statics, static
        await pilot.pause()
        gc.collect()
        kept = styles_caches()
        assert kept >= before + 50  # Textual issue #6665: kept by an lru_cache
        release_dead_styles_caches()
        gc.collect()
        # Most go at once (a few stay referenced until the next layout).
        assert styles_caches() <= kept - 60
        await pilot.pause()  # the dashboard still renders
        assert app.is_running


# -- the first fetch, with the standard library ------------------------------------------------


async def first_fetch(simulator: Simulator) -> Snapshot:
    """What a new poller's start-up fetch comes back with (or raises), within 10 s."""
    poller = Poller(str(simulator.url))
    try:
        poller.prefetch()
        prefetched = poller.take_prefetch()
        assert prefetched is not None
        return await asyncio.wait_for(asyncio.wrap_future(prefetched), 10)
    finally:
        await poller.aclose()


def test_first_fetch_imports_neither_httpcore_nor_anyio(simulator: Simulator) -> None:
    """What the first frame waits for: no HTTP stack imported beyond what httpx loads."""
    script = (
        "import sys\n"
        "from ollama_tui.poller import Poller\n"
        f"poller = Poller({str(simulator.url)!r})\n"
        "poller.prefetch()\n"
        "snapshot = poller._prefetched.result(10)\n"
        "assert snapshot.installed and snapshot.running and snapshot.version, snapshot\n"
        "print(sorted(m for m in ('httpcore', 'anyio', 'h11') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert {"/api/tags", "/api/ps", "/api/version"} <= {r.path for r in simulator.requests}


async def test_a_start_up_fetch_that_fails_is_asked_again_by_the_async_client(
    simulator: Simulator,
) -> None:
    simulator.faults.add("/api/tags", "status", count=1, status=500, message="busy")
    snapshot = await first_fetch(simulator)
    assert snapshot.installed
    assert tag_requests(simulator) == 2


async def test_the_error_of_a_failed_first_fetch_is_the_async_clients(simulator: Simulator) -> None:
    simulator.faults.add("/api/tags", "status", count=2, status=500, message="disk on fire")
    with pytest.raises(ApiError, match="disk on fire"):
        await first_fetch(simulator)


async def test_a_hung_start_up_fetch_gives_way_to_the_async_client(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "START_UP_TIMEOUT", 0.3)
    simulator.faults.add("/api/tags", "hang", count=1)
    snapshot = await first_fetch(simulator)
    assert snapshot.installed


def test_no_standard_library_fetch_over_tls_or_through_a_proxy() -> None:
    assert OllamaClient("http://127.0.0.1:11434").can_fetch_blocking
    assert not OllamaClient("https://ollama.example.com").can_fetch_blocking
    proxy = {"HTTPS_PROXY": "", "HTTP_PROXY": "http://proxy.example:3128"}
    assert not OllamaClient("http://gpu-box:11434", environ=proxy).can_fetch_blocking
    # A loopback server is reached directly, as by the async client.
    assert OllamaClient("http://127.0.0.1:11434", environ=proxy).can_fetch_blocking


def test_every_servers_first_fetch_leaves_before_the_ui_is_built() -> None:
    """With several servers, build_app sends each server's first fetch (on the standard
    library's thread), so twenty round trips overlap with importing the UI."""
    from ollama_tui.__main__ import build_app
    from ollama_tui.config import ServerSettings, Settings
    from ollama_tui.simulator.thread import serve_fleet_in_thread

    with serve_fleet_in_thread(3) as fleet:
        servers = tuple(ServerSettings(f"s{k}", url) for k, url in enumerate(fleet.urls))
        app = build_app(Settings(servers=servers, interval=60.0))
        try:
            targets = app.poller.targets
            assert [t.base_url for t in targets] == list(fleet.urls)
            assert all(t.prefetched is not None for t in targets)
            snapshots = [t.prefetched.result(timeout=10) for t in targets]  # type: ignore[union-attr]
            assert all(s.installed and s.version for s in snapshots)
        finally:
            app.end_startup()
            asyncio.run(app.poller.aclose())
