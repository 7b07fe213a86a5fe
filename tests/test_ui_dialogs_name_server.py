"""With several servers the dialogs name the server they act on; with one they do not."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_fleet_app, wait_for
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from ollama_tui.app import OllamaTuiApp
from ollama_tui.config import ServerSettings, Settings
from ollama_tui.screens.confirm import ChoiceScreen, ConfirmScreen
from ollama_tui.screens.create import CreateScreen
from ollama_tui.screens.delete import DeleteScreen
from ollama_tui.screens.pull import PullScreen
from ollama_tui.screens.push import PushScreen
from ollama_tui.simulator import Fleet

pytestmark = pytest.mark.simulator_only

NAMES = ("workstation", "gpu-box", "laptop")


def fleet_app(fleet: Fleet) -> OllamaTuiApp:
    return make_fleet_app(fleet, NAMES)


def title(screen: Screen[Any]) -> str:
    return str(screen.query_one(".dialog-title", Static).render())


async def dialog_title(
    pilot: Pilot[Any], app: OllamaTuiApp, keys: tuple[str, ...], kind: type
) -> str:
    await pilot.press(*keys)
    await wait_for(pilot, lambda: isinstance(app.screen, kind), what=f"a {kind.__name__}")
    await pilot.pause()
    text = title(app.screen)
    await pilot.press("escape")
    await wait_for(pilot, lambda: not isinstance(app.screen, kind), what="the dialog closed")
    return text


async def put_cursor_on(pilot: Pilot[Any], app: OllamaTuiApp, name: str) -> None:
    assert app.dashboard is not None
    table = app.dashboard.installed_table
    await wait_for(pilot, lambda: any(k[0] == name for k in table.visible_keys), what=name)
    assert table.select_key(next(k for k in table.visible_keys if k[0] == name))
    table.focus()
    await pilot.pause()


async def replace_title(pilot: Pilot[Any], app: OllamaTuiApp, existing: str) -> str:
    """The title of the "replace?" confirmation that copy, rename and push ask."""
    answers: list[bool] = []

    async def ask() -> None:
        answers.append(await app.operations.confirm_replace(existing, "note"))

    app.run_worker(ask())
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="replace dialog")
    text = title(app.screen)
    await pilot.press("escape")
    await wait_for(pilot, lambda: answers == [False], what="the replace dialog answered")
    return text


async def test_dialogs_name_the_server_when_there_are_several(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(
            pilot,
            lambda: all(s.status.state == "connected" and s.installed for s in app.sessions),
            timeout=3.0,
        )
        await pilot.press("2")
        await wait_for(pilot, lambda: app.session is app.sessions[1])
        await put_cursor_on(pilot, app, "mistral:7b")
        assert await dialog_title(pilot, app, ("d",), DeleteScreen) == (
            "Delete this model on gpu-box?"
        )
        await pilot.press("space", "space")  # two marked
        assert await dialog_title(pilot, app, ("d",), DeleteScreen) == (
            "Delete 2 models on gpu-box?"
        )
        choice = await dialog_title(pilot, app, ("p",), ChoiceScreen)
        assert choice == "Re-pull (update) the 2 marked models on gpu-box, or pull a new name?"
        await pilot.press("escape")  # marks off
        assert await dialog_title(pilot, app, ("p",), PullScreen) == "Pull a model to gpu-box"
        await put_cursor_on(pilot, app, "mistral:7b")
        assert await dialog_title(pilot, app, ("P",), PushScreen) == "Push mistral:7b from gpu-box?"
        assert await dialog_title(pilot, app, ("n",), CreateScreen) == "Create a model on gpu-box"
        assert await replace_title(pilot, app, "mistral:7b") == (
            "Replace an existing model on gpu-box?"
        )
        await pilot.press("1")
        await wait_for(pilot, lambda: bool(app.session.running_models))
        assert await dialog_title(pilot, app, ("U",), ConfirmScreen) == (
            "Unload 1 model on workstation?"
        )
        # Nothing was changed by the dialogs that were cancelled.
        assert all(sim.request_count("/api/delete") == 0 for sim in fleet.simulators)


async def test_dialogs_do_not_name_the_only_server(fleet: Fleet) -> None:
    app = OllamaTuiApp(Settings(host=fleet.urls[0], interval=60.0))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: bool(app.installed) and bool(app.running_models))
        await put_cursor_on(pilot, app, "gemma3:1b")
        assert await dialog_title(pilot, app, ("d",), DeleteScreen) == "Delete this model?"
        await pilot.press("space", "space")
        assert await dialog_title(pilot, app, ("d",), DeleteScreen) == "Delete 2 models?"
        assert await dialog_title(pilot, app, ("p",), ChoiceScreen) == (
            "Re-pull (update) the 2 marked models, or pull a new name?"
        )
        await pilot.press("escape")
        assert await dialog_title(pilot, app, ("p",), PullScreen) == "Pull a model"
        await put_cursor_on(pilot, app, "gemma3:1b")
        assert await dialog_title(pilot, app, ("P",), PushScreen) == "Push gemma3:1b?"
        assert await dialog_title(pilot, app, ("n",), CreateScreen) == "Create a model"
        assert await replace_title(pilot, app, "gemma3:1b") == "Replace an existing model?"
        assert await dialog_title(pilot, app, ("U",), ConfirmScreen) == "Unload 1 model?"


async def test_a_hostile_server_name_in_a_title_is_plain_text(fleet: Fleet) -> None:
    servers = (
        ServerSettings("[bold]x\x1b[31m", fleet.urls[0]),
        ServerSettings("b", fleet.urls[1]),
    )
    app = OllamaTuiApp(Settings(interval=60.0, servers=servers))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: all(s.installed for s in app.sessions), timeout=3.0)
        text = await dialog_title(pilot, app, ("p",), PullScreen)
        assert text.startswith("Pull a model to [bold]x") and "\x1b" not in text
