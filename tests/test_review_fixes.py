"""Regression tests for defects found by reviewing the app as a user would."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from conftest import make_app, wait_for
from test_ui_dashboard import dashboard, started

from ollama_tui.api import ProgressEvent
from ollama_tui.api.keep_alive import parse_keep_alive
from ollama_tui.jobs import Job, JobKind, JobParams, JobState
from ollama_tui.screens.jobs import JobsScreen
from ollama_tui.screens.load import KeepAliveValidator
from ollama_tui.simulator import Simulator


@pytest.mark.parametrize("text", ["9" * 330, "1" + "0" * 12, "9300000000.5"])
def test_keep_alive_too_long_is_a_clear_error_not_a_crash(text: str) -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_keep_alive(text)
    assert not KeepAliveValidator().validate(text).is_valid


def test_any_negative_number_of_seconds_means_forever() -> None:
    assert parse_keep_alive("-5") == -1
    assert parse_keep_alive("-" + "9" * 400) == -1


async def test_a_copy_of_a_loaded_model_is_not_marked_loaded(sim: Simulator) -> None:
    sim.add_model("llama-copy:latest", like="llama3.2:latest")  # same weights and digest
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        table = dashboard(app).installed_table
        flags = {m.name: table.gutter_flag(m)[0] for m in app.installed}
        assert flags["llama3.2:latest"] == "●"  # the one /api/ps lists
        assert flags["llama-copy:latest"] != "●"


async def test_jobs_view_starts_on_the_running_job_so_x_cancels_it(sim: Simulator) -> None:
    sim.bandwidth = 2e6  # slow enough that the second pull is still running
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        done = app.jobs.submit_pull("qwen2.5:0.5b")  # already installed: ends at once
        await wait_for(pilot, lambda: done.state is JobState.DONE)
        running = app.jobs.submit_pull("gemma3:1b")
        await wait_for(pilot, lambda: running.state is JobState.RUNNING)
        await pilot.press("J")
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen))
        await pilot.pause()
        await pilot.press("x")
        await wait_for(pilot, lambda: running.state is JobState.CANCELLED)


def test_create_progress_counts_the_uploaded_file_once() -> None:
    job = Job(1, JobKind.CREATE, "made:latest", JobParams())
    size = 389_000
    for done in (0, size // 2, size):
        job.apply(ProgressEvent("hashing tiny.gguf", None, size, done))
    for done in (0, size // 2, size):
        job.apply(ProgressEvent("uploading tiny.gguf", "sha256:" + "a" * 64, size, done))
    assert (job.completed, job.total) == (size, size)


async def test_escape_clears_the_filter_first_then_the_marks(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        table = dashboard(app).installed_table
        table.focus()
        await pilot.press("space", "space")
        await wait_for(pilot, lambda: len(table.marked) == 2)
        await pilot.press("slash", "m", "i", "enter")
        await wait_for(pilot, lambda: table.filter_text == "mi")
        await pilot.press("escape")
        await wait_for(pilot, lambda: table.filter_text == "")
        assert len(table.marked) == 2  # the first escape only cleared the filter
        await pilot.press("escape")
        await wait_for(pilot, lambda: not table.marked)


async def test_the_job_list_keeps_only_the_newest_ended_jobs() -> None:
    from ollama_tui.jobs import KEEP_ENDED, JobQueue

    class Instant:
        """Every pull, push and create succeeds at once."""

        async def pull(self, name: str, *, insecure: bool = False) -> AsyncIterator[ProgressEvent]:
            yield ProgressEvent("success")

        push = pull

        async def create(
            self, name: str, modelfile: str, *, base_dir: str = ".", quantize: str | None = None
        ) -> AsyncIterator[ProgressEvent]:
            yield ProgressEvent("success")

    queue = JobQueue(Instant())
    jobs = [queue.submit_pull(f"m{i}") for i in range(KEEP_ENDED + 20)]
    await queue.wait_idle()
    assert len(queue.jobs) == KEEP_ENDED
    assert queue.jobs[-1] is jobs[-1] and jobs[0] not in queue.jobs
    await queue.aclose()
