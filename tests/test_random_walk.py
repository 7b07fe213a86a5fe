"""There is always a way back and a way out (issue #9, group 1).

Clearing ended jobs in the jobs view once left the focus on a removed row, and from then on no
key did anything, not even quit. The tests here pin that case and its whole class: a focused
widget leaving the DOM, and a seeded random walk over the keys of every screen and dialog,
checking after each stretch that `esc` leads back to the dashboard and that quitting works.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from test_ui_ops import SMALL, screen_ready, wait_for
from test_ui_ops_app import make_app, started
from textual.binding import Binding, BindingType
from textual.pilot import Pilot
from textual.screen import ModalScreen, Screen
from textual.widgets import Button

from ollama_tui.app import OllamaTuiApp
from ollama_tui.jobs import Job, JobState
from ollama_tui.screens.confirm import ConfirmScreen
from ollama_tui.screens.dashboard import DashboardScreen
from ollama_tui.screens.jobs import JobsScreen
from ollama_tui.simulator import Simulator
from ollama_tui.widgets.job_progress import JobRow

pytestmark = pytest.mark.simulator_only

SIZE = (80, 24)
MISSING = ("nosuch-a:1b", "nosuch-b:1b", "nosuch-c:1b")


@pytest.fixture
async def slow_sim() -> AsyncIterator[Simulator]:
    """Pulls of catalogue models stay running for minutes (the walk needs running jobs)."""
    simulator = Simulator(bandwidth=2e5, progress_interval=0.05)
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


def focus_is_live(app: OllamaTuiApp) -> bool:
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
