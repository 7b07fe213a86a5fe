"""Operations through the real app (OllamaTuiApp) and its keys, at 80x24, on the simulator."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_app, wait_for
from test_ui_ops import SMALL, notifications, requests, screen_ready, type_text
from textual.pilot import Pilot

from ollama_tui.app import OllamaTuiApp
from ollama_tui.jobs import JobState
from ollama_tui.screens.create import CreateScreen
from ollama_tui.screens.delete import DeleteScreen
from ollama_tui.screens.jobs import JobsScreen
from ollama_tui.screens.load import LoadScreen
from ollama_tui.screens.pull import PullScreen
from ollama_tui.simulator import Simulator
from ollama_tui.widgets.job_progress import JobRow, JobsStrip

pytestmark = pytest.mark.simulator_only

SIZE = (80, 24)


async def started(pilot: Pilot[Any], app: OllamaTuiApp) -> None:
    await wait_for(pilot, lambda: app.poll_count > 0 and bool(app.installed))
    await pilot.pause()


async def polled(pilot: Pilot[Any], app: OllamaTuiApp) -> None:
    await wait_for(pilot, lambda: not app.polling)
    count = app.poll_count
    app.request_refresh()
    await wait_for(pilot, lambda: app.poll_count > count)


def select(app: OllamaTuiApp, name: str) -> None:
    assert app.dashboard is not None
    table = app.dashboard.installed_table
    assert table.select_key(next(k for k in table.visible_keys if k[0] == name))


def installed(app: OllamaTuiApp) -> set[str]:
    return {m.name for m in app.installed}


async def test_delete_key_confirms_and_deletes(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        select(app, "mistral:7b")
        await pilot.press("d")
        await screen_ready(pilot, app, DeleteScreen)
        await pilot.press("enter")  # Cancel is focused: nothing happens
        await wait_for(pilot, lambda: not isinstance(app.screen, DeleteScreen))
        assert requests(sim, "/api/delete") == []
        await pilot.press("d")
        await screen_ready(pilot, app, DeleteScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: "mistral:7b" not in installed(app))


async def test_pull_key_runs_job_shown_in_strip_and_jobs_view(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        sim.bandwidth = 5e6  # slow enough to watch
        await pilot.press("p")
        await screen_ready(pilot, app, PullScreen)
        await type_text(pilot, SMALL)
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.jobs.jobs))
        job = app.jobs.jobs[0]
        strip = app.screen.query_one(JobsStrip)
        await wait_for(pilot, lambda: strip.display and job.completed > 0)
        await pilot.press("J")
        await screen_ready(pilot, app, JobsScreen)
        assert len(app.screen.query(JobRow)) == 1
        sim.bandwidth = 2e9
        await wait_for(pilot, lambda: job.state is JobState.DONE, timeout=20)
        await pilot.press("escape")
        await wait_for(pilot, lambda: SMALL in installed(app))
        await wait_for(pilot, lambda: not strip.display)


async def test_load_key_with_keep_alive(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        select(app, "qwen2.5:0.5b")
        await pilot.press("l")
        await screen_ready(pilot, app, LoadScreen)
        await pilot.press("2")
        await wait_for(pilot, lambda: any("Loaded qwen2.5:0.5b" in n for n in notifications(app)))
        await polled(pilot, app)
        assert any(m.name == "qwen2.5:0.5b" for m in app.running_models)
        assert requests(sim, "/api/generate")[-1].json["keep_alive"] == "1h"


async def test_new_from_highlighted_model_creates(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        select(app, "someuser/llama3-pirate:latest")
        await pilot.press("n")
        screen = await screen_ready(pilot, app, CreateScreen)
        assert screen.editor.text.startswith("FROM someuser/llama3-pirate:latest\n")
        await type_text(pilot, "pirate2")  # the name field has the focus
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not isinstance(app.screen, CreateScreen))
        await wait_for(pilot, lambda: "pirate2:latest" in installed(app))


async def test_read_only_app_opens_no_dialog(sim: Simulator) -> None:
    app = make_app(sim.url, read_only=True)
    said: list[str] = []
    notify = app.notify
    app.notify = lambda message, *a, **k: (said.append(str(message)), notify(message, *a, **k))[1]  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        select(app, "mistral:7b")
        for key in ("p", "d", "c", "R", "n", "l", "P"):
            said.clear()
            await pilot.press(key)
            await pilot.pause()
            assert not app.screen.is_modal
            # Hidden from the footer, but the key still says why nothing happens.
            assert any("Read-only" in message for message in said), key
        assert requests(sim, "/api/delete") == [] and requests(sim, "/api/pull") == []
