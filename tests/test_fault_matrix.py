"""Fault matrix: every endpoint the app uses x every fault the simulator injects.

For each (endpoint, fault) the real app runs against the simulator and shows that it keeps
running, that the affected view says what went wrong in a user's words (the server's own message
when it sent one), that input in an open dialog survives, that the app recovers once the fault is
gone, and that no worker, connection or task is left behind.

Speed: the matrix shares one app and one simulator per module (pytest-asyncio module loop; each
case resets both and asks for a poll when it needs one), uses 0.5 s client timeouts (the poller's
client gets the same through a patched constructor: the app has no timeout setting) and caps the
poll back-off at 0.2 s (the real 1, 2, 4 ... 30 s back-off is tested in test_ui_dashboard.py).
Refused-at-start, server restart, 2-second delays and the key-latency check use apps of their
own and run first. Known bugs are strict xfails listed in BUGS (remove an entry with its fix).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from conftest import wait_for
from textual import events
from textual._wait import wait_for_idle
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Static
from textual.worker import WorkerState
from tiny_gguf import write_tiny_gguf

from ollama_tui import poller as poller_module
from ollama_tui import session as session_module
from ollama_tui.api import LocalModel, OllamaClient, RunningModel
from ollama_tui.app import OllamaTuiApp
from ollama_tui.config import Settings
from ollama_tui.jobs import Job, JobState
from ollama_tui.screens import details as details_module
from ollama_tui.screens.confirm import ConfirmScreen
from ollama_tui.screens.copy import CopyScreen
from ollama_tui.screens.create import CreateScreen
from ollama_tui.screens.delete import DeleteScreen
from ollama_tui.screens.details import DetailsScreen
from ollama_tui.screens.help import HelpScreen
from ollama_tui.screens.jobs import JobsScreen
from ollama_tui.screens.load import LoadScreen
from ollama_tui.screens.pull import PullScreen
from ollama_tui.simulator import Simulator

pytestmark = [pytest.mark.simulator_only, pytest.mark.asyncio(loop_scope="module")]

TIMEOUT = 0.5  # client timeout (seconds) in the matrix; the app's default is 10 s
INTERVAL = 1.0  # poll interval in the matrix (cases ask for polls; recovery is the back-off)
BACKOFF = 0.2  # cap of the poll back-off in the matrix
SIZE = (80, 24)
DELAY = 2.0
REACTION = 0.1  # a key press must be handled within 100 ms, even while the server hangs

PULL_MODEL = "all-minilm:latest"  # small in the catalogue, not installed initially
PUSH_MODEL = "someuser/llama3-pirate:latest"  # installed initially, pushable namespace
COPY_SOURCE = "qwen2.5:0.5b"
DELETE_MODEL = "mistral:7b"  # installed, not loaded
LOAD_MODEL = "deepseek-r1:1.5b"  # installed, not loaded
UNLOAD_MODEL = "llama3.2:latest"  # the one the simulator loads initially
DETAILS_MODEL = "qwen2.5:0.5b"
CREATE_TEXT = "FROM qwen2.5:0.5b\nSYSTEM Answer in one short sentence.\n"
BLOB_TEXT = "FROM ./tiny.gguf\n"

# --- faults ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultCase:
    """A simulator fault and the words a user must be told about it."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    words: tuple[str, ...] = ()  # one of these must be in what the user sees

    @property
    def message(self) -> str | None:
        """The server's own words, if the fault sends any."""
        value = self.params.get("message")
        return None if value is None else str(value)


LOST = ("cannot reach", "did not answer", "connection", "closed", "lost")
NOT_JSON = ("not valid JSON", "not a JSON", "malformed")

FAULTS: dict[str, FaultCase] = {
    "refuse": FaultCase("refuse", words=LOST),
    "http500": FaultCase("status", {"status": 500, "message": "sim: the disk is on fire"}),
    "http404": FaultCase("status", {"status": 404, "message": "sim: nothing here by that name"}),
    "http400": FaultCase("status", {"status": 400, "message": "sim: that request is nonsense"}),
    "malformed_json": FaultCase("malformed_json", words=NOT_JSON),
    "not_json": FaultCase("not_json", words=NOT_JSON),
    "cut": FaultCase("cut", {"after_lines": 1}, words=LOST + NOT_JSON),
    "error_line": FaultCase("error_line", {"after_lines": 1, "message": "sim: failed mid-stream"}),
    "hang": FaultCase("hang", words=("did not answer",)),
}
FAULT_IDS = list(FAULTS)

# Where the endpoint itself changes what the user can be told.
_HEAD_STATUS = ("HTTP 500", "HTTP 400")  # a HEAD answer has no body: no server words to show
EXPECTED: dict[tuple[str, str], FaultCase] = {
    # HEAD /api/blobs/... is asked first; its error has no body.
    ("blobs", "http500"): FaultCase("status", {"status": 500}, words=_HEAD_STATUS),
    ("blobs", "http400"): FaultCase("status", {"status": 400}, words=_HEAD_STATUS),
    # A 200 to HEAD means "the server has it"; the create then fails in the server's words.
    ("blobs", "malformed_json"): FaultCase("malformed_json", words=("no such file",)),
    ("blobs", "not_json"): FaultCase("not_json", words=("no such file",)),
}


def expected(endpoint: str, fault_id: str) -> FaultCase:
    return EXPECTED.get((endpoint, fault_id), FAULTS[fault_id])


_PYTHON_NOISE = re.compile(
    r"Traceback|object at 0x|<coroutine|NoneType|\b[A-Z]\w+(Error|Exception)\b"
)


def assert_user_words(shown: str, case: FaultCase) -> None:
    """The error text is plain words: the server's message if it sent one, no Python noise."""
    assert shown.strip(), "no error is shown"
    if case.message is not None:
        assert case.message in shown, f"the server's message is missing from {shown!r}"
    else:
        assert any(w.lower() in shown.lower() for w in case.words), shown
    noise = _PYTHON_NOISE.search(shown)
    assert noise is None, f"Python's words reach the user: {shown!r}"


# --- waiting and leak accounting -------------------------------------------------------------


def busy_workers(app: OllamaTuiApp) -> list[Any]:
    return [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]


# Textual's message pumps and timers, aiohttp's per-socket loops and the run_test task itself.
_FRAMEWORK_CORO = ("Timer._run_timer", "RequestHandler.start", "run_test.<locals>.run_app")


def stray_tasks() -> list[asyncio.Task[Any]]:
    """Tasks on this loop other than Textual's pumps/timers and idle server sockets."""
    current = asyncio.current_task()
    found = []
    for task in asyncio.all_tasks():
        if task is current or task.done() or task.get_name().startswith("message pump"):
            continue
        qualname = getattr(task.get_coro(), "__qualname__", "")
        if not any(qualname.endswith(name) for name in _FRAMEWORK_CORO):
            found.append(task)
    return found


def poller_tasks(app: OllamaTuiApp) -> int:
    loop = app.poller._loop
    return 0 if loop is None else len([t for t in asyncio.all_tasks(loop) if not t.done()])


def set_paused(app: OllamaTuiApp, paused: bool) -> None:
    if app.paused != paused:
        app.toggle_pause()


@dataclass
class Baseline:
    tasks: int
    workers: int


async def measure_baseline(pilot: Pilot[Any], app: OllamaTuiApp, sim: Simulator) -> Baseline:
    """Counts with polling paused and nothing in flight."""
    set_paused(app, True)
    await wait_for(pilot, lambda: not app.polling and sim.active_requests == 0)
    await pilot.pause()
    base = Baseline(len(stray_tasks()), len(busy_workers(app)))
    set_paused(app, False)
    return base


async def assert_no_leaks(
    pilot: Pilot[Any], app: OllamaTuiApp, sim: Simulator, base: Baseline, timeout: float = 3.0
) -> None:
    """Workers, connections and tasks back to their baseline (polling paused to compare)."""
    set_paused(app, True)

    def clean() -> bool:
        return (
            not app.polling
            and len(busy_workers(app)) <= base.workers
            and sim.active_requests == 0
            and sim.open_connections == 0
            and len(stray_tasks()) <= base.tasks
            and poller_tasks(app) == 0
        )

    try:
        await wait_for(pilot, clean, timeout=timeout)
    except AssertionError:
        raise AssertionError(
            f"left behind: workers={busy_workers(app)} requests={sim.active_requests} "
            f"connections={sim.open_connections} tasks={stray_tasks()} (baseline "
            f"{base.tasks}) poller tasks={poller_tasks(app)}"
        ) from None
    finally:
        set_paused(app, False)


# --- reading the screen ----------------------------------------------------------------------


def plain(widget: Widget) -> str:
    content = widget.render()
    return content.plain if hasattr(content, "plain") else str(content)


def status_text(app: OllamaTuiApp) -> str:
    assert app.dashboard is not None
    return plain(app.dashboard.status_bar)


def error_notes(app: OllamaTuiApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications if n.severity == "error"]


def notes(app: OllamaTuiApp) -> list[str]:
    return [n.message for n in app._notifications]


def recorded_statuses(app: OllamaTuiApp, patch: pytest.MonkeyPatch) -> list[str]:
    """Every status line the status bar shows from now on, as text."""
    assert app.dashboard is not None
    bar = app.dashboard.status_bar
    shown: list[str] = []
    set_status = bar.set_status

    def record(status: Any) -> None:
        set_status(status)
        shown.append(plain(bar))

    patch.setattr(bar, "set_status", record)
    return shown


def recorded_notifications(app: OllamaTuiApp, patch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every (severity, message) notified from now on (toasts expire; this list does not)."""
    said: list[tuple[str, str]] = []
    notify = app.notify

    def record(message: str, *args: Any, **kwargs: Any) -> None:
        said.append((str(kwargs.get("severity", "information")), str(message)))
        notify(message, *args, **kwargs)

    patch.setattr(app, "notify", record)
    return said


async def screen_ready(pilot: Pilot[Any], app: OllamaTuiApp, cls: type[Screen[Any]]) -> Any:
    def ready() -> bool:
        screen = app.screen
        return (
            isinstance(screen, cls)
            and screen.is_mounted
            and all(isinstance(w, Widget) and w.is_mounted for w in screen.walk_children())
        )

    await wait_for(pilot, ready, what=f"{cls.__name__} on top")
    await pilot.pause()
    return app.screen


async def close_screens(pilot: Pilot[Any], app: OllamaTuiApp) -> None:
    """Back to the dashboard the way a user would: escape (and discard unsaved edits)."""
    for _ in range(8):
        screen = app.screen
        if screen is app.dashboard:
            return
        if isinstance(screen, ConfirmScreen) and "Discard" in screen.title_text:
            await pilot.press("y")
        else:
            await pilot.press("escape")
        await wait_for(pilot, lambda s=screen: app.screen is not s, timeout=2)  # type: ignore[misc]
    raise AssertionError(f"cannot get back to the dashboard from {app.screen!r}")


async def open_pull_dialog(pilot: Pilot[Any], app: OllamaTuiApp, typed: str) -> Input:
    """A dialog holding the user's half-typed input, to show that faults never lose it."""
    app.operations.pull()
    screen = await screen_ready(pilot, app, PullScreen)
    name = screen.query_one("#pull-name", Input)
    name.focus()
    await pilot.press(*typed)
    assert name.value == typed
    return name


async def press_timed(app: OllamaTuiApp, key: str, reacted: Callable[[], object]) -> float:
    """Seconds from a key press until the app has handled it and the screen shows its effect.

    The key goes in through the driver exactly as `pilot.press` sends it, but the clock stops
    when the effect is there: `pilot.press` itself then waits for the whole process to go idle
    (Textual's test harness), which takes 100-250 ms here with or without a fault.
    """
    driver = app._driver
    assert driver is not None
    await wait_for_idle(0)  # start from a settled screen: time this key, not the last one
    event = events.Key(key, key if len(key) == 1 else None)
    started = time.perf_counter()
    driver.send_message(event)
    while not reacted():
        if time.perf_counter() - started > 2:
            raise AssertionError(f"no reaction to {key!r}")
        await asyncio.sleep(0.001)
    return time.perf_counter() - started


# --- the app under test ----------------------------------------------------------------------


def build_app(url: str, patch: pytest.MonkeyPatch, *, timeout: float = TIMEOUT) -> OllamaTuiApp:
    """The real app with short timeouts, a short interval and a capped back-off."""
    patch.setattr(session_module, "MAX_BACKOFF", BACKOFF)
    patch.setattr(details_module, "RETRY_FIRST", BACKOFF)
    patch.setattr(poller_module, "OllamaClient", functools.partial(OllamaClient, timeout=timeout))
    settings = Settings(host=url, interval=INTERVAL, max_transfers=4, load_timeout=2 * timeout)
    return OllamaTuiApp(settings, client=OllamaClient(url, timeout=timeout))


def fast_simulator() -> Simulator:
    return Simulator(bandwidth=2e9, progress_interval=0.005)


async def started(pilot: Pilot[Any], app: OllamaTuiApp) -> None:
    await wait_for(pilot, lambda: app.status.state == "connected" and bool(app.installed))
    await pilot.pause()


class Session:
    """One app and one simulator shared by the matrix; `fresh()` resets both between cases."""

    def __init__(self, sim: Simulator, patch: pytest.MonkeyPatch, folder: Path) -> None:
        self.sim = sim
        self.patch = patch
        self.folder = folder  # holds tiny.gguf for the blob cases
        self.stack = contextlib.AsyncExitStack()
        self._app: OllamaTuiApp | None = None
        self._pilot: Pilot[Any] | None = None
        self.base = Baseline(0, 0)

    @property
    def app(self) -> OllamaTuiApp:
        assert self._app is not None
        return self._app

    @property
    def pilot(self) -> Pilot[Any]:
        assert self._pilot is not None
        return self._pilot

    async def start(self) -> None:
        self._app = build_app(self.sim.url, self.patch)
        self._pilot = await self.stack.enter_async_context(self._app.run_test(size=SIZE))
        await started(self._pilot, self._app)
        self.base = await measure_baseline(self._pilot, self._app, self.sim)

    async def close(self) -> None:
        await self.stack.aclose()

    async def restart_server(self) -> None:
        """Stop and start the simulator on the same port: ends requests still hanging."""
        port = int(self.sim.url.rsplit(":", 1)[1])
        await self.sim.stop()
        await self.sim.start("127.0.0.1", port)

    async def fresh(self, *, keep: type[Screen[Any]] | None = None) -> None:
        """The app on the dashboard (or `keep` on top), the simulator reset, nothing left over."""
        self.sim.faults.clear()
        if self.sim.active_requests:
            await self.restart_server()
        if self._app is None or not self._app.is_running:
            await self.close()
            self.stack = contextlib.AsyncExitStack()
            await self.start()
        app, pilot = self.app, self.pilot
        for job in app.jobs.active:
            app.jobs.cancel(job.id)
        if keep is None or not isinstance(app.screen, keep):
            await close_screens(pilot, app)
        app.clear_notifications()
        app.show_cache.clear()
        self.sim.reset()
        set_paused(app, False)
        app.request_refresh()
        await wait_for(
            pilot,
            lambda: (
                app.status.state == "connected"
                and {m.name for m in app.installed} == {m.name for m in self.sim.models}
                and bool(app.running_models)
            ),
            what="the app shows the reset simulator",
        )

    async def no_leaks(self, *, dialogs: int = 0) -> None:
        """Back to the baseline; each open dialog owns one waiting worker (and its task)."""
        base = Baseline(self.base.tasks + dialogs, self.base.workers + dialogs)
        await assert_no_leaks(self.pilot, self.app, self.sim, base)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def session(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Session]:
    folder = tmp_path_factory.mktemp("blob")
    write_tiny_gguf(folder / "tiny.gguf")
    sim = fast_simulator()
    await sim.start("127.0.0.1", 0)
    with pytest.MonkeyPatch.context() as patch:
        shared = Session(sim, patch, folder)
        await shared.start()
        try:
            yield shared
        finally:
            await shared.close()
            await sim.stop()


@pytest.fixture
def patch() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


# --- bugs found (the lead removes an entry once its fix is in) --------------------------------

BUG_ERROR_BODY = (
    "BUG-1: an {'error': ...} line in a 200 answer of a plain endpoint is not reported with the "
    "server's words (api/client.py OllamaClient._json)"
)
BUG_LOAD_HANG = (
    "BUG-2: a load from a server that never answers waits forever (no timeout, no cancel): "
    "its worker and connection stay behind (client.load / Operations._load)"
)
BUGS: dict[tuple[str, str], str] = {}


def expect_bug(request: pytest.FixtureRequest, endpoint: str, fault_id: str) -> None:
    bug = BUGS.get((endpoint, fault_id))
    if bug is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=bug))


# --- faults with an app of their own (run before the shared session starts) ------------------


@contextlib.asynccontextmanager
async def own_app(
    patch: pytest.MonkeyPatch, *, timeout: float = TIMEOUT, **sim_args: Any
) -> AsyncIterator[tuple[OllamaTuiApp, Pilot[Any], Simulator]]:
    sim = Simulator(**{"bandwidth": 2e9, "progress_interval": 0.005, **sim_args})
    await sim.start("127.0.0.1", 0)
    try:
        app = build_app(sim.url, patch, timeout=timeout)
        async with app.run_test(size=SIZE) as pilot:
            yield app, pilot, sim
    finally:
        await sim.stop()


def port_of(sim: Simulator) -> int:
    return int(sim.url.rsplit(":", 1)[1])


async def test_refused_at_start_then_server_appears(patch: pytest.MonkeyPatch) -> None:
    """Nobody listening: the status says so; once the server is up the app connects alone."""
    async with own_app(patch) as (app, pilot, sim):
        await started(pilot, app)
        base = await measure_baseline(pilot, app, sim)
        await sim.stop()  # like starting the app before `ollama serve`
        app._set_status(state="connecting", version=None)
        app.request_refresh()
        await wait_for(pilot, lambda: app.status.state == "unreachable")
        assert "refused" in status_text(app)
        assert_user_words(status_text(app), FAULTS["refuse"])
        name = await open_pull_dialog(pilot, app, TYPED)
        await sim.start("127.0.0.1", port_of(sim))
        # Any answer (a background /api/show) may say "connected" first; the poll it brings
        # asks the version again.
        await wait_for(
            pilot,
            lambda: app.status.state == "connected" and app.status.version,
            what="connected alone, the version asked again",
        )
        assert isinstance(app.screen, PullScreen) and name.value == TYPED
        await pilot.press("escape")
        await assert_no_leaks(pilot, app, sim, base)


async def test_refused_before_the_first_poll(patch: pytest.MonkeyPatch) -> None:
    """The very first poll fails: no crash, a clear status, and the tables fill later."""
    sim = Simulator()
    await sim.start("127.0.0.1", 0)
    port = port_of(sim)
    await sim.stop()
    app = build_app(sim.url, patch)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.status.state == "unreachable")
            assert "refused" in status_text(app)
            assert not app.installed
            await sim.start("127.0.0.1", port)
            await started(pilot, app)
    finally:
        await sim.stop()


async def test_server_gone_mid_session_and_back(patch: pytest.MonkeyPatch) -> None:
    """A restart of the server: the status says so, a running pull waits for the server and
    says why in words, the open dialog keeps its input, and everything (polls, the pull) comes
    back by itself after."""
    async with own_app(patch, bandwidth=20e6, progress_interval=0.02) as (app, pilot, sim):
        await started(pilot, app)
        base = await measure_baseline(pilot, app, sim)
        job = app.jobs.submit_pull(PULL_MODEL)
        await wait_for(pilot, lambda: job.completed > 0, what="the pull under way")
        name = await open_pull_dialog(pilot, app, TYPED)
        await sim.stop()
        await wait_for(
            pilot, lambda: app.status.state == "unreachable" and job.state is JobState.WAITING
        )
        assert job.error and job.completed > 0
        assert_user_words(job.error, FAULTS["refuse"])
        assert_user_words(status_text(app), FAULTS["refuse"])
        assert isinstance(app.screen, PullScreen) and name.value == TYPED
        await sim.start("127.0.0.1", port_of(sim))
        await wait_for(pilot, lambda: app.status.state == "connected", what="connected alone")
        assert isinstance(app.screen, PullScreen) and name.value == TYPED
        await pilot.press("escape")
        await wait_for(pilot, lambda: job.state is JobState.DONE, timeout=10, what="resumed")
        assert job.attempt == 1  # by itself, not by a retry
        await wait_for(pilot, lambda: any(m.name == PULL_MODEL for m in app.installed))
        await assert_no_leaks(pilot, app, sim, base)


async def test_two_second_delays_everywhere(patch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every endpoint answers 2 s late: every operation still succeeds, and the UI stays live."""
    write_tiny_gguf(tmp_path / "tiny.gguf")
    digest = hashlib.sha256((tmp_path / "tiny.gguf").read_bytes()).hexdigest()
    async with own_app(patch, timeout=DELAY + 3) as (app, pilot, sim):
        await started(pilot, app)
        base = await measure_baseline(pilot, app, sim)
        for path in (
            "/api/version",
            "/api/tags",
            "/api/ps",
            "/api/show",
            "/api/copy",
            "/api/delete",
            "/api/pull",
            "/api/push",
            "/api/create",
            f"/api/blobs/sha256:{digest}",
        ):
            sim.faults.add(path, "delay", count=1, seconds=DELAY)
        sim.faults.add("/api/generate", "delay", count=2, seconds=DELAY)  # load and unload
        said = recorded_notifications(app, patch)
        began = time.monotonic()
        app._set_status(version=None)
        app.request_refresh()
        pull = app.jobs.submit_pull(PULL_MODEL)
        push = app.jobs.submit_push(PUSH_MODEL)
        create = app.jobs.submit_create("made:latest", CREATE_TEXT)
        blob = app.jobs.submit_create("blobby:latest", BLOB_TEXT, base_dir=tmp_path)
        app.operations.unload(running(app, UNLOAD_MODEL))
        app.operations.copy(installed(app, COPY_SOURCE))
        screen = await screen_ready(pilot, app, CopyScreen)
        destination = screen.query_one("#copy-destination", Input)
        destination.value = "copied:latest"
        destination.focus()
        await pilot.press("enter")
        app.operations.delete([installed(app, DELETE_MODEL)])
        await screen_ready(pilot, app, DeleteScreen)
        await pilot.press("y")
        app.operations.load(LOAD_MODEL)
        await screen_ready(pilot, app, LoadScreen)
        await pilot.press("1")
        app.show_details(installed(app, DETAILS_MODEL))
        details = await screen_ready(pilot, app, DetailsScreen)
        assert sim.active_requests > 0  # requests are waiting on the server now
        # The UI answers keys while every request waits.
        opened = await press_timed(app, "question_mark", lambda: isinstance(app.screen, HelpScreen))
        assert opened < REACTION
        await pilot.press("escape")
        await wait_for(pilot, lambda: details.show is not None, timeout=DELAY + 3)
        jobs = (pull, push, create, blob)
        await wait_for(pilot, lambda: all(job_ended(j) for j in jobs), timeout=3 * DELAY + 5)
        assert [j.error for j in jobs if j.state is not JobState.DONE] == []
        done = ("Copied", "Deleted", "Loaded", "Unloaded")
        await wait_for(
            pilot,
            lambda: all(any(d in n for _, n in said) for d in done),
            timeout=DELAY + 3,
            what=lambda: f"all of {done} in {said}",
        )
        assert [n for severity, n in said if severity == "error"] == []
        assert time.monotonic() - began >= DELAY
        await close_screens(pilot, app)
        await wait_for(pilot, lambda: app.status.state == "connected" and app.status.version)
        await assert_no_leaks(pilot, app, sim, base)


async def test_hanging_polls_never_freeze_the_ui(patch: pytest.MonkeyPatch) -> None:
    """/api/tags and /api/ps accept and never answer: every key is still handled in 100 ms."""
    async with own_app(patch, timeout=1.5) as (app, pilot, sim):
        await started(pilot, app)
        base = await measure_baseline(pilot, app, sim)
        assert app.dashboard is not None
        board = app.dashboard
        shown = recorded_statuses(app, patch)
        await wait_for(pilot, lambda: not app.polling)
        sim.faults.add("/api/tags", "hang")
        sim.faults.add("/api/ps", "hang")
        app.request_refresh()
        await wait_for(pilot, lambda: sim.active_requests >= 2, what="both polls hanging")
        table = board.installed_table
        row = table.cursor_row
        assert app.focused is table
        timings = {
            "down": await press_timed(app, "down", lambda: table.cursor_row != row),
            "/": await press_timed(app, "slash", lambda: board.filter_bar.is_open),
            "m": await press_timed(app, "m", lambda: board.filter_bar.value == "m"),
            "escape": await press_timed(app, "escape", lambda: not board.filter_bar.is_open),
            "?": await press_timed(
                app, "question_mark", lambda: isinstance(app.screen, HelpScreen)
            ),
        }
        await pilot.press("escape")
        assert sim.active_requests >= 2, "the measurement must happen while the polls hang"
        slow = {key: round(t * 1000) for key, t in timings.items() if t >= REACTION}
        assert not slow, f"keys took longer than 100 ms (ms): {slow}"
        sim.faults.clear()
        # The hung polls time out (the state may flip back quickly: sampling could miss it).
        await wait_for(pilot, lambda: any("did not answer" in line for line in shown), timeout=3)
        await wait_for(pilot, lambda: app.status.state == "connected", timeout=3)
        await assert_no_leaks(pilot, app, sim, base)


# --- polls: tags, ps, version ----------------------------------------------------------------

POLL_PATHS = {"tags": "/api/tags", "ps": "/api/ps", "version": "/api/version"}
TYPED = "qw"  # half a model name in the pull dialog, kept open through every poll case


@pytest.mark.parametrize("fault_id", FAULT_IDS)
@pytest.mark.parametrize("endpoint", list(POLL_PATHS))
async def test_poll_fault(
    session: Session, request: pytest.FixtureRequest, endpoint: str, fault_id: str
) -> None:
    """The status line names the problem, the open dialog keeps its input, polls recover."""
    expect_bug(request, endpoint, fault_id)
    await session.fresh(keep=PullScreen)
    case = FAULTS[fault_id]
    app, pilot, sim = session.app, session.pilot, session.sim
    if not isinstance(app.screen, PullScreen):
        await open_pull_dialog(pilot, app, TYPED)
    name = app.screen.query_one("#pull-name", Input)
    if endpoint == "version":
        app._set_status(version=None)  # the version is asked for again only after a failure
    sim.faults.add(POLL_PATHS[endpoint], case.kind, **case.params)
    app.request_refresh()
    await wait_for(pilot, lambda: app.status.state != "connected", what="the error shown")
    assert_user_words(status_text(app), case)  # the status line, in full (before clipping)
    sim.faults.clear()
    # No key press: the back-off retries on its own.
    await wait_for(pilot, lambda: app.status.state == "connected", what="recovered")
    assert "connected" in status_text(app)
    assert isinstance(app.screen, PullScreen) and name.value == TYPED
    await session.no_leaks(dialogs=1)


# --- operations ------------------------------------------------------------------------------


def installed(app: OllamaTuiApp, name: str) -> LocalModel:
    return next(m for m in app.installed if m.name == name)


def running(app: OllamaTuiApp, name: str) -> RunningModel:
    return next(m for m in app.running_models if m.name == name)


def job_ended(job: Job) -> bool:
    return job.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


async def notified(pilot: Pilot[Any], app: OllamaTuiApp, success: str, timeout: float) -> str:
    """The error notifications once the operation has ended ("" if it succeeded)."""
    await wait_for(
        pilot,
        lambda: error_notes(app) or any(success in n for n in notes(app)),
        timeout=timeout,
        what="the operation's outcome",
    )
    return "\n".join(error_notes(app))


@dataclass(frozen=True)
class Operation:
    """How a user starts one operation, and where its outcome shows."""

    path: Callable[[Session], str]
    run: Callable[[Session, float], Awaitable[str]]  # -> the error text the user sees
    streams: bool = False  # a job without a read timeout: a hang is ended by cancelling


async def run_show(s: Session, timeout: float) -> str:
    app, pilot = s.app, s.pilot
    app.show_details(installed(app, DETAILS_MODEL))
    screen = await screen_ready(pilot, app, DetailsScreen)
    await wait_for(pilot, lambda: screen.error or screen.show, timeout=timeout)
    return plain(screen.query_one("#details-error", Static)) if screen.error else ""


async def run_copy(s: Session, timeout: float) -> str:
    app, pilot = s.app, s.pilot
    app.operations.copy(installed(app, COPY_SOURCE))
    screen = await screen_ready(pilot, app, CopyScreen)
    destination = screen.query_one("#copy-destination", Input)
    destination.value = "copied:latest"
    destination.focus()
    await pilot.press("enter")
    return await notified(pilot, app, "Copied", timeout)


async def run_delete(s: Session, timeout: float) -> str:
    app, pilot = s.app, s.pilot
    app.operations.delete([installed(app, DELETE_MODEL)])
    await screen_ready(pilot, app, DeleteScreen)
    await pilot.press("y")
    return await notified(pilot, app, "Deleted", timeout)


async def run_load(s: Session, timeout: float) -> str:
    app, pilot = s.app, s.pilot
    app.operations.load(LOAD_MODEL)
    await screen_ready(pilot, app, LoadScreen)
    await pilot.press("1")
    return await notified(pilot, app, "Loaded", timeout)


async def run_unload(s: Session, timeout: float) -> str:
    app, pilot = s.app, s.pilot
    app.operations.unload(running(app, UNLOAD_MODEL))
    return await notified(pilot, app, "Unloaded", timeout)


async def run_job(s: Session, timeout: float, submit: Callable[[], Job]) -> str:
    app, pilot = s.app, s.pilot
    job = submit()
    await wait_for(pilot, lambda: job_ended(job), timeout=timeout, what=f"{job.kind} ended")
    if job.state is JobState.DONE:
        return ""
    if job.state is JobState.CANCELLED:
        return "\n".join(notes(app))
    error = job.error
    assert error
    # The toast carries the job's error (it follows the state change).
    await wait_for(pilot, lambda: any(error in n for n in error_notes(app)), what="a toast")
    return "\n".join(error_notes(app))


async def run_pull(s: Session, timeout: float) -> str:
    return await run_job(s, timeout, lambda: s.app.jobs.submit_pull(PULL_MODEL))


async def run_push(s: Session, timeout: float) -> str:
    return await run_job(s, timeout, lambda: s.app.jobs.submit_push(PUSH_MODEL))


async def run_editor(s: Session, timeout: float, text: str, folder: str) -> str:
    """The Modelfile editor: on failure it stays open with the text and says why."""
    app, pilot = s.app, s.pilot
    app.operations.create()
    screen = await screen_ready(pilot, app, CreateScreen)
    screen.query_one("#create-name", Input).value = "made:latest"
    screen.query_one("#create-folder", Input).value = folder
    screen.editor.text = text
    await pilot.pause()
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: screen.job is not None, what="the create job")
    job = screen.job
    assert job is not None
    await wait_for(pilot, lambda: job_ended(job), timeout=timeout, what="create ended")
    if job.state is JobState.DONE:
        return ""
    status = screen.query_one("#create-status", Static)
    if job.state is JobState.CANCELLED:
        return plain(status)
    error = job.error
    assert error
    await wait_for(pilot, lambda: error in plain(status), what="the editor says why")
    assert app.screen is screen and screen.editor.text == text  # the user's text is kept
    return plain(status)


async def run_create(s: Session, timeout: float) -> str:
    return await run_editor(s, timeout, CREATE_TEXT, ".")


async def run_blobs(s: Session, timeout: float) -> str:
    return await run_editor(s, timeout, BLOB_TEXT, str(s.folder))


def blob_path(s: Session) -> str:
    digest = hashlib.sha256((s.folder / "tiny.gguf").read_bytes()).hexdigest()
    return f"/api/blobs/sha256:{digest}"


OPERATIONS: dict[str, Operation] = {
    "show": Operation(lambda s: "/api/show", run_show),
    "copy": Operation(lambda s: "/api/copy", run_copy),
    "delete": Operation(lambda s: "/api/delete", run_delete),
    "load": Operation(lambda s: "/api/generate", run_load),
    "unload": Operation(lambda s: "/api/generate", run_unload),
    "pull": Operation(lambda s: "/api/pull", run_pull, streams=True),
    "push": Operation(lambda s: "/api/push", run_push, streams=True),
    "create": Operation(lambda s: "/api/create", run_create, streams=True),
    "blobs": Operation(blob_path, run_blobs),  # HEAD first, with a timeout
}


@pytest.mark.parametrize("fault_id", FAULT_IDS)
@pytest.mark.parametrize("endpoint", list(OPERATIONS))
async def test_operation_fault(
    session: Session, request: pytest.FixtureRequest, endpoint: str, fault_id: str
) -> None:
    """The operation's own view says what went wrong; the dashboard keeps working."""
    expect_bug(request, endpoint, fault_id)
    await session.fresh()
    operation, case = OPERATIONS[endpoint], FAULTS[fault_id]
    app, pilot, sim = session.app, session.pilot, session.sim
    sim.faults.add(operation.path(session), case.kind, **case.params)
    if case.kind == "hang" and operation.streams:
        await hung_job_is_cancelled(session, operation)
        return
    if endpoint in ("pull", "push") and fault_id in LOST_CONNECTION:
        await lost_transfer_waits_then_resumes(session, endpoint, case)
        return
    shown = await operation.run(session, 2 * TIMEOUT + 1)
    assert_user_words(shown, expected(endpoint, fault_id))
    if operation.streams and fault_id == "http500" and endpoint in ("pull", "push"):
        # The jobs view shows it too (the toast is what the matrix checks everywhere).
        app.operations.show_jobs()
        view = await screen_ready(pilot, app, JobsScreen)
        assert_user_words("\n".join(plain(w) for w in view.query(Static)), case)
    assert app.is_running
    sim.faults.clear()
    screen = app.screen
    if isinstance(screen, DetailsScreen) and screen.error:
        # The details come back by themselves once the server answers again.
        await wait_for(pilot, lambda: screen.show is not None and not screen.error, timeout=5)
    app.request_refresh()
    await wait_for(pilot, lambda: app.status.state == "connected" and not app.polling)
    await close_screens(pilot, app)
    await session.no_leaks()


# Faults that cut the connection (nothing refused): a pull or push waits for the server.
LOST_CONNECTION = ("refuse", "cut")


async def lost_transfer_waits_then_resumes(s: Session, endpoint: str, case: FaultCase) -> None:
    """A transfer whose connection is lost waits for the server, saying why, and finishes by
    itself once requests get through again (issue #9 group 2)."""
    app, pilot = s.app, s.pilot
    if endpoint == "pull":
        job = app.jobs.submit_pull(PULL_MODEL)
    else:
        job = app.jobs.submit_push(PUSH_MODEL)
    await wait_for(pilot, lambda: job.state is JobState.WAITING, what="waiting for the server")
    assert job.error and job.state_text == "waiting for the server"
    assert_user_words(job.error, case)
    s.sim.faults.clear()
    await wait_for(pilot, lambda: job.state is JobState.DONE, timeout=10, what="resumed alone")
    assert job.attempt == 1
    app.request_refresh()
    await wait_for(pilot, lambda: app.status.state == "connected" and not app.polling)
    await close_screens(pilot, app)
    await s.no_leaks()


async def hung_job_is_cancelled(s: Session, operation: Operation) -> None:
    """Streams have no read timeout (a pull may wait long on a registry): the user cancels."""
    app, pilot = s.app, s.pilot
    task = asyncio.ensure_future(operation.run(s, 30))
    await wait_for(pilot, lambda: s.sim.active_requests > 0 and bool(app.jobs.active))
    job = app.jobs.active[0]
    assert job.state is JobState.RUNNING
    await pilot.pause(TIMEOUT)  # longer than any client timeout: still waiting, still alive
    assert app.jobs.cancel(job.id)
    await task
    assert job.state is JobState.CANCELLED
    await wait_for(pilot, lambda: any("cancel" in n for n in notes(app)), what="told so")
    await close_screens(pilot, app)
    await s.no_leaks()
