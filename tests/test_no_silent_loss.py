"""Never lose or replace a model without asking (issue #9, group 8).

- Copy and rename check the destination against the server right before sending, not against
  the last poll: a model made behind the app's back is never replaced unasked.
- `n` on a server model prefills a FROM that names that model, never a local file of the same
  name (which the client would upload as a blob).
- Deleting a model that a pull is fetching says so, and cancels the pull first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_for
from test_ui_ops import (
    SIZE,
    OpsHarness,
    notifications,
    refreshed,
    requests,
    screen_ready,
    type_text,
)
from textual.widgets import Input, Static

from ollama_tui.app import OllamaTuiApp
from ollama_tui.config import Settings
from ollama_tui.jobs import JobState
from ollama_tui.screens.confirm import ConfirmScreen
from ollama_tui.screens.copy import CopyScreen
from ollama_tui.screens.create import CreateScreen
from ollama_tui.screens.delete import DeleteScreen
from ollama_tui.simulator import Simulator

pytestmark = pytest.mark.simulator_only


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(bandwidth=2e9, progress_interval=0.01)
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


# -- copy / rename onto a model made since the last poll -------------------------------------


@pytest.mark.parametrize("operation", ["copy", "rename"])
async def test_destination_made_since_the_last_poll_is_not_replaced_unasked(
    sim: Simulator, operation: str
) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.polls >= 1)
        # Made behind the app's back (another client), after its last poll.
        sim.add_model("fresh:latest", like="qwen2.5:0.5b")
        assert not app.has_model("fresh:latest")
        source = app.model("llama3.2:latest")
        getattr(app.operations, operation)(source)
        await screen_ready(pilot, app, CopyScreen)
        await type_text(pilot, "fresh")
        await pilot.press("enter")
        confirm = await screen_ready(pilot, app, ConfirmScreen)
        assert "Replace an existing model?" in str(confirm.query_one(".dialog-title").render())
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause()
        assert requests(sim, "/api/copy") == [] and requests(sim, "/api/delete") == []
        await refreshed(pilot, app)
        assert app.model("fresh:latest").digest != source.digest, "replaced without asking"
        assert app.has_model("llama3.2:latest")


async def test_create_onto_a_model_made_since_the_last_poll_asks(sim: Simulator) -> None:
    """The create editor's "Replace an existing model?" asks the server too."""
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.polls >= 1)
        sim.add_model("fresh:latest", like="qwen2.5:0.5b")
        app.operations.create()
        screen = await screen_ready(pilot, app, CreateScreen)
        assert isinstance(screen, CreateScreen)
        screen.editor.load_text("FROM llama3.2\nSYSTEM hi\n")
        screen.query_one("#create-name", Input).value = "fresh"
        status = screen.query_one("#create-status", Static)
        await wait_for(pilot, lambda: "Modelfile OK" in str(status.render()))
        await pilot.press("ctrl+r")
        await screen_ready(pilot, app, ConfirmScreen)
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.pause()
        assert requests(sim, "/api/create") == [] and screen.job is None
        await pilot.press("ctrl+r")
        await screen_ready(pilot, app, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: len(requests(sim, "/api/create")) == 1)


async def test_copy_while_polling_is_paused_asks(sim: Simulator) -> None:
    """The real app with polling paused (`z`): its lists are as old as the pause."""
    app = OllamaTuiApp(Settings(host=sim.url, interval=60.0))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.status.state == "connected" and bool(app.installed))
        app.toggle_pause()
        assert app.paused
        sim.add_model("fresh:latest", like="qwen2.5:0.5b")
        source = next(m for m in app.installed if m.name == "llama3.2:latest")
        app.operations.copy(source)
        await screen_ready(pilot, app, CopyScreen)
        await type_text(pilot, "fresh")
        await pilot.press("enter")
        await screen_ready(pilot, app, ConfirmScreen)
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause()
        assert requests(sim, "/api/copy") == []


async def test_destination_gone_since_the_last_poll_is_not_asked_about(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.polls >= 1)
        sim.remove_model("qwen2.5:0.5b")  # still in the app's last poll
        app.operations.copy(app.model("llama3.2:latest"))
        await screen_ready(pilot, app, CopyScreen)
        await type_text(pilot, "qwen2.5:0.5b")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(requests(sim, "/api/copy")) == 1)
        assert not isinstance(app.screen, ConfirmScreen)


async def test_destination_check_failing_sends_nothing(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.polls >= 1)
        sim.faults.add("/api/tags", "status", status=500, message="tags broke")
        app.operations.copy(app.model("llama3.2:latest"))
        await screen_ready(pilot, app, CopyScreen)
        await type_text(pilot, "brand-new")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("tags broke" in n for n in notifications(app)))
        assert any("nothing was changed" in n for n in notifications(app))
        assert requests(sim, "/api/copy") == []


# -- `n` on a model named like a local file --------------------------------------------------


async def test_new_from_a_model_named_like_a_local_file_uploads_nothing(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.add_model("notes.txt", like="qwen2.5:0.5b")
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.polls >= 1)
        model = app.model("notes.txt")
        # A private file that happens to carry the model's name, in the working directory.
        (tmp_path / model.name).write_text("my private notes\n")
        monkeypatch.chdir(tmp_path)
        app.operations.create(model)
        screen = await screen_ready(pilot, app, CreateScreen)
        assert isinstance(screen, CreateScreen)
        await wait_for(pilot, lambda: screen.editor.text.startswith(f"FROM {model.name}\n"))
        screen.query_one("#create-name", Input).value = "derived"
        status = screen.query_one("#create-status", Static)
        await wait_for(pilot, lambda: "Modelfile OK" in str(status.render()))
        assert "blob" not in str(status.render())
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.job is not None and not screen.job.is_active)
        assert screen.job is not None and screen.job.state is JobState.DONE, screen.job.error
        assert not [r for r in sim.requests if r.path.startswith("/api/blobs/")], "uploaded"
        body: dict[str, Any] = requests(sim, "/api/create")[0].json
        assert body["from"] == model.name and not body.get("files")


async def test_a_typed_local_file_is_still_uploaded(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the prefilled model reference is exempt: a FROM changed to a file is a file."""
    from tiny_gguf import write_tiny_gguf

    write_tiny_gguf(tmp_path / "tiny.gguf")
    monkeypatch.chdir(tmp_path)
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.polls >= 1)
        app.operations.create(app.model("llama3.2:latest"))
        screen = await screen_ready(pilot, app, CreateScreen)
        assert isinstance(screen, CreateScreen)
        await wait_for(pilot, lambda: screen.editor.text.startswith("FROM llama3.2:latest"))
        screen.editor.load_text("FROM tiny.gguf\n")
        screen.query_one("#create-name", Input).value = "tiny"
        status = screen.query_one("#create-status", Static)
        await wait_for(pilot, lambda: "uploaded as a blob" in str(status.render()))
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.job is not None and not screen.job.is_active)
        assert [r for r in sim.requests if r.path.startswith("/api/blobs/")]


# -- delete while a pull of the model runs ---------------------------------------------------


async def test_delete_during_a_pull_warns_and_cancels_the_pull(sim: Simulator) -> None:
    sim.faults.add("/api/pull", "hang")  # the pull stays running
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.polls >= 1)
        job = app.jobs.submit_pull("qwen2.5:0.5b")  # an update of an installed model
        await wait_for(pilot, lambda: job.state is JobState.RUNNING)
        app.operations.delete([app.model("qwen2.5:0.5b")])
        dialog = await screen_ready(pilot, app, DeleteScreen)
        text = " ".join(str(w.render()) for w in dialog.query(".dialog-item"))
        assert "pull of qwen2.5:0.5b is running and would bring it back" in text
        assert f"job #{job.id} is cancelled first" in text
        await pilot.press("y")
        await wait_for(pilot, lambda: len(requests(sim, "/api/delete")) == 1)
        assert job.state is JobState.CANCELLED, "the pull ended before the delete"
        await refreshed(pilot, app)
        assert not app.has_model("qwen2.5:0.5b")


async def test_delete_during_a_pull_cancelled_in_the_dialog_keeps_both(sim: Simulator) -> None:
    sim.faults.add("/api/pull", "hang")
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.polls >= 1)
        job = app.jobs.submit_pull("qwen2.5:0.5b")
        await wait_for(pilot, lambda: job.state is JobState.RUNNING)
        app.operations.delete([app.model("qwen2.5:0.5b"), app.model("llama3.2:latest")])
        await screen_ready(pilot, app, DeleteScreen)
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, DeleteScreen))
        await pilot.pause()
        assert job.state is JobState.RUNNING and requests(sim, "/api/delete") == []
