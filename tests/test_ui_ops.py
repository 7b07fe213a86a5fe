"""Model operations through their dialogs, against the simulator (Pilot + run_test).

`OpsHarness` is a small App with the attributes of `OllamaTuiApp` the operations use
(client, jobs, read_only, installed, running_models, request_refresh, operations), so the
operations are tested on their own; tests/test_ui_ops_app.py drives them through the real app.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path, PurePath
from typing import Any, ClassVar

import pytest
from conftest import wait_for
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.signal import Signal
from textual.widget import Widget
from textual.widgets import Button, Input, Static, TextArea

from ollama_tui.api import LocalModel, OllamaClient, RunningModel, names_equal
from ollama_tui.config import Settings
from ollama_tui.jobs import Job, JobKind, JobQueue, JobState
from ollama_tui.messages import RefreshRequested
from ollama_tui.notifications import SafeNotifyApp
from ollama_tui.operations import Operations
from ollama_tui.screens.confirm import ChoiceScreen, ConfirmScreen, TextPrompt
from ollama_tui.screens.copy import CopyScreen
from ollama_tui.screens.create import CreateScreen
from ollama_tui.screens.delete import DeleteScreen
from ollama_tui.screens.jobs import JobsScreen
from ollama_tui.screens.load import LoadScreen
from ollama_tui.screens.pull import PullScreen
from ollama_tui.screens.push import PushScreen
from ollama_tui.session import ServerSession
from ollama_tui.simulator import Simulator
from ollama_tui.stylesheets import stylesheet_paths
from ollama_tui.widgets.job_progress import JobRow, JobsStrip
from ollama_tui.widgets.modelfile_editor import ModelfileEditor

pytestmark = pytest.mark.simulator_only

SMALL = "all-minilm:latest"  # about 46 MB in the simulator's catalogue
SIZE = (80, 24)


class OpsHarness(SafeNotifyApp[None]):
    """Operations on one session around a real client and JobQueue, polled by hand."""

    CSS_PATH: ClassVar[list[str | PurePath]] = list(stylesheet_paths())

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        super().__init__()
        self.session = ServerSession(None, url)
        self.client: OllamaClient = self.session.client
        self.settings = Settings(host=url)
        self.jobs_changed_signal: Signal[Job] = Signal(self, "jobs-changed")
        self.jobs = JobQueue(
            self.client,
            on_change=self.jobs_changed_signal.publish,
            on_finished=lambda job: self.request_refresh(),
        )
        self.polls = 0
        self.operations = Operations(
            self,
            self.session,
            self.jobs,
            self.jobs_changed_signal,
            read_only=read_only,
            load_timeout=self.settings.load_timeout,
        )

    @property
    def installed(self) -> list[LocalModel]:
        return self.session.installed

    @property
    def running_models(self) -> list[RunningModel]:
        return self.session.running_models

    def compose(self) -> Any:
        yield Static("dashboard")
        yield JobsStrip(self.jobs, self.jobs_changed_signal)

    async def on_mount(self) -> None:
        await self.poll()

    async def poll(self) -> None:
        self.session.installed = await self.client.list_models()
        self.session.running_models = await self.client.running()
        self.polls += 1

    def request_refresh(self) -> None:
        self.run_worker(self.poll(), group="poll", exclusive=True, exit_on_error=False)

    def on_refresh_requested(self, message: RefreshRequested) -> None:
        self.request_refresh()

    async def on_unmount(self) -> None:
        await self.jobs.aclose()
        await self.client.aclose()

    def model(self, name: str) -> LocalModel:
        return next(m for m in self.installed if names_equal(m.name, name))

    def has_model(self, name: str) -> bool:
        return any(names_equal(m.name, name) for m in self.installed)


async def screen_ready(pilot: Pilot[Any], app: App[Any], cls: type[Screen[Any]]) -> Any:
    """Wait until a screen of this type is on top with every widget in it mounted."""

    def ready() -> bool:
        screen = app.screen
        children = list(screen.walk_children())
        return (
            isinstance(screen, cls)
            and screen.is_mounted
            and bool(children)
            and all(isinstance(w, Widget) and w.is_mounted for w in children)
        )

    await wait_for(pilot, ready)
    await pilot.pause()
    return app.screen


async def refreshed(pilot: Pilot[Any], app: OpsHarness) -> None:
    """Wait for one more poll than now."""
    before = app.polls
    app.request_refresh()
    await wait_for(pilot, lambda: app.polls > before)


async def polled_until(pilot: Pilot[Any], app: OpsHarness, cond: Callable[[], bool]) -> None:
    """Refresh until a condition on the polled lists holds (server state settles over time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        await refreshed(pilot, app)
        if cond():
            return
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")


def notifications(app: App[Any]) -> list[str]:
    return [n.message for n in app._notifications]


def requests(sim: Simulator, path: str) -> list[Any]:
    return [r for r in sim.requests if r.path == path]


@pytest.fixture
async def fast_sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(bandwidth=2e9, progress_interval=0.01)
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def slow_sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(bandwidth=5e6, progress_interval=0.02)
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


async def type_text(pilot: Pilot[Any], text: str) -> None:
    for char in text:
        await pilot.press(char)


# -- pull ------------------------------------------------------------------------------------


async def test_pull_invalid_name_sends_nothing(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.pull()
        await screen_ready(pilot, app, PullScreen)
        await type_text(pilot, "bad$name")
        message = app.screen.query_one("#pull-message", Static)
        assert "part 'model' may only contain" in str(message.render())
        assert app.screen.query_one("#pull", Button).disabled
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PullScreen), "an invalid name never closes the dialog"
        assert app.screen.query_one("#pull-name", Input).value == "bad$name"
        app.screen.query_one("#pull-name", Input).value = "fine:"
        await pilot.pause()
        assert "the tag after ':' is empty" in str(message.render())
        assert requests(sim, "/api/pull") == []
        assert app.jobs.jobs == []


async def test_pull_runs_as_job_and_outlives_dialog(fast_sim: Simulator) -> None:
    app = OpsHarness(fast_sim.url)
    async with app.run_test(size=SIZE) as pilot:
        assert not app.has_model(SMALL)
        app.operations.pull()
        await screen_ready(pilot, app, PullScreen)
        await type_text(pilot, SMALL)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, PullScreen))
        assert len(app.jobs.jobs) == 1
        job = app.jobs.jobs[0]
        await wait_for(pilot, lambda: job.state is JobState.DONE)
        await wait_for(pilot, lambda: app.has_model(SMALL))
        body = requests(fast_sim, "/api/pull")[0].json
        assert body["model"] == SMALL
        assert not body.get("insecure")


async def test_pull_insecure_toggle(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.pull()
        await screen_ready(pilot, app, PullScreen)
        await type_text(pilot, "nosuchmodel")
        await pilot.press("ctrl+t", "enter")
        await wait_for(pilot, lambda: bool(app.jobs.jobs))
        assert app.jobs.jobs[0].params.insecure


async def test_pull_unknown_model_job_fails_with_server_error(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.pull()
        await screen_ready(pilot, app, PullScreen)
        await type_text(pilot, "nosuchmodel:7b")
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.jobs.jobs))
        job = app.jobs.jobs[0]
        await wait_for(pilot, lambda: job.state is JobState.FAILED)
        assert job.error is not None and "file does not exist" in job.error
        app.operations.show_jobs()
        await wait_for(pilot, lambda: bool(app.screen.query(JobRow)))
        row = app.screen.query_one(JobRow)
        assert "file does not exist" in str(row.query_one("#job-error", Static).render())
        assert "failed" in str(row.query_one("#job-title", Static).render())


async def test_pull_cut_mid_stream_then_retry_resumes(sim: Simulator) -> None:
    sim.faults.add("/api/pull", "cut", count=1, after_lines=6)
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        job = app.jobs.submit_pull(SMALL)
        await wait_for(pilot, lambda: job.state is JobState.FAILED)
        assert job.error
        app.operations.show_jobs()
        await screen_ready(pilot, app, JobsScreen)
        await wait_for(pilot, lambda: isinstance(app.screen.focused, JobRow))
        await pilot.press("r")
        await wait_for(pilot, lambda: job.state is JobState.DONE, timeout=20)
        assert job.attempt == 2
        assert len(requests(sim, "/api/pull")) == 2
        # The retry resumed the partial download instead of starting over.
        assert job.bytes_this_run < job.total
        await wait_for(pilot, lambda: app.has_model(SMALL))


async def test_cancel_mid_pull_from_jobs_view(slow_sim: Simulator) -> None:
    app = OpsHarness(slow_sim.url)
    async with app.run_test(size=SIZE) as pilot:
        job = app.jobs.submit_pull(SMALL)
        await wait_for(pilot, lambda: job.completed > 0)
        strip = app.query_one(JobsStrip)
        await wait_for(pilot, lambda: strip.display)
        app.operations.show_jobs()
        await screen_ready(pilot, app, JobsScreen)
        await wait_for(pilot, lambda: isinstance(app.screen.focused, JobRow))
        row = app.screen.query_one(JobRow)
        await pilot.press("enter")  # layer rows, like `ollama pull`
        await wait_for(pilot, lambda: row.query_one("#job-layers").display)
        await pilot.press("x")
        await wait_for(pilot, lambda: job.state is JobState.CANCELLED)
        await wait_for(
            pilot,
            lambda: "pull again to resume" in str(row.query_one("#job-title", Static).render()),
        )
        await wait_for(pilot, lambda: slow_sim.active_requests == 0)
        assert not app.has_model(SMALL)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not strip.display)
        # The job outlives the view: reopening shows it again.
        app.operations.show_jobs()
        await wait_for(pilot, lambda: len(app.screen.query(JobRow)) == 1)


def strip_text(line: Static) -> str:
    return str(line.render())


def strip_lines(strip: JobsStrip) -> list[Static]:
    return list(strip.query(".jobs-strip-line").results(Static))


async def test_strip_shows_an_ended_job_for_a_moment_then_hides(
    fast_sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(JobsStrip, "LINGER", 2.0)
    app = OpsHarness(fast_sim.url)
    async with app.run_test(size=SIZE) as pilot:
        strip = app.query_one(JobsStrip)
        job = app.jobs.submit_pull(SMALL)
        await wait_for(pilot, lambda: job.state is JobState.DONE)
        await pilot.pause()
        (line,) = strip_lines(strip)
        assert strip.display
        assert "✓ done" in strip_text(line)
        await wait_for(pilot, lambda: not strip.display)
        assert not strip_lines(strip)


async def test_strip_cuts_a_long_model_name_so_that_its_state_stays_in_sight(
    fast_sim: Simulator,
) -> None:
    """Names like hf.co/<user>/<repo>-GGUF:<quant> are long: the strip's one line per job
    cuts the name, never the progress or the state after it."""
    app = OpsHarness(fast_sim.url)
    async with app.run_test(size=SIZE) as pilot:
        strip = app.query_one(JobsStrip)
        name = "hf.co/someone/" + "a-very-long-model-name-" * 3 + "GGUF:Q4_K_M"
        job = app.jobs.submit_pull(name)
        await wait_for(pilot, lambda: job.state is JobState.FAILED)
        await pilot.pause()
        (line,) = strip_lines(strip)
        text = strip_text(line)
        assert text.rstrip().endswith("J: jobs view"), text
        assert "hf.co/someone/a-very" in text and "…" in text
        assert len(text.rstrip()) <= strip.content_size.width


async def test_strip_gives_an_ended_jobs_line_to_the_next_job_in_place(
    fast_sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs ending and starting reuse lines: nothing is removed or mounted, no re-layout."""
    monkeypatch.setattr(JobsStrip, "LINGER", 60.0)
    app = OpsHarness(fast_sim.url)
    async with app.run_test(size=SIZE) as pilot:
        strip = app.query_one(JobsStrip)
        first = [app.jobs.submit_pull(name) for name in (SMALL, "smollm2:135m", "qwen3:0.6b")]
        await wait_for(pilot, lambda: all(job.state is JobState.DONE for job in first))
        await pilot.pause()
        lines = strip_lines(strip)
        assert len(lines) == JobsStrip.MAX_LINES
        assert all("✓ done" in strip_text(line) for line in lines)
        fast_sim.bandwidth = 5e6  # slow enough to see running
        second = app.jobs.submit_pull("gemma3:1b")
        await wait_for(pilot, lambda: second.completed > 0)
        await pilot.pause()
        assert strip_lines(strip) == lines
        texts = [strip_text(line) for line in lines]
        assert sum("gemma3:1b" in text for text in texts) == 1
        assert sum("✓ done" in text for text in texts) == 2
        app.jobs.cancel(second.id)
        await wait_for(pilot, lambda: fast_sim.active_requests == 0)


async def test_strip_line_of_a_job_run_again_is_not_dropped_by_its_first_ending(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each ending lingers on its own: an older ending's timer leaves a newer one alone."""
    monkeypatch.setattr(JobsStrip, "LINGER", 60.0)
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        strip = app.query_one(JobsStrip)
        job = Job(id=99, kind=JobKind.PULL, model=SMALL, state=JobState.RUNNING)
        strip.on_job_changed(job)
        job.state = JobState.FAILED
        strip.on_job_changed(job)
        first_ending = strip._ended[job.id]
        job.state = JobState.RUNNING  # retried
        strip.on_job_changed(job)
        job.state = JobState.DONE
        strip.on_job_changed(job)
        strip._drop_ended(job.id, first_ending)  # the first ending's timer fires
        await pilot.pause()
        (line,) = strip_lines(strip)
        assert "✓ done" in strip_text(line)
        strip._drop_ended(job.id, strip._ended[job.id])  # its own timer
        await pilot.pause()
        assert not strip_lines(strip)
        assert not strip.display


async def test_repull_marked_models_asks_first(fast_sim: Simulator) -> None:
    app = OpsHarness(fast_sim.url)
    async with app.run_test(size=SIZE) as pilot:
        marked = [app.model("qwen2.5:0.5b"), app.model("deepseek-r1:1.5b")]
        app.operations.pull(marked)
        await screen_ready(pilot, app, ChoiceScreen)
        text = " ".join(str(s.render()) for s in app.screen.query(".dialog-item"))
        assert "qwen2.5:0.5b" in text and "deepseek-r1:1.5b" in text
        await pilot.press("enter")  # Cancel is focused
        await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceScreen))
        assert app.jobs.jobs == []
        app.operations.pull(marked)
        await screen_ready(pilot, app, ChoiceScreen)
        await pilot.press("r")  # re-pull the marked rows
        await wait_for(pilot, lambda: len(app.jobs.jobs) == 2)
        assert [j.model for j in app.jobs.jobs] == ["qwen2.5:0.5b", "deepseek-r1:1.5b"]
        await wait_for(pilot, lambda: all(j.state is JobState.DONE for j in app.jobs.jobs))


# -- push ------------------------------------------------------------------------------------


async def test_push_unauthorized_explains_namespace(sim: Simulator) -> None:
    # The server is signed in as "alice": a push into another namespace is refused by it.
    sim.push_namespace = "alice"
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.push(app.model("someuser/llama3-pirate:latest"))
        await screen_ready(pilot, app, PushScreen)
        advice = str(app.screen.query_one(".dialog-note", Static).render())
        assert "'someuser' must belong to the ollama.com account" in advice
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(app.jobs.jobs))
        job = app.jobs.jobs[0]
        await wait_for(pilot, lambda: job.is_active is False)
        assert job.state is JobState.FAILED
        app.operations.show_jobs()
        await wait_for(pilot, lambda: bool(app.screen.query("#job-error")))
        error = str(app.screen.query_one("#job-error", Static).render())
        assert "must belong to the ollama.com account" in error
        assert "copy the model to <user>/llama3-pirate:latest" in error


# -- create ----------------------------------------------------------------------------------


async def open_editor(pilot: Pilot[Any], app: OpsHarness, text: str, name: str) -> CreateScreen:
    app.operations.create()
    await screen_ready(pilot, app, CreateScreen)
    screen = app.screen
    assert isinstance(screen, CreateScreen)
    screen.query_one("#create-name", Input).value = name
    screen.editor.load_text(text)
    await pilot.pause()
    return screen


async def test_create_syntax_error_marks_line_and_sends_nothing(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(
            pilot, app, "FROM llama3.2\nPARAMETER temperature 0.5\nPARAMTER top_k 3\n", "mine"
        )
        await wait_for(pilot, lambda: screen.editor.error_line == 3)
        status = str(screen.query_one("#create-status", Static).render())
        assert status.startswith("line 3, column 1:")
        assert screen.query_one("#create", Button).disabled
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, CreateScreen)
        assert app.jobs.jobs == []
        assert requests(sim, "/api/create") == [] and requests(sim, "/api/blobs") == []
        # Fixing the line clears the mark.
        screen.editor.load_text("FROM llama3.2\nPARAMETER temperature 0.5\n")
        await wait_for(pilot, lambda: screen.editor.error_line is None)
        assert not screen.query_one("#create", Button).disabled


async def test_create_missing_adapter_file_is_an_error(sim: Simulator, tmp_path: Path) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM llama3.2\nADAPTER ./lora.gguf\n", "mine")
        screen.query_one("#create-folder", Input).value = str(tmp_path)
        await wait_for(pilot, lambda: screen.editor.error_line == 2)
        assert "no such file" in str(screen.query_one("#create-status", Static).render())


async def test_create_runs_job_and_closes_editor(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        text = 'FROM llama3.2\nSYSTEM """You are terse."""\nPARAMETER temperature 0.2\n'
        screen = await open_editor(pilot, app, text, "terse")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not isinstance(app.screen, CreateScreen))
        await wait_for(pilot, lambda: app.has_model("terse"))
        body = requests(sim, "/api/create")[0].json
        assert body["model"] == "terse"
        assert body["system"] == "You are terse."
        assert body["parameters"]["temperature"] == 0.2
        assert screen.job is not None and screen.job.state is JobState.DONE


async def test_create_from_local_gguf_uploads_blob(sim: Simulator, tmp_path: Path) -> None:
    from tiny_gguf import write_tiny_gguf

    write_tiny_gguf(tmp_path / "tiny.gguf")
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM ./tiny.gguf\n", "tiny")
        screen.query_one("#create-folder", Input).value = str(tmp_path)
        await wait_for(
            pilot,
            lambda: "uploaded as a blob" in str(screen.query_one("#create-status").render()),
        )
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not isinstance(app.screen, CreateScreen))
        await wait_for(pilot, lambda: app.has_model("tiny"))
        assert [r.method for r in sim.requests if r.path.startswith("/api/blobs/")]
        body = requests(sim, "/api/create")[0].json
        assert list(body["files"]) == ["tiny.gguf"]


async def test_create_rejected_by_server_keeps_text_and_marks_line(sim: Simulator) -> None:
    sim.faults.add(
        "/api/create", "status", count=1, status=400, message="(line 2): template error: [/foo]"
    )
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        text = 'FROM llama3.2\nTEMPLATE "{{ .Broken"\n'
        screen = await open_editor(pilot, app, text, "broken")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.job is not None and not screen.job.is_active)
        await pilot.pause()
        assert isinstance(app.screen, CreateScreen), "the editor stays open"
        assert screen.editor.text == text
        assert screen.editor.error_line == 2
        status = str(screen.query_one("#create-status", Static).render())
        assert "template error: [/foo]" in status  # literally, not markup
        # Fixed and sent again: the same editor creates it.
        screen.editor.load_text('FROM llama3.2\nTEMPLATE "{{ .Prompt }}"\n')
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not isinstance(app.screen, CreateScreen))
        await wait_for(pilot, lambda: app.has_model("broken"))


async def test_create_from_highlighted_model_prefills(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.create(app.model("someuser/llama3-pirate:latest"))
        await screen_ready(pilot, app, CreateScreen)
        screen = app.screen
        assert isinstance(screen, CreateScreen)
        text = screen.editor.text
        assert text.startswith("FROM someuser/llama3-pirate:latest\n")
        assert "PARAMETER temperature 0.8" in text
        assert "SYSTEM" in text and "pirate" in text
        assert screen.editor.error_line is None


async def test_create_save_modelfile(sim: Simulator, tmp_path: Path) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM llama3.2\n", "x")
        screen.query_one("#create-folder", Input).value = str(tmp_path)
        await pilot.press("ctrl+s")
        await screen_ready(pilot, app, TextPrompt)
        await pilot.press("enter")
        target = tmp_path / "Modelfile"
        await wait_for(pilot, lambda: target.exists())
        assert target.read_text() == "FROM llama3.2\n"


async def test_create_open_modelfile_sets_folder(sim: Simulator, tmp_path: Path) -> None:
    source = tmp_path / "pirate" / "Modelfile"
    source.parent.mkdir()
    source.write_text("FROM llama3.2\nSYSTEM arr\n")
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "", "x")
        await pilot.press("ctrl+o")
        prompt = await screen_ready(pilot, app, TextPrompt)
        prompt.query_one(Input).value = str(source)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.editor.text == "FROM llama3.2\nSYSTEM arr\n")
        assert screen.query_one("#create-folder", Input).value == str(source.parent)


# -- copy / rename / delete ------------------------------------------------------------------


async def test_copy_onto_existing_name_asks(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.copy(app.model("llama3.2:latest"))
        await screen_ready(pilot, app, CopyScreen)
        await type_text(pilot, "qwen2.5:0.5b")
        await pilot.press("enter")
        await screen_ready(pilot, app, ConfirmScreen)
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert requests(sim, "/api/copy") == []
        app.operations.copy(app.model("llama3.2:latest"))
        await screen_ready(pilot, app, CopyScreen)
        await type_text(pilot, "qwen2.5:0.5b")
        await pilot.press("enter")
        await screen_ready(pilot, app, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: len(requests(sim, "/api/copy")) == 1)
        await refreshed(pilot, app)
        assert app.model("qwen2.5:0.5b").digest == app.model("llama3.2:latest").digest


async def test_copy_invalid_destination_sends_nothing(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.copy(app.model("llama3.2:latest"))
        await screen_ready(pilot, app, CopyScreen)
        await type_text(pilot, "LLAMA3.2")  # the same model: names are case-insensitive
        await pilot.press("enter")
        await pilot.pause()
        assert "source model itself" in str(app.screen.query_one("#copy-message").render())
        assert isinstance(app.screen, CopyScreen)
        assert requests(sim, "/api/copy") == []


async def test_rename_copies_verifies_and_deletes(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        digest = app.model("qwen2.5:0.5b").digest
        app.operations.rename(app.model("qwen2.5:0.5b"))
        await screen_ready(pilot, app, CopyScreen)
        await type_text(pilot, "tiny:renamed")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(requests(sim, "/api/delete")) == 1)
        await refreshed(pilot, app)
        assert app.model("tiny:renamed").digest == digest
        assert not app.has_model("qwen2.5:0.5b")


async def test_rename_with_failing_delete_keeps_source(sim: Simulator) -> None:
    sim.faults.add("/api/delete", "status", status=500, message="disk on fire")
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.rename(app.model("qwen2.5:0.5b"))
        await screen_ready(pilot, app, CopyScreen)
        await type_text(pilot, "tiny:renamed")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("disk on fire" in n for n in notifications(app)))
        await refreshed(pilot, app)
        assert app.has_model("qwen2.5:0.5b"), "the source is never lost"
        assert app.has_model("tiny:renamed")


async def test_rename_with_failing_copy_keeps_source(sim: Simulator) -> None:
    sim.faults.add("/api/copy", "status", status=500, message="no space left")
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.rename(app.model("qwen2.5:0.5b"))
        await screen_ready(pilot, app, CopyScreen)
        await type_text(pilot, "tiny:renamed")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("no space left" in n for n in notifications(app)))
        assert requests(sim, "/api/delete") == []
        await refreshed(pilot, app)
        assert app.has_model("qwen2.5:0.5b")


async def test_delete_loaded_model_unloads_first(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        loaded = app.running_models[0].name
        model = app.model(loaded)
        app.operations.delete([model])
        await screen_ready(pilot, app, DeleteScreen)
        items = " ".join(str(s.render()) for s in app.screen.query(".dialog-item"))
        assert loaded in items and "unloaded first" in items
        await pilot.press("y")
        await wait_for(pilot, lambda: len(requests(sim, "/api/delete")) == 1)
        paths = [r.path for r in sim.requests if r.path in ("/api/generate", "/api/delete")]
        assert paths == ["/api/generate", "/api/delete"]
        unload = requests(sim, "/api/generate")[0].json
        assert unload["keep_alive"] in (0, "0", "0s")
        await refreshed(pilot, app)
        assert not app.has_model(loaded)
        await polled_until(pilot, app, lambda: app.running_models == [])


async def test_delete_several_enter_alone_cancels(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        targets = [app.model("qwen2.5:0.5b"), app.model("mistral:7b")]
        app.operations.delete(targets)
        await screen_ready(pilot, app, DeleteScreen)
        screen = app.screen
        assert screen.focused is not None and screen.focused.id == "cancel"
        title = str(screen.query_one(".dialog-title", Static).render())
        note = str(screen.query_one(".dialog-note", Static).render())
        assert "Delete 2 models?" in title and "Frees " in note
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, DeleteScreen))
        assert requests(sim, "/api/delete") == []
        app.operations.delete(targets)
        await screen_ready(pilot, app, DeleteScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: len(requests(sim, "/api/delete")) == 2)
        await refreshed(pilot, app)
        assert not app.has_model("qwen2.5:0.5b") and not app.has_model("mistral:7b")


async def test_markup_in_names_and_errors_is_literal(sim: Simulator) -> None:
    sim.add_model("[bold]x:latest")
    sim.faults.add("/api/delete", "status", status=500, message="[/foo] nope")
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        weird = app.model("[bold]x:latest")
        app.operations.delete([weird, app.model("mistral:7b")])
        await screen_ready(pilot, app, DeleteScreen)
        items = " ".join(str(s.render()) for s in app.screen.query(".dialog-item"))
        assert "[bold]x:latest" in items
        await pilot.press("y")
        # The invalid name is refused by the client (nothing sent); the server's error for the
        # other one is shown word for word.
        await wait_for(pilot, lambda: any("[/foo] nope" in n for n in notifications(app)))
        await wait_for(pilot, lambda: len(notifications(app)) >= 2)
        assert [r.json.get("model") for r in requests(sim, "/api/delete")] == ["mistral:7b"]
        await pilot.pause()
        assert app.is_running


# -- load / unload ---------------------------------------------------------------------------


async def test_load_with_preset_keep_alive(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.load("qwen2.5:0.5b")
        await screen_ready(pilot, app, LoadScreen)
        await pilot.press("2")
        await wait_for(pilot, lambda: any("Loaded qwen2.5:0.5b" in n for n in notifications(app)))
        body = requests(sim, "/api/generate")[-1].json
        assert body["model"] == "qwen2.5:0.5b" and body["keep_alive"] == "1h"
        await refreshed(pilot, app)
        assert any(m.name == "qwen2.5:0.5b" for m in app.running_models)


async def test_load_on_running_model_extends_keep_alive(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        name = app.running_models[0].name
        app.operations.load(name)
        screen = await screen_ready(pilot, app, LoadScreen)
        assert "Keep" in str(screen.query_one(".dialog-title", Static).render())
        await pilot.press("3")
        await wait_for(
            pilot, lambda: any("stays loaded (forever)" in n for n in notifications(app))
        )
        await refreshed(pilot, app)
        assert app.running_models[0].until() == "Forever"


async def test_load_custom_keep_alive_validated(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.load("qwen2.5:0.5b")
        await screen_ready(pilot, app, LoadScreen)
        await pilot.press("4")
        await type_text(pilot, "forever")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, LoadScreen)
        assert "use a duration" in str(app.screen.query_one("#keep-alive-message").render())
        assert requests(sim, "/api/generate") == []
        app.screen.query_one("#keep-alive-custom", Input).value = "1h30m"
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(requests(sim, "/api/generate")))
        assert requests(sim, "/api/generate")[0].json["keep_alive"] == "1h30m"


async def test_load_forever_sends_a_number(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.load("qwen2.5:0.5b")
        await screen_ready(pilot, app, LoadScreen)
        await pilot.press("3")
        await wait_for(pilot, lambda: bool(requests(sim, "/api/generate")))
        assert requests(sim, "/api/generate")[0].json["keep_alive"] == -1


async def test_load_embedding_model_uses_embed(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.load("nomic-embed-text:latest")
        await screen_ready(pilot, app, LoadScreen)
        await pilot.press("enter")  # first preset: 5 minutes
        await wait_for(pilot, lambda: bool(requests(sim, "/api/embed")))
        assert requests(sim, "/api/generate") == []
        assert requests(sim, "/api/embed")[0].json["keep_alive"] == "5m"


async def test_load_failure_is_shown_not_fatal(sim: Simulator) -> None:
    sim.faults.add("/api/generate", "status", status=500, message="model requires more memory")
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.load("mistral:7b")
        await screen_ready(pilot, app, LoadScreen)
        await pilot.press("1")
        await wait_for(pilot, lambda: any("more memory" in n for n in notifications(app)))
        assert app.is_running


async def test_unload_and_unload_all(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.unload(app.running_models[0])
        await wait_for(pilot, lambda: len(requests(sim, "/api/generate")) == 1)
        assert requests(sim, "/api/generate")[0].json["keep_alive"] in (0, "0", "0s")
        sim.load_model("qwen2.5:0.5b")
        sim.load_model("mistral:7b")
        await polled_until(
            pilot,
            app,
            lambda: {m.name for m in app.running_models} == {"qwen2.5:0.5b", "mistral:7b"},
        )
        app.operations.unload_all()
        await screen_ready(pilot, app, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: len(requests(sim, "/api/generate")) == 3)


# -- read-only -------------------------------------------------------------------------------


async def test_read_only_refuses_every_operation(sim: Simulator) -> None:
    app = OpsHarness(sim.url, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        model = app.model("llama3.2:latest")
        ops = app.operations
        calls: list[Callable[[], None]] = [
            lambda: ops.pull(),
            lambda: ops.pull([model]),
            lambda: ops.push(model),
            lambda: ops.create(model),
            lambda: ops.copy(model),
            lambda: ops.rename(model),
            lambda: ops.delete([model]),
            lambda: ops.load(model.name),
            lambda: ops.unload(app.running_models[0]),
            lambda: ops.unload_all(),
        ]
        before = len(sim.requests)
        for call in calls:
            call()
            await pilot.pause()
            assert not app.screen.is_modal
        assert sum("Read-only mode" in n for n in notifications(app)) == len(calls)
        assert len(sim.requests) == before
        ops.show_jobs()  # looking is allowed
        await screen_ready(pilot, app, JobsScreen)


async def test_jobs_view_updates_rows_in_place(fast_sim: Simulator) -> None:
    app = OpsHarness(fast_sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.show_jobs()
        await wait_for(pilot, lambda: bool(app.screen.query("#jobs-empty")))
        assert app.screen.query_one("#jobs-empty").display
        job: Job = app.jobs.submit_pull(SMALL)
        await wait_for(pilot, lambda: len(app.screen.query(JobRow)) == 1)
        row = app.screen.query_one(JobRow)
        await wait_for(pilot, lambda: job.state is JobState.DONE)
        await wait_for(pilot, lambda: "done" in str(row.query_one("#job-title", Static).render()))
        assert app.screen.query_one(JobRow) is row
        assert not app.screen.query_one("#jobs-empty").display


def test_editor_highlighting_marks_instructions() -> None:
    from ollama_tui.widgets.modelfile_editor import highlight_lines

    lines = [
        "# comment",
        "FROM ./x.gguf",
        "PARAMETER temperature 0.7",
        'SYSTEM """multi',
        'line"""',
        "BOGUS x",
        "MESSAGE user hé",
    ]
    marks = highlight_lines(lines)
    assert marks[0] == [(0, None, "comment")]
    assert (0, 4, "keyword") in marks[1] and (5, 13, "string") in marks[1]
    assert (10, 21, "variable") in marks[2] and (22, 25, "number") in marks[2]
    assert (7, None, "string") in marks[3]
    assert marks[4] == [(0, 7, "string")]
    assert marks[5][0] == (0, 5, "modelfile.unknown")
    assert (8, 12, "type") in marks[6]


def test_editor_widget_marks_error_line() -> None:
    editor = ModelfileEditor("FROM x\nBAD\n")
    editor.mark_error(2)
    assert editor.error_line == 2
    assert (0, None, "modelfile.error") in editor._highlights[1]
    editor.mark_error(None)
    assert all(h[2] != "modelfile.error" for h in editor._highlights[1])


async def test_failed_create_reopens_from_jobs_view(sim: Simulator) -> None:
    sim.faults.add("/api/create", "status", status=400, message="(line 2): bad template")
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        text = 'FROM llama3.2\nTEMPLATE "{{ .Oops"\n'
        job = app.jobs.submit_create("oops", text)
        await wait_for(pilot, lambda: job.state is JobState.FAILED)
        app.operations.show_jobs()
        await screen_ready(pilot, app, JobsScreen)
        await wait_for(pilot, lambda: isinstance(app.screen.focused, JobRow))
        await pilot.press("e")
        screen = await screen_ready(pilot, app, CreateScreen)
        assert screen.editor.text == text
        assert screen.query_one("#create-name", Input).value == "oops"
        await wait_for(pilot, lambda: screen.editor.error_line == 2)
        assert "bad template" in str(screen.query_one("#create-status").render())
        # Neither late Changed events of the fields' first values nor the FROM look-up
        # finishing (it could name a file) replace the server's words with "OK".
        screen.editor.post_message(TextArea.Changed(screen.editor))
        name = screen.query_one("#create-name", Input)
        name.post_message(Input.Changed(name, name.value))
        await wait_for(pilot, lambda: not screen._paths_pending and not screen._lookups)
        screen.validate()  # as the look-up's worker does when it finishes
        await pilot.pause()
        assert screen.editor.error_line == 2
        assert "bad template" in str(screen.query_one("#create-status").render())
        name.value = "oops2"  # a real change: checked anew
        await wait_for(pilot, lambda: screen.editor.error_line is None)


async def test_jobs_view_retry_refused_in_read_only(sim: Simulator) -> None:
    sim.faults.add("/api/pull", "status", status=500, message="registry down")
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        job = app.jobs.submit_pull(SMALL)
        await wait_for(pilot, lambda: job.state is JobState.FAILED)
        app.operations.read_only = True
        app.operations.show_jobs()
        await screen_ready(pilot, app, JobsScreen)
        await wait_for(pilot, lambda: isinstance(app.screen.focused, JobRow))
        await pilot.press("r")
        await wait_for(pilot, lambda: any("Read-only" in n for n in notifications(app)))
        assert job.state is JobState.FAILED and job.attempt == 1


async def test_jobs_view_clears_ended_jobs(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        failed = app.jobs.submit_pull("nosuchmodel:1b")
        await wait_for(pilot, lambda: failed.state is JobState.FAILED)
        app.operations.show_jobs()
        await screen_ready(pilot, app, JobsScreen)
        assert len(app.screen.query(JobRow)) == 1
        await pilot.press("C")
        await wait_for(pilot, lambda: not app.screen.query(JobRow))
        assert app.jobs.jobs == []
        assert app.screen.query_one("#jobs-empty").display


# -- review regressions: the create editor ---------------------------------------------------


def status_text(screen: Screen[Any]) -> str:
    return str(screen.query_one("#create-status", Static).render())


async def test_create_tilde_user_paths_do_not_crash(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM ~no_such_user_x\n", "mine")
        screen.query_one("#create-folder", Input).value = "~no_such_user_x"
        await wait_for(pilot, lambda: "no such file" in status_text(screen))
        assert screen.editor.error_line == 1

        async def fails(key: str, *, confirm: bool) -> str:
            before = len(notifications(app))
            await pilot.press(key)
            if confirm:  # Open asks first: the text is unsaved
                await screen_ready(pilot, app, ConfirmScreen)
                await pilot.press("y")
            prompt = await screen_ready(pilot, app, TextPrompt)
            prompt.query_one(Input).value = "~no_such_user_x/Modelfile"
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(notifications(app)) > before)
            return notifications(app)[-1]

        assert "No such file or directory" in await fails("ctrl+s", confirm=False)
        assert "No such file or directory" in await fails("ctrl+o", confirm=True)
        assert app.is_running and app.screen is screen


async def test_create_unreadable_path_is_a_problem(sim: Simulator, tmp_path: Path) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM ./" + "a" * 300 + ".gguf\n", "mine")
        screen.query_one("#create-folder", Input).value = str(tmp_path)
        await wait_for(pilot, lambda: "cannot read: File name too long" in status_text(screen))
        assert screen.editor.error_line == 1
        assert screen.query_one("#create", Button).disabled
        assert app.is_running


async def test_create_path_checks_run_off_the_event_loop(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from ollama_tui.screens import create

    release = threading.Event()
    threads: list[threading.Thread] = []
    real_probe = create.probe_path

    def slow_probe(value: str, folder: str) -> create.PathState:
        threads.append(threading.current_thread())
        release.wait(10)  # a hung network mount
        return real_probe(value, folder)

    monkeypatch.setattr(create, "probe_path", slow_probe)
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM llama3.2\n", "mine")
        await wait_for(pilot, lambda: bool(threads))
        # The loop keeps running: keys are handled while the look-up hangs.
        screen.editor.focus()
        screen.editor.move_cursor(screen.editor.document.end)
        await type_text(pilot, "# hi")
        assert screen.editor.text == "FROM llama3.2\n# hi"
        assert threads[0] is not threading.main_thread()
        assert screen.query_one("#create", Button).disabled, "not before the check passed"
        await wait_for(pilot, lambda: "slow file system" in status_text(screen))
        release.set()
        await wait_for(pilot, lambda: not screen.query_one("#create", Button).disabled)
        assert len(threads) == 1, "repeated checks of the same path share one look-up"
        assert "Modelfile OK" in status_text(screen)


async def test_create_editor_drops_control_characters(sim: Simulator, tmp_path: Path) -> None:
    from textual import events

    source = tmp_path / "Modelfile"
    source.write_text("FROM llama3.2\nSYSTEM \x1b[31mred\x1b[0m\n")
    sim.add_model("evil\x1b[2J:latest")
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "", "x")
        await pilot.press("ctrl+o")
        prompt = await screen_ready(pilot, app, TextPrompt)
        prompt.query_one(Input).value = str(source)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "SYSTEM [31mred[0m" in screen.editor.text)
        assert "\x1b" not in screen.editor.text
        await wait_for(pilot, lambda: "2 control characters removed" in status_text(screen))
        screen.editor.focus()
        screen.editor.post_message(events.Paste("\x1b]0;title\x07# pasted"))
        await wait_for(pilot, lambda: "]0;title# pasted" in screen.editor.text)
        assert "\x1b" not in screen.editor.text and "\x07" not in screen.editor.text
        assert "2 control characters removed" in status_text(screen)
        await pilot.press("escape")
        await screen_ready(pilot, app, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.screen.is_modal)
        # A server name with control characters: never a raw FROM line.
        await refreshed(pilot, app)
        app.operations.create(app.model("evil\x1b[2J:latest"))
        editor_screen = await screen_ready(pilot, app, CreateScreen)
        text = editor_screen.editor.text
        assert "\x1b" not in text and "evil\\x1b[2J:latest" in text
        assert app.is_running


async def test_create_does_not_open_over_another_dialog(sim: Simulator) -> None:
    sim.faults.add("/api/show", "delay", count=1, seconds=1.5)
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.create(app.model("llama3.2:latest"))
        await wait_for(pilot, lambda: any("Reading llama3.2" in n for n in notifications(app)))
        app.operations.pull()
        await screen_ready(pilot, app, PullScreen)
        await wait_for(pilot, lambda: any("not opened" in n for n in notifications(app)))
        await pilot.pause()
        assert isinstance(app.screen, PullScreen)
        assert not any(isinstance(s, CreateScreen) for s in app.screen_stack)


async def test_create_edits_after_failed_create_are_not_discarded_silently(
    sim: Simulator,
) -> None:
    sim.faults.add("/api/create", "status", count=1, status=400, message="(line 1): nope")
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM llama3.2\n", "mine")
        screen.saved_text = screen.editor.text  # as if it had been opened from a file
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.job is not None and not screen.job.is_active)
        screen.editor.focus()
        await type_text(pilot, "# edit")
        await pilot.press("escape")
        await screen_ready(pilot, app, ConfirmScreen)
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("ctrl+o")
        await screen_ready(pilot, app, ConfirmScreen)
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        assert "# edit" in screen.editor.text


async def test_create_open_refuses_a_huge_file(sim: Simulator, tmp_path: Path) -> None:
    huge = tmp_path / "weights.gguf"
    with huge.open("wb") as file:
        file.truncate(2 * 1024 * 1024 + 1)  # sparse: nothing is written
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "", "x")
        await pilot.press("ctrl+o")
        prompt = await screen_ready(pilot, app, TextPrompt)
        prompt.query_one(Input).value = str(huge)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: any("not a Modelfile (2.1 MB)" in n for n in notifications(app))
        )
        assert screen.editor.text == ""


async def test_create_finishing_under_a_prompt_closes_the_editor_not_the_prompt(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.faults.add("/api/create", "delay", count=1, seconds=0.5)
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM llama3.2\n", "later")
        screen.query_one("#create-folder", Input).value = str(tmp_path)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.job is not None)
        await pilot.press("ctrl+s")
        prompt = await screen_ready(pilot, app, TextPrompt)
        job = screen.job
        assert job is not None
        await wait_for(pilot, lambda: job.state is JobState.DONE)
        await pilot.pause()
        assert app.screen is prompt, "the prompt stays; the editor waits under it"
        assert screen in app.screen_stack
        await pilot.press("enter")  # saves, then the editor closes
        await wait_for(pilot, lambda: not app.screen.is_modal)
        assert screen not in app.screen_stack
        await wait_for(pilot, lambda: (tmp_path / "Modelfile").exists())


async def test_a_slow_save_under_a_prompt_finishes_before_the_editor_closes(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing the editor cancels its workers: the save asked for must land first."""
    import ollama_tui.screens.create as create_module

    write_target, atomic_write = create_module.write_target, create_module.atomic_write

    def slow_write_target(path: Path) -> tuple[Path, bool]:
        time.sleep(0.3)  # a slow disk or network mount, in the worker's thread
        return write_target(path)

    def slow_atomic_write(path: Path, data: bytes, **kwargs: Any) -> Path:
        time.sleep(0.3)
        return atomic_write(path, data, **kwargs)

    monkeypatch.setattr(create_module, "write_target", slow_write_target)
    monkeypatch.setattr(create_module, "atomic_write", slow_atomic_write)
    sim.faults.add("/api/create", "delay", count=1, seconds=0.5)
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM llama3.2\n", "later")
        screen.query_one("#create-folder", Input).value = str(tmp_path)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.job is not None)
        await pilot.press("ctrl+s")
        await screen_ready(pilot, app, TextPrompt)
        job = screen.job
        assert job is not None
        await wait_for(pilot, lambda: job.state is JobState.DONE)
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "Modelfile").exists())
        await wait_for(pilot, lambda: screen not in app.screen_stack)
        assert (tmp_path / "Modelfile").read_text(encoding="utf-8") == "FROM llama3.2\n"


# -- review regressions: rename --------------------------------------------------------------


async def test_rename_loaded_model_unloads_it_first(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        loaded = app.running_models[0].name
        app.operations.rename(app.model(loaded))
        screen = await screen_ready(pilot, app, CopyScreen)
        assert "unloaded" in str(screen.query_one("#rename-loaded", Static).render())
        await type_text(pilot, "renamed-model")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(requests(sim, "/api/delete")) == 1)
        paths = [r.path for r in sim.requests if r.path in ("/api/generate", "/api/delete")]
        assert paths == ["/api/generate", "/api/delete"]
        unload = requests(sim, "/api/generate")[0].json
        assert unload["model"] == loaded and unload["keep_alive"] in (0, "0", "0s")
        await polled_until(pilot, app, lambda: app.running_models == [])
        assert app.has_model("renamed-model") and not app.has_model(loaded)
