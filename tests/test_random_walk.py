"""There is always a way back and a way out (issue #9, group 1).

Clearing ended jobs in the jobs view once left the focus on a removed row, and from then on no
key did anything, not even quit. The tests here pin that case and its whole class: a focused
widget leaving the DOM, and a seeded random walk over the keys of every screen and dialog,
checking after each stretch that `esc` leads back to the dashboard and that quitting works.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path, PurePath
from typing import Any, ClassVar

import pytest
from conftest import make_app, wait_for
from test_ui_ops import SMALL, screen_ready
from test_ui_ops_app import started
from textual.app import App
from textual.binding import Binding, BindingType
from textual.pilot import Pilot
from textual.screen import ModalScreen, Screen
from textual.signal import Signal
from textual.widgets import Button

from ollama_tui.app import OllamaTuiApp
from ollama_tui.jobs import Job, JobKind, JobState
from ollama_tui.operations import Operations
from ollama_tui.screens.confirm import ConfirmScreen
from ollama_tui.screens.dashboard import DashboardScreen
from ollama_tui.screens.jobs import JobsScreen
from ollama_tui.session import ServerSession
from ollama_tui.simulator import Simulator
from ollama_tui.stylesheets import stylesheet_paths
from ollama_tui.widgets.job_progress import JobRow

pytestmark = pytest.mark.simulator_only

SIZE = (80, 24)
MISSING = ("nosuch-a:1b", "nosuch-b:1b", "nosuch-c:1b")


@pytest.fixture
async def slow_sim() -> AsyncIterator[Simulator]:
    """Pulls of catalogue models stay running for minutes (the walk needs running jobs)."""
    simulator = Simulator(bandwidth=2e5, progress_interval=0.5)
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


def focus_is_live(app: App[Any]) -> bool:
    """Nothing focused, or a widget still in the DOM (a removed one swallows every key)."""
    focused = app.screen.focused
    return focused is None or focused.is_attached


async def ended(pilot: Pilot[Any], *jobs: Job) -> None:
    await wait_for(pilot, lambda: all(job.state.is_final for job in jobs))


async def quits(pilot: Pilot[Any], app: OllamaTuiApp, key: str = "q") -> None:
    """The key quits (after a yes when jobs still run)."""
    await pilot.press(key)
    if app.jobs.active:
        await screen_ready(pilot, app, ConfirmScreen)
        await pilot.press("y")
    await wait_for(pilot, lambda: app.return_code == 0)


# -- the repro and its neighbours -----------------------------------------------------------


@pytest.mark.parametrize("moves", [("up",), (), ("up", "down")], ids=["upper", "lower", "both"])
async def test_clear_ended_jobs_keeps_every_key_working(
    sim: Simulator, moves: tuple[str, ...]
) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await ended(pilot, *(app.jobs.submit_pull(name) for name in MISSING[:2]))
        await pilot.press("J")
        await screen_ready(pilot, app, JobsScreen)
        await wait_for(pilot, lambda: isinstance(app.screen.focused, JobRow))
        for key in moves:
            await pilot.press(key)
        await pilot.press("C")
        await wait_for(pilot, lambda: not app.screen.query(JobRow))
        assert focus_is_live(app)
        assert app.screen.query_one("#jobs-empty").display
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("J")  # and back again: the view works on an empty list
        await screen_ready(pilot, app, JobsScreen)
        await pilot.press("down", "up", "x", "r", "e", "C", "enter", "q")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await quits(pilot, app)


async def test_clear_ended_moves_the_selection_to_the_nearest_job_left(
    slow_sim: Simulator,
) -> None:
    app = make_app(slow_sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        first = app.jobs.submit_pull(MISSING[0])
        await ended(pilot, first)
        running = app.jobs.submit_pull(SMALL)
        await wait_for(pilot, lambda: running.state is JobState.RUNNING)
        last = app.jobs.submit_pull(MISSING[1])
        await ended(pilot, last)
        await pilot.press("J")
        screen = await screen_ready(pilot, app, JobsScreen)
        await wait_for(pilot, lambda: isinstance(screen.focused, JobRow))
        await pilot.press("up", "up", "up")  # the first (failed) job
        await wait_for(pilot, lambda: screen.focused.job is first)
        await pilot.press("C")
        await wait_for(pilot, lambda: len(screen.query(JobRow)) == 1)
        assert isinstance(screen.focused, JobRow) and screen.focused.job is running
        await pilot.press("x")  # keys act on the job left
        await wait_for(pilot, lambda: running.state is JobState.CANCELLED)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await quits(pilot, app, "ctrl+q")


class TwoButtons(ModalScreen[None]):
    """A screen that removes its focused widgets one at a time, like the jobs view once did."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def compose(self) -> Any:
        yield Button("one", id="one")
        yield Button("two", id="two")

    def remove_both(self) -> None:
        self.query_one("#one").remove()
        self.query_one("#two").remove()


@pytest.mark.parametrize("key", ["escape", "ctrl+q", "click"])
async def test_keys_and_mouse_survive_the_focused_widget_leaving(sim: Simulator, key: str) -> None:
    """Whatever removes the focused widget, the next key or click reaches the screen and app."""
    app = make_app(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        screen = TwoButtons()
        app.push_screen(screen)
        await screen_ready(pilot, app, TwoButtons)
        screen.set_focus(screen.query_one("#one", Button))
        screen.remove_both()
        await wait_for(pilot, lambda: not screen.query(Button))
        if key == "click":
            await pilot.click(offset=(1, 1))
            assert focus_is_live(app)
            await pilot.press("escape")
        else:
            await pilot.press(key)
        if key == "ctrl+q":
            await wait_for(pilot, lambda: app.return_code == 0)
        else:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))


class ClearableQueue:
    """Enough of JobQueue for the jobs view: a list of jobs, and clearing the ended ones."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self.on_change: Callable[[Job], None] | None = None

    def clear_finished(self) -> list[Job]:
        ended = [job for job in self.jobs if job.state.is_final]
        self.jobs = [job for job in self.jobs if not job.state.is_final]
        return ended


class JobsHost(App[None]):
    """The app's stylesheets and what the jobs view needs, without a server."""

    CSS_PATH: ClassVar[list[str | PurePath]] = list(stylesheet_paths())

    def __init__(self) -> None:
        super().__init__()
        self.jobs_changed_signal: Signal[Job] = Signal(self, "jobs-changed")
        self.operations = Operations(
            self,
            ServerSession(None, "http://127.0.0.1:9"),
            ClearableQueue([]),  # type: ignore[arg-type]
            self.jobs_changed_signal,
        )


def has_focus(screen: Screen[Any], widget: JobRow) -> bool:
    return screen.focused is widget


def shows_rows(screen: Screen[Any], count: int) -> bool:
    return len(screen.query(JobRow)) == count


async def test_clear_ended_in_every_arrangement_leaves_the_focus_on_a_job_left() -> None:
    """Every mix of ended and active jobs (up to three), every row selected: `C` leaves the
    focus on the nearest job left (below, else above), or on nothing, never on a removed row."""
    app = JobsHost()
    async with app.run_test(size=SIZE) as pilot:
        for count in (1, 2, 3):
            for ends in itertools.product((True, False), repeat=count):
                for selected in range(count):
                    jobs = [
                        Job(
                            id=i + 1,
                            kind=JobKind.PULL,
                            model=f"m{i}",
                            state=JobState.FAILED if end else JobState.RUNNING,
                        )
                        for i, end in enumerate(ends)
                    ]
                    app.operations.jobs = ClearableQueue(list(jobs))  # type: ignore[assignment]
                    screen = JobsScreen(app.operations)
                    await app.push_screen(screen)
                    await wait_for(pilot, functools.partial(shows_rows, screen, count))
                    rows = list(screen.query(JobRow))
                    # The view's own first focus (the newest active job, else the newest job)
                    # comes first; then the case's.
                    first = [row for row, end in zip(rows, ends, strict=True) if not end] or rows
                    await wait_for(pilot, functools.partial(has_focus, screen, first[-1]))
                    screen.set_focus(rows[selected])
                    await pilot.press("C")
                    left = [row for row, end in zip(rows, ends, strict=True) if not end]
                    await wait_for(pilot, functools.partial(shows_rows, screen, len(left)))
                    case = f"ended {ends}, selected {selected}"
                    if ends[selected]:
                        below = [r for r in left if rows.index(r) > selected]
                        above = [r for r in left if rows.index(r) < selected]
                        nearest = (below[:1] or above[-1:] or [None])[0]
                        assert screen.focused is nearest, case
                    else:
                        assert screen.focused is rows[selected], case
                    assert focus_is_live(app), case
                    await pilot.press("escape")
                    await wait_for(pilot, functools.partial(_is_not_top, app, screen))


# -- the random walk ---------------------------------------------------------------------------

SEED = int(os.environ.get("WALK_SEED", "9"))  # another walk: WALK_SEED=n
# Each stretch: a key that opens a screen, then 1-4 steps, then the checks. A longer walk to
# explore: WALK_STRETCHES=n (the coverage check needs n >= len(ENTRIES)).
STRETCHES = int(os.environ.get("WALK_STRETCHES", "16"))
SERVER_DOWN = range(6, 9)  # stretches walked with the simulator stopped
# Keys that open each screen or dialog from the dashboard (on a local model of the installed
# table), taken in turn so that every one is visited; what happens inside is left to the dice.
# The jobs view, whose rows come and go under the focus, is entered most often.
ENTRIES = (
    "J", "n", "enter", "d", "J", "p", "P", "c",
    "J", "R", "l", "question_mark", "J", "U", "space,d", "n,ctrl+s",
)  # fmt: skip
# A step is what a person does: move the cursor or focus a few times, then act.
MOVES = ("up", "down", "up", "down", "tab", "shift+tab", "left", "right")
# Besides the bindings on screen, keys a person presses anyway (typing, confirming, saving).
NOISE = (
    "enter", "space", "backspace", "a", "1", "y", "n", "escape",
    "ctrl+s", "ctrl+r", "ctrl+t", "ctrl+o",
)  # fmt: skip
# Never drawn: quitting is what the checks try, and the palette's enter could quit too.
NOT_DRAWN = {"quit", "app.quit", "command_palette", "app.command_palette"}
# Drawn less often (the checks close screens anyway): the walk gets deeper into each screen.
LEAVING = {"close", "cancel", "app.pop_screen", "pop_screen"}
SCREENS = {
    "JobsScreen", "CreateScreen", "DetailsScreen", "DeleteScreen", "ConfirmScreen",
    "PullScreen", "PushScreen", "CopyScreen", "RenameScreen", "LoadScreen", "HelpScreen",
    "TextPrompt",
}  # fmt: skip


def _is_not_top(app: OllamaTuiApp, screen: Screen[Any]) -> bool:
    return app.screen is not screen


class Walk:
    """The walk's dice, its trail (printed when a check fails) and what it has seen."""

    def __init__(self, pilot: Pilot[Any], app: OllamaTuiApp) -> None:
        self.pilot = pilot
        self.app = app
        self.rng = random.Random(SEED)
        self.trail: list[str] = []
        self.seen: set[str] = set()
        self.exits = 0

    def fail(self, what: str) -> AssertionError:
        stack = [type(s).__name__ for s in self.app.screen_stack]
        return AssertionError(f"{what}; screens {stack}; after {' '.join(self.trail[-40:])}")

    async def until(self, cond: Callable[[], bool], what: str, timeout: float = 10) -> None:
        try:
            await wait_for(self.pilot, cond, timeout)
        except AssertionError:
            raise self.fail(what) from None

    def keys_on_screen(self) -> list[str]:
        """The screen's enabled bindings; now and then only, those that leave it."""
        leave = self.rng.random() < 0.15
        keys = {
            key
            for key, active in self.app.screen.active_bindings.items()
            if active.enabled
            and key not in MOVES
            and active.binding.action not in NOT_DRAWN
            and (leave or active.binding.action not in LEAVING)
        }
        return sorted(keys)

    async def press(self, key: str) -> None:
        self.trail.append(key)
        await self.pilot.press(key)
        self.seen.add(type(self.app.screen).__name__)
        if not focus_is_live(self.app):
            raise self.fail(f"the focus is on a removed widget after {key!r}")

    async def step(self) -> None:
        """Up to three moves, then one key from the screen's bindings or NOISE, or a click."""
        for _ in range(self.rng.randint(0, 3)):
            await self.press(self.rng.choice(MOVES))
        dice = self.rng.random()
        if dice < 0.1:
            width, height = SIZE
            x, y = self.rng.randrange(width), self.rng.randrange(height)
            self.trail.append(f"click({x},{y})")
            await self.pilot.click(offset=(x, y))
            if not focus_is_live(self.app):
                raise self.fail("the focus is on a removed widget after a click")
            return
        keys = self.keys_on_screen() if dice < 0.75 else list(NOISE)
        await self.press(self.rng.choice(keys or list(NOISE)))

    async def back_to_dashboard(self) -> None:
        """`esc`, pressed a few times, leads back to the dashboard (its table focused).

        The one confirmation on the way is the editor's "Discard this Modelfile?", which `esc`
        itself asks: it is answered yes.
        """
        for _ in range(10):
            app = self.app
            if isinstance(app.screen, DashboardScreen) and not isinstance(
                app.screen.focused, type(app.screen.filter_bar)
            ):
                return
            top, depth = app.screen, len(app.screen_stack)
            await self.press("escape")
            try:
                await wait_for(self.pilot, functools.partial(_is_not_top, app, top), timeout=3)
            except AssertionError:
                continue  # esc did something inside the screen (the dashboard's filter)
            if len(app.screen_stack) > depth and isinstance(app.screen, ConfirmScreen):
                await self.press("y")
        raise self.fail("esc did not lead back to the dashboard")

    async def quit_works(self, key: str) -> None:
        """The key quits: `exit` is called, or (jobs running) the app asks first; `n` stays."""
        app, top, before = self.app, self.app.screen, self.exits
        self.trail.append(f"[{key}]")
        await self.pilot.press(key)
        await self.until(
            lambda: (
                self.exits > before
                or (app.screen is not top and isinstance(app.screen, ConfirmScreen))
            ),
            f"{key!r} did not quit",
        )
        if self.exits == before:
            await self.pilot.press("n")
            await self.until(lambda: app.screen is top, "the quit question did not go away")

    async def on_a_local_model(self) -> None:
        """The installed table focused, unfiltered, on a local model (where every key applies)."""
        dashboard = self.app.screen
        assert isinstance(dashboard, DashboardScreen)
        table = dashboard.installed_table
        if table.filter_text:
            await self.press("escape")
        if dashboard.focused is not table:
            await self.press("tab")
        local = next((m.name for m in self.app.installed if not m.is_remote), None)
        if local is not None:
            table.select_key(next(k for k in table.visible_keys if k[0] == local))

    async def ensure_jobs(self) -> None:
        """Running, queued, failed and cancelled jobs for the jobs view to show."""
        jobs = self.app.jobs
        if not any(job.state is JobState.FAILED for job in jobs.jobs):
            # A create, which no running pull holds back (and which `e` can edit).
            failed = jobs.submit_create("walk:bad", f"FROM {MISSING[2]}\n")
            await self.until(lambda: failed.state is JobState.FAILED, "a create failed")
        if not any(job.state is JobState.CANCELLED for job in jobs.jobs):
            jobs.cancel(jobs.submit_pull("gemma3:1b").id)
        for _ in range(2 - len(jobs.active)):  # one running (max_transfers = 1), one queued
            jobs.submit_pull(SMALL)


async def test_random_walk_over_every_screen_always_has_a_way_back_and_out(
    slow_sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every screen and dialog, with running, queued, failed and cancelled jobs, and for a few
    stretches no server: after each stretch, quitting works from where the walk is, `esc` leads
    back to the dashboard and `q` quits there; after each key, the focus is on a live widget.
    Quitting is checked by counting calls to `exit` (the quit question is answered no)."""
    monkeypatch.chdir(tmp_path)  # the editor's ctrl+s / ctrl+o and FROM paths stay in here
    app = make_app(slow_sim.url, max_transfers=1)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        walk = Walk(pilot, app)

        def exit_called(*args: Any, **kwargs: Any) -> None:
            walk.exits += 1

        monkeypatch.setattr(app, "exit", exit_called)
        port = int(slow_sim.url.rsplit(":", 1)[1])
        for stretch in range(STRETCHES):
            entry = ENTRIES[stretch % len(ENTRIES)]
            if stretch == SERVER_DOWN.start:
                await slow_sim.stop()  # the server goes away for a few stretches
            elif stretch == SERVER_DOWN.stop:
                await slow_sim.start("127.0.0.1", port)
            await walk.on_a_local_model()
            if entry == "J" and stretch not in SERVER_DOWN:
                await walk.ensure_jobs()
            for key in entry.split(","):
                await walk.press(key)
            for _ in range(walk.rng.randint(1, 4)):
                await walk.step()
            await walk.quit_works("ctrl+q")  # from wherever the walk is
            await walk.back_to_dashboard()
            await walk.quit_works("q")
        assert walk.seen >= SCREENS, f"never visited: {SCREENS - walk.seen}"
        monkeypatch.undo()  # the real exit, for the real quit
        await walk.back_to_dashboard()
        await quits(pilot, app)
