"""What a person sees on the dashboard (issue #9, group 9): a footer that follows the cursor and
the filter at once, keys that say why they do nothing, marks, and a server that is not there."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_app, wait_for
from test_ui_dashboard import dashboard, poll, started, unused_port
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from ollama_tui.app import OllamaTuiApp
from ollama_tui.screens.confirm import ChoiceScreen
from ollama_tui.screens.pull import PullScreen
from ollama_tui.simulator import Simulator

pytestmark = pytest.mark.simulator_only

__all__ = ["unused_port"]  # a fixture, used by name

CLOUD = "gpt-oss:20b-cloud"
LOADED = "llama3.2:latest"


def footer_actions(app: OllamaTuiApp) -> list[str]:
    """The actions the footer shows right now (what a person reads, not active_bindings)."""
    return [key.action for key in app.screen.query(FooterKey) if key.is_attached]


async def settled(pilot: Pilot[Any]) -> None:
    # The footer rebuilds after a refresh of the bindings: two frames.
    await pilot.pause()
    await pilot.pause()


async def cursor_to(pilot: Pilot[Any], app: OllamaTuiApp, name: str) -> None:
    table = dashboard(app).installed_table
    table.focus()
    key = next(k for k in table.visible_keys if k[0] == name)
    table.select_key(key)
    await settled(pilot)


def notifications(app: OllamaTuiApp) -> list[str]:
    return [n.message for n in app._notifications]


# -- footer ------------------------------------------------------------------------------------


async def test_footer_drops_clear_filter_once_esc_cleared_the_filter(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot, app)
        await pilot.press("slash", "m", "i", "enter")
        await settled(pilot)
        assert "clear_filter" in footer_actions(app)
        await pilot.press("escape")  # on the table: clears the filter
        await settled(pilot)
        assert not dashboard(app).installed_table.filter_text
        assert "clear_filter" not in footer_actions(app)
        # And the same when esc clears it inside the open filter bar.
        await pilot.press("slash", "m", "i")
        await settled(pilot)
        await pilot.press("escape")
        await settled(pilot)
        assert "clear_filter" not in footer_actions(app)


async def test_footer_follows_the_cursor_onto_a_cloud_model(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot, app)
        await cursor_to(pilot, app, "mistral:7b")
        assert "load" in footer_actions(app)
        await cursor_to(pilot, app, CLOUD)
        assert "load" not in footer_actions(app)
        await cursor_to(pilot, app, "mistral:7b")
        assert "load" in footer_actions(app)
        # Marks do not change what the cursor row offers.
        await pilot.press("space")
        await cursor_to(pilot, app, CLOUD)
        assert "load" not in footer_actions(app)


@pytest.mark.parametrize("width", [80, 60])
async def test_help_key_always_stays_visible(sim: Simulator, width: int) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(width, 24)) as pilot:
        await started(pilot, app)
        await cursor_to(pilot, app, LOADED)  # the row that offers the most keys
        await pilot.press("space")  # a mark: "esc Clear filter/marks" too
        await cursor_to(pilot, app, LOADED)
        help_key = next(k for k in app.screen.query(FooterKey) if k.action == "help")
        region = help_key.region
        assert region.width > 0 and region.right <= width
        assert help_key.visible


# -- keys that do nothing say why ------------------------------------------------------------


async def test_keys_that_do_not_apply_at_the_cursor_say_why(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot, app)
        await cursor_to(pilot, app, CLOUD)
        await pilot.press("l")
        await wait_for(pilot, lambda: any("cloud" in n for n in notifications(app)))
        assert not app.screen.is_modal
        await cursor_to(pilot, app, "mistral:7b")
        await pilot.press("u")
        await wait_for(pilot, lambda: notifications(app)[-1:] != [])
        assert any("Nothing to unload: mistral:7b is not loaded" in n for n in notifications(app))
        await pilot.press("tab")  # the running table: push / copy / rename / delete
        for key in ("P", "c", "R", "d"):
            before = len(notifications(app))
            await pilot.press(key)
            await wait_for(pilot, lambda before=before: len(notifications(app)) > before)
            assert "installed" in notifications(app)[-1]
            assert not app.screen.is_modal


async def test_u_on_a_loaded_row_of_the_installed_table_unloads_it(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot, app)
        await cursor_to(pilot, app, LOADED)
        assert "unload" in footer_actions(app)
        await pilot.press("u")
        await wait_for(pilot, lambda: any("Unloaded" in n for n in notifications(app)))
        generate = [r for r in sim.requests if r.path == "/api/generate"]
        assert [r.json["model"] for r in generate] == [LOADED]
        assert generate[0].json["keep_alive"] in (0, "0", "0s")


# -- marks -------------------------------------------------------------------------------------


async def test_title_counts_the_marks(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot, app)
        await cursor_to(pilot, app, "mistral:7b")
        await pilot.press("space", "space")
        await settled(pilot)
        title = str(dashboard(app).query_one("#installed-box").border_title)
        assert "2 marked" in title
        await pilot.press("escape")
        await settled(pilot)
        title = str(dashboard(app).query_one("#installed-box").border_title)
        assert "marked" not in title


async def test_pull_with_marks_asks_repull_or_new_name(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot, app)
        await cursor_to(pilot, app, "mistral:7b")
        await pilot.press("space")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.pause()
        await pilot.press("n")  # a new name
        await wait_for(pilot, lambda: isinstance(app.screen, PullScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.screen.is_modal)
        assert app.jobs.jobs == []
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.pause()
        await pilot.press("r")  # re-pull the marked rows
        await wait_for(pilot, lambda: len(app.jobs.jobs) == 1)
        assert app.jobs.jobs[0].model == "mistral:7b"


# -- while the server is unreachable --------------------------------------------------------------


def table_text(app: OllamaTuiApp, which: str) -> str:
    table = getattr(dashboard(app), which)
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


async def test_never_answered_server_says_how_to_get_one(unused_port: int) -> None:
    app = make_app(f"http://127.0.0.1:{unused_port}")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.status.state == "unreachable")
        await settled(pilot)
        installed = table_text(app, "installed_table")
        for hint in ("ollama serve", "--host", "OLLAMA_HOST", "--demo"):
            assert hint in installed
        assert "not connected" in table_text(app, "running_table").lower()
        board = dashboard(app)
        for box in ("#running-box", "#installed-box"):
            subtitle = str(board.query_one(box).border_subtitle)
            assert "0 B" not in subtitle and "–" in subtitle
        await pilot.press("p")
        await wait_for(pilot, lambda: any("not connected" in n.lower() for n in notifications(app)))
        assert not app.screen.is_modal


async def test_lost_server_tables_say_not_connected(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await sim.stop()
        await poll(pilot, app)
        assert app.status.state == "unreachable"
        app.session.running_models = []
        dashboard(app).show_models(app.installed, [])  # nothing loaded when it went away
        await settled(pilot)
        running = table_text(app, "running_table")
        assert "No models loaded" not in running and "not connected" in running.lower()
        assert "0 B" not in str(dashboard(app).query_one("#running-box").border_subtitle)
        await cursor_to(pilot, app, "mistral:7b")
        for key in ("p", "d", "l", "c"):
            before = len(notifications(app))
            await pilot.press(key)
            await wait_for(pilot, lambda before=before: len(notifications(app)) > before)
            assert "not connected" in notifications(app)[-1].lower()
            assert not app.screen.is_modal
