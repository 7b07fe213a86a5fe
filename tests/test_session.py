"""ServerSession (one server's state, no UI) and the poller serving many servers on one thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from ollama_tui.api import ApiError, LocalModel, RunningModel, ServerUnreachable
from ollama_tui.app import OllamaTuiApp
from ollama_tui.config import Settings
from ollama_tui.poller import Poller, Snapshot
from ollama_tui.session import MAX_BACKOFF, ServerSession
from ollama_tui.simulator import Simulator, serve_in_thread

URL = "http://127.0.0.1:9"


def model(name: str) -> LocalModel:
    return LocalModel.from_json({"name": name, "size": 1, "digest": "a" * 64})


NOTHING_RUNNING: list[RunningModel] = []


def snapshot(installed: list[LocalModel], notes: tuple[str, ...] = ()) -> Snapshot:
    return Snapshot(installed, NOTHING_RUNNING, "0.9.0", 0.01, notes)


def test_a_session_holds_its_settings_and_shows_its_name_else_its_url() -> None:
    named = ServerSession("gpu-1", URL, {"X-Key": "v"}, insecure=True)
    assert (named.name, named.url, named.headers, named.insecure) == (
        "gpu-1",
        URL,
        {"X-Key": "v"},
        True,
    )
    assert named.label == "gpu-1"
    assert named.client.observer is named.reachability  # every request reports to it
    assert ServerSession(None, "http://gpu-box:11434/").label == "gpu-box:11434"
    assert (
        ServerSession(None, "https://lab.example/ollama").label == "https://lab.example:443/ollama"
    )
    assert ServerSession(None, URL).status.host == URL


def test_back_off_doubles_to_thirty_seconds_per_session_and_a_poll_ends_it() -> None:
    one, other = ServerSession(None, URL), ServerSession(None, "http://127.0.0.1:10")
    delays = [one.poll_failed(ServerUnreachable("refused"), now=100.0) for _ in range(8)]
    assert delays == [1, 2, 4, 8, 16, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]
    assert one.status.state == "unreachable" and one.status.retry_at == 100.0 + MAX_BACKOFF
    assert one.reachability.reachable is False
    assert other.failures == 0 and other.status.state == "connecting"  # its own back-off
    one.polled(snapshot([model("a:latest")]), now=200.0)
    assert one.failures == 0
    assert one.status.state == "connected" and one.status.last_ok == 200.0
    assert one.reachability.reachable is True


def test_a_server_error_is_an_error_and_a_paused_session_shows_no_countdown() -> None:
    session = ServerSession(None, URL)
    session.toggle_pause()
    assert session.paused and session.status.paused
    session.poll_failed(ApiError(500, "disk on fire"), now=1.0)
    assert session.status.state == "error" and session.status.retry_at is None
    assert session.reachability.reachable is None  # the server answered, with an error


def test_a_poll_says_whether_the_lists_changed_and_each_note_once() -> None:
    session = ServerSession(None, URL)
    installed = [model("a:latest")]
    first = session.polled(snapshot(installed, ("too many",)), now=1.0)
    assert first.changed and first.notes == ("too many",)
    assert session.installed is installed
    again = session.polled(snapshot(installed, ("too many",)), now=2.0)
    assert not again.changed and again.notes == ()


def test_an_answer_elsewhere_ends_the_back_off() -> None:
    session = ServerSession(None, URL)
    assert not session.answered_elsewhere() or session.status.state == "connected"
    session.poll_failed(ServerUnreachable("refused"), now=1.0)
    assert session.answered_elsewhere()
    assert session.failures == 0 and session.status.state == "connected"
    assert not session.answered_elsewhere()  # nothing new to say


# -- one poller thread for every server ----------------------------------------------------------


@pytest.fixture
def two_servers() -> Iterator[tuple[Simulator, Simulator]]:
    with serve_in_thread() as first, serve_in_thread() as second:
        yield first, second


def poller_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "ollama-tui-poller")


async def test_one_thread_polls_every_server_and_a_slow_one_delays_no_other(
    two_servers: tuple[Simulator, Simulator],
) -> None:
    slow, quick = two_servers
    quick.add_model("only-here:latest")
    before = poller_threads()
    poller = Poller(str(slow.url))
    try:
        first = poller.add(str(slow.url))
        second = poller.add(str(quick.url))
        assert poller.add(str(quick.url)) is second  # one target per server
        poller.start()
        assert poller_threads() == before + 1
        slow.faults.add("/api/tags", "delay", seconds=1.5)
        started = time.monotonic()
        slow_poll = asyncio.ensure_future(poller.poll(first, with_version=False))
        quick_snapshot = await poller.poll(second, with_version=False)
        assert time.monotonic() - started < 1.2  # not behind the slow server
        assert not slow_poll.done()
        slow_snapshot = await slow_poll
        assert any(m.name == "only-here:latest" for m in quick_snapshot.installed)
        assert not any(m.name == "only-here:latest" for m in slow_snapshot.installed)
        assert poller_threads() == before + 1
    finally:
        await poller.aclose()


# -- the app ------------------------------------------------------------------------------------


async def wait_for(pilot: Pilot[Any], predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.02)


async def test_the_app_shows_its_first_session_and_jobs_carry_their_server(
    two_servers: tuple[Simulator, Simulator],
) -> None:
    sim, _ = two_servers
    app = OllamaTuiApp(Settings(host=str(sim.url), interval=3600))
    async with app.run_test() as pilot:
        assert app.sessions == [app.session]
        session = app.session
        assert session.url == str(sim.url).rstrip("/")
        assert session.poll_target is app.poller.targets[0]
        await wait_for(
            pilot, lambda: app.dashboard is not None and app.dashboard.installed_table.row_count > 0
        )
        assert session.installed and app.installed is session.installed
        job = app.jobs.submit_pull("nosuch:latest")
        assert job.server is session
        await app.jobs.cancel_and_wait(job.id)
