"""Terminal abuse: resize storms with a job running, a filter set and a dialog open.

Sizes go 80x24 -> 40x12 -> 220x60 -> 80x24, repeatedly. Nothing may crash or lose state: the
highlighted model, the filter text, the dialog's input and the job's progress all carry on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from conftest import make_app, wait_for
from textual.pilot import Pilot
from textual.widgets import Input

from ollama_tui.app import OllamaTuiApp
from ollama_tui.jobs import JobState
from ollama_tui.screens.create import CreateScreen
from ollama_tui.screens.details import DetailsScreen
from ollama_tui.screens.jobs import JobsScreen
from ollama_tui.screens.pull import PullScreen
from ollama_tui.simulator import Simulator

pytestmark = pytest.mark.simulator_only

STORM = [(80, 24), (40, 12), (220, 60), (80, 24)]
TINY = (40, 12)
ROUNDS = 3
PULL_MODEL = "qwen2.5:7b"  # several GB: at the storm's bandwidth it runs throughout


@pytest.fixture
async def slow_sim() -> AsyncIterator[Simulator]:
    """Pulls take long enough to stay running through a storm."""
    simulator = Simulator(bandwidth=200e6, progress_interval=0.1)
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


def screen_text(app: OllamaTuiApp) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def storm(
    pilot: Pilot[Any], app: OllamaTuiApp, check: Callable[[], None], rounds: int = ROUNDS
) -> None:
    """Resize through every size `rounds` times, checking state after each step."""
    for _ in range(rounds):
        for width, height in STORM:
            await pilot.resize_terminal(width, height)
            await pilot.pause()
            assert app.size == (width, height)
            assert app.is_running and app._exception is None
            screen_text(app)  # renders at this size without raising
            check()


async def started(pilot: Pilot[Any], app: OllamaTuiApp) -> None:
    await wait_for(pilot, lambda: app.status.state == "connected" and bool(app.installed))
    await pilot.pause()


async def test_storm_keeps_cursor_filter_dialog_input_and_job(slow_sim: Simulator) -> None:
    app = make_app(slow_sim.url, interval=2.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        board = app.dashboard
        assert board is not None
        table = board.installed_table
        await pilot.press("slash", *"l", "enter")  # filter kept: names/families with an "l"
        assert table.filter_text == "l"
        target = next(k for k in table.visible_keys if k[0] == "mistral:7b")
        assert table.select_key(target)
        job = app.jobs.submit_pull(PULL_MODEL)
        await wait_for(pilot, lambda: job.completed > 0, what="the pull under way")
        app.operations.pull()
        await wait_for(pilot, lambda: isinstance(app.screen, PullScreen))
        dialog = app.screen
        field = dialog.query_one("#pull-name", Input)
        field.focus()
        await pilot.press(*"gemma")
        progress: list[int] = [job.completed]

        def check() -> None:
            assert app.screen is dialog and field.value == "gemma"
            assert table.cursor_key == target and table.filter_text == "l"
            assert job.state is JobState.RUNNING or job.state is JobState.DONE
            progress.append(job.completed)

        await storm(pilot, app, check)
        await wait_for(pilot, lambda: job.completed > progress[0], what="the job moves on")
        await pilot.press("escape")
        assert app.screen is board
        assert table.cursor_key == target and table.filter_text == "l"
        assert "filter: l" in str(board.query_one("#installed-box").border_subtitle)
        app.jobs.cancel(job.id)
        await wait_for(pilot, lambda: job.state is JobState.CANCELLED)


async def test_storm_on_details_jobs_and_editor(slow_sim: Simulator) -> None:
    """The other screens survive storms too, with their content and input."""
    app = make_app(slow_sim.url, interval=2.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        model = next(m for m in app.installed if m.name == "qwen2.5:0.5b")
        app.show_details(model)
        await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen))
        details = app.screen
        assert isinstance(details, DetailsScreen)
        await wait_for(pilot, lambda: details.show is not None)
        await pilot.press("2")  # the Modelfile tab

        def details_ok() -> None:
            assert app.screen is details and details.show is not None

        await storm(pilot, app, details_ok, rounds=2)
        await pilot.press("escape")

        job = app.jobs.submit_pull(PULL_MODEL)
        await wait_for(pilot, lambda: job.completed > 0)
        app.operations.show_jobs()
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen))
        jobs_view = app.screen

        def jobs_ok() -> None:
            assert app.screen is jobs_view
            assert jobs_view.query_one(f"#job-{job.id}") is not None

        await storm(pilot, app, jobs_ok, rounds=2)
        await pilot.press("escape")
        app.jobs.cancel(job.id)

        app.operations.create()
        await wait_for(pilot, lambda: isinstance(app.screen, CreateScreen))
        editor_screen = app.screen
        assert isinstance(editor_screen, CreateScreen)
        await pilot.pause()
        text = "FROM qwen2.5:0.5b\nSYSTEM keep me\n"
        editor_screen.editor.text = text
        editor_screen.query_one("#create-name", Input).value = "kept:latest"

        def editor_ok() -> None:
            assert app.screen is editor_screen and editor_screen.editor.text == text
            assert editor_screen.query_one("#create-name", Input).value == "kept:latest"

        await storm(pilot, app, editor_ok, rounds=2)


async def test_smallest_size_says_terminal_too_small(slow_sim: Simulator) -> None:
    app = make_app(slow_sim.url, interval=2.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.resize_terminal(*TINY)
        await pilot.pause()
        assert "too small" in screen_text(app).lower()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert "too small" not in screen_text(app).lower()


async def test_typing_goes_on_in_the_dialog_after_the_too_small_notice(
    slow_sim: Simulator,
) -> None:
    app = make_app(slow_sim.url, interval=2.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        app.operations.pull()
        await wait_for(pilot, lambda: isinstance(app.screen, PullScreen))
        await pilot.pause()
        await pilot.press("a", "b", "c")
        await pilot.resize_terminal(*TINY)
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("d")  # appended, not replacing a select-all
        await pilot.pause()
        assert app.screen.query_one("#pull-name", Input).value == "abcd"
