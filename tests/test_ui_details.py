"""The details screen: /api/show fetched on demand, cached per digest, errors shown in place."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import wait_for
from textual.pilot import Pilot
from textual.widgets import Static, TabbedContent

from ollama_tui.app import OllamaTuiApp
from ollama_tui.config import Settings
from ollama_tui.screens.dashboard import DashboardScreen
from ollama_tui.screens.details import DetailsScreen
from ollama_tui.simulator import Simulator
from ollama_tui.widgets.modelfile_view import ModelfileView

pytestmark = pytest.mark.simulator_only


async def open_details(pilot: Pilot[Any], app: OllamaTuiApp, name: str) -> DetailsScreen:
    await wait_for(pilot, lambda: app.installed)
    assert app.dashboard is not None
    table = app.dashboard.installed_table
    assert table.select_key(next(k for k in table.visible_keys if k[0] == name))
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen))
    screen = app.screen
    assert isinstance(screen, DetailsScreen)
    return screen


def info_text(screen: DetailsScreen) -> str:
    static = screen.query_one("#details-info", Static)
    return "\n".join(strip.text for strip in static.render_lines(static.region.reset_offset))


async def test_details_show_the_model_and_its_modelfile(sim: Simulator) -> None:
    app = OllamaTuiApp(Settings(host=sim.url, interval=60))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_details(pilot, app, "someuser/llama3-pirate:latest")
        await wait_for(pilot, lambda: screen.show is not None)
        await pilot.pause()
        text = info_text(screen)
        for expected in (
            "Architecture",
            "llama",
            "Context length",
            "Embedding length",
            "Quantization",
            "Q4_K_M",
            "Capabilities",
            "temperature",
            "pirate",
        ):
            assert expected in text, expected
        modelfile = screen.query_one("#details-modelfile", ModelfileView)
        assert modelfile.read_only
        assert "FROM" in modelfile.text
        assert any(
            name == "keyword" for spans in modelfile._highlights.values() for *_x, name in spans
        )
        await pilot.press("2")
        assert screen.query_one(TabbedContent).active == "modelfile"
        await pilot.press("right_square_bracket")
        assert screen.query_one(TabbedContent).active == "template"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))


async def test_details_are_cached_until_the_digest_changes(sim: Simulator) -> None:
    app = OllamaTuiApp(Settings(host=sim.url, interval=60))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_details(pilot, app, "mistral:7b")
        await wait_for(pilot, lambda: screen.show is not None)
        await pilot.press("escape")
        # The disk figures' background show requests (after polls that change the list) end.
        await wait_for(pilot, lambda: not app.session.learning_weights())
        before = sim.request_count("/api/show")
        screen = await open_details(pilot, app, "mistral:7b")
        assert screen.show is not None  # straight from the cache
        assert sim.request_count("/api/show") == before
        await pilot.press("escape")
        sim.add_model("mistral:7b", like="mistral:7b", system="new system prompt", digest="ab" * 32)
        count = app.poll_count
        app.request_refresh()
        await wait_for(pilot, lambda: app.poll_count > count)
        await wait_for(pilot, lambda: not app.session.learning_weights())
        before = sim.request_count("/api/show")
        screen = await open_details(pilot, app, "mistral:7b")
        await wait_for(pilot, lambda: screen.show is not None)
        assert sim.request_count("/api/show") == before + 1
        assert screen.show.system == "new system prompt"


async def test_details_error_is_shown_and_retry_works(sim: Simulator) -> None:
    app = OllamaTuiApp(Settings(host=sim.url, interval=60))
    async with app.run_test(size=(120, 40)) as pilot:
        # After the disk figures' background show requests, which would take the fault.
        await wait_for(pilot, lambda: app.installed and not app.session.learning_weights())
        sim.faults.add("/api/show", "status", count=1, status=500, message="boom [bold]x")
        screen = await open_details(pilot, app, "mistral:7b")
        await wait_for(pilot, lambda: screen.error is not None)
        error = screen.query_one("#details-error", Static)
        assert error.display
        assert "boom [bold]x" in str(error.render())
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.show is not None)
        assert not error.display
        assert app.is_running


async def test_details_of_a_running_model(sim: Simulator) -> None:
    app = OllamaTuiApp(Settings(host=sim.url, interval=60))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.running_models)
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen))
        screen = app.screen
        assert isinstance(screen, DetailsScreen)
        assert screen.model.name == "llama3.2:latest"
        await wait_for(pilot, lambda: screen.show is not None)


async def test_hostile_license_and_template_are_literal(sim: Simulator) -> None:
    sim.add_model(
        "evil:latest",
        license="[bold red]MIT[/] \x1b[2J",
        template="{{ .Prompt }} [/foo]",
        system="[link=x]y",
        family="[/bar]",
    )
    app = OllamaTuiApp(Settings(host=sim.url, interval=60))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_details(pilot, app, "evil:latest")
        await wait_for(pilot, lambda: screen.show is not None)
        await pilot.pause()
        assert "[/bar]" in info_text(screen)
        license_view = screen.query_one("#details-license", ModelfileView)
        assert "[bold red]MIT[/]" in license_view.text
        assert "\x1b" not in license_view.text and "\\x1b[2J" in license_view.text
        assert "[/foo]" in screen.query_one("#details-template", ModelfileView).text
        assert "[link=x]y" in info_text(screen)


async def test_help_on_the_details_screen_lists_its_keys(sim: Simulator) -> None:
    from ollama_tui.screens.help import HelpScreen

    app = OllamaTuiApp(Settings(host=sim.url, interval=60))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_details(pilot, app, "mistral:7b")
        await wait_for(pilot, lambda: screen.show is not None)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        descriptions = {entry[2] for entry in help_screen.entries}
        assert {"Back", "Reload", "Next tab", "Modelfile"} <= descriptions
        assert "Pull" not in descriptions  # dashboard keys do not apply here
