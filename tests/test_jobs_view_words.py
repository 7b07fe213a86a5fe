"""The jobs view and strip read clearly without colour; counts in proper words (issue #9, group 9).

Every check is on the plain text (what a monochrome terminal or a screen reader gets): the job's
state in words, which job is selected, what an ended job's layers say, a finished pull's size.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_app, wait_for
from test_ui_ops import SMALL, screen_ready
from test_ui_ops_app import started
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from ollama_tui.app import OllamaTuiApp
from ollama_tui.formatting import counted
from ollama_tui.jobs import Job, JobKind, JobState, LayerProgress
from ollama_tui.screens.confirm import ConfirmScreen
from ollama_tui.screens.jobs import JobsScreen
from ollama_tui.simulator import Simulator
from ollama_tui.widgets.job_progress import (
    SELECTED_MARK,
    JobRow,
    JobsStrip,
    job_numbers,
    layer_status,
)

MB = 1_000_000
DIGEST = "sha256:" + "7e" * 32
SIZE = (80, 24)


def pull(state: JobState, completed: int = 334 * MB, total: int = 337 * MB) -> Job:
    layer = LayerProgress(DIGEST, f"pulling {DIGEST[7:19]}", total=total, completed=completed)
    return Job(id=3, kind=JobKind.PULL, model="m:1b", state=state, layers={DIGEST: layer})


# -- without colour: states in words -----------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "word"),
    [
        (JobState.QUEUED, "queued"),
        (JobState.DONE, "done"),
        (JobState.FAILED, "failed"),
        (JobState.CANCELLED, "cancelled"),
    ],
)
def test_strip_line_says_the_state_in_words(state: JobState, word: str) -> None:
    job = Job(id=3, kind=JobKind.PULL, model="m:1b", state=state)
    text = JobsStrip._compact(job) if job.is_active else JobsStrip._ended_text(job)
    assert word in text.plain


@pytest.mark.parametrize("state", [JobState.CANCELLED, JobState.FAILED, JobState.WAITING])
def test_an_unfinished_layer_of_a_stopped_job_says_why(state: JobState) -> None:
    job = pull(state)
    status = layer_status(job, job.layers[DIGEST])
    assert status == str(state) and "pulling" not in status


def test_layer_status_is_the_servers_while_running_and_done_after() -> None:
    running = pull(JobState.RUNNING)
    assert layer_status(running, running.layers[DIGEST]) == f"pulling {DIGEST[7:19]}"
    done = pull(JobState.DONE)
    assert layer_status(done, done.layers[DIGEST]) == "done"
    whole = pull(JobState.CANCELLED, completed=337 * MB)  # this layer had finished
    assert layer_status(whole, whole.layers[DIGEST]) == "done"


# -- wording -----------------------------------------------------------------------------------


def test_a_finished_pull_shows_its_total_not_where_the_last_line_stopped() -> None:
    assert job_numbers(pull(JobState.DONE)).plain == "100%  337 MB"
    assert "334 MB / 337 MB" in job_numbers(pull(JobState.RUNNING)).plain


@pytest.mark.parametrize(
    ("count", "question"),
    [
        (1, "1 job is still running — quit and cancel it?"),
        (2, "2 jobs are still running — quit and cancel them?"),
    ],
)
async def test_quit_question_counts_jobs_in_proper_words(
    sim: Simulator, count: int, question: str
) -> None:
    sim.bandwidth = 2e5  # the pulls outlast the test
    app = make_app(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        for _ in range(count):
            app.jobs.submit_pull(SMALL)
        await pilot.press("q")
        screen = await screen_ready(pilot, app, ConfirmScreen)
        assert screen.title_text == question
        await pilot.press("n")


@pytest.mark.parametrize(
    ("count", "noun", "text"), [(0, "model", "0 models"), (1, "job", "1 job"), (3, "job", "3 jobs")]
)
def test_counted_puts_the_noun_in_the_right_number(count: int, noun: str, text: str) -> None:
    assert counted(count, noun) == text


async def test_unload_all_question_counts_models_in_proper_words(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert len(app.running_models) == 1  # the simulator starts with one loaded
        await pilot.press("U")
        screen = await screen_ready(pilot, app, ConfirmScreen)
        assert screen.title_text == "Unload 1 model?"
        await pilot.press("n")


# -- the jobs view, in plain text ----------------------------------------------------------------


def title(row: JobRow) -> str:
    return str(row.query_one("#job-title", Static).render())


async def jobs_view(pilot: Pilot[Any], app: OllamaTuiApp) -> dict[JobState, JobRow]:
    """The jobs view with a failed, a cancelled, a running and a queued job."""
    await started(pilot, app)
    failed = app.jobs.submit_pull("nosuch:1b")
    await wait_for(pilot, lambda: failed.state is JobState.FAILED)
    running = app.jobs.submit_pull(SMALL)
    await wait_for(pilot, lambda: running.completed > 0)
    cancelled = app.jobs.submit_pull("gemma3:1b")
    await wait_for(pilot, lambda: bool(cancelled.layers))
    app.jobs.cancel(cancelled.id)
    await wait_for(pilot, lambda: cancelled.state is JobState.CANCELLED)
    app.jobs.max_transfers = 1  # the next pull waits for the running one
    queued = app.jobs.submit_pull("qwen2.5:7b")
    await pilot.press("J")
    screen = await screen_ready(pilot, app, JobsScreen)
    await wait_for(pilot, lambda: len(screen.query(JobRow)) == 4)
    return {row.job.state: row for row in screen.query(JobRow)} | {
        JobState.QUEUED: screen.query_one(f"#job-{queued.id}", JobRow)
    }


async def test_jobs_view_says_states_in_words_and_marks_the_selected_job(sim: Simulator) -> None:
    sim.bandwidth = 2e5
    app = make_app(sim.url, max_transfers=2)
    async with app.run_test(size=SIZE) as pilot:
        rows = await jobs_view(pilot, app)
        assert set(rows) == {JobState.FAILED, JobState.RUNNING, JobState.CANCELLED, JobState.QUEUED}
        for state, row in rows.items():
            assert str(state) in title(row), title(row)

        def marked() -> list[JobRow]:
            return [row for row in rows.values() if title(row).startswith(SELECTED_MARK)]

        # The newest active job (the queued one) is selected first: marked in text, alone.
        await wait_for(pilot, lambda: marked() == [rows[JobState.QUEUED]])
        await pilot.press("up")
        await wait_for(pilot, lambda: marked() == [rows[JobState.CANCELLED]])
        assert not title(rows[JobState.QUEUED]).startswith(SELECTED_MARK)
        # ? lists the view's own keys, and esc comes back to it.
        from ollama_tui.screens.help import HelpScreen

        view = app.screen
        await pilot.press("question_mark")
        help_screen = await screen_ready(pilot, app, HelpScreen)
        text = " ".join(entry[2] for entry in help_screen.entries)
        assert "Cancel job" in text and "Clear ended" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is view)


async def test_cancelled_pulls_layers_no_longer_say_pulling(sim: Simulator) -> None:
    sim.bandwidth = 2e5
    app = make_app(sim.url, max_transfers=2)
    async with app.run_test(size=SIZE) as pilot:
        rows = await jobs_view(pilot, app)
        row = rows[JobState.CANCELLED]
        await pilot.press("up")
        await wait_for(pilot, lambda: app.screen.focused is row)
        await pilot.press("enter")
        table: DataTable[Any] = row.query_one("#job-layers", DataTable)
        await wait_for(pilot, lambda: table.display and table.row_count > 0)
        statuses = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert statuses and all(status == "cancelled" for status in statuses), statuses
